import t from 'tap'
import { EventLog } from '../../src/domain/event-log.js'
import type { FeedEnvelope } from '../../src/domain/feed-events.js'
import { createTransfersApi, type TransfersApiParts } from '../../src/transfers-api.js'

function api (): { eventLog: EventLog, on: ReturnType<typeof createTransfersApi>['on'] } {
  const eventLog = new EventLog({ capacity: 10 })
  const parts = { eventLog, onHandlerError: () => {} } as unknown as TransfersApiParts
  return { eventLog, on: createTransfersApi(parts).on }
}

const connection = (id: number): FeedEnvelope => ({ id, type: 'asterisk:connection', timestamp: new Date(0).toISOString(), data: { ami: true, ari: true } }) as FeedEnvelope

t.test('a handler runs for the events this instance published, not for those another one did', async (t) => {
  const { eventLog, on } = api()
  const once: number[] = []
  const every: number[] = []
  on('asterisk:connection', (_, envelope) => { once.push(envelope.id) })
  on('asterisk:connection', (_, envelope) => { every.push(envelope.id) }, { everyInstance: true })
  eventLog.insert(connection(1), 'everyone', true)
  eventLog.insert(connection(2), 'everyone', false)
  eventLog.append('asterisk:connection', { ami: false, ari: true }, 'everyone')
  t.same(once, [1, 3], 'its own (and, in one process, every appended one)')
  t.same(every, [1, 2, 3], 'everyInstance: all of them')
})
