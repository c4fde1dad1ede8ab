import t from 'tap'
import { EventLog, type StoredEvent } from '../../src/domain/event-log.js'
import { FeedFanout } from '../../src/feed/fanout.js'

function setup (): { log: EventLog, fanout: FeedFanout, inbox: (identity: Parameters<FeedFanout['subscribe']>[0]) => { ids: number[], stop: () => void } } {
  const log = new EventLog()
  const fanout = new FeedFanout(log)
  const inbox = (identity: Parameters<FeedFanout['subscribe']>[0]): { ids: number[], stop: () => void } => {
    const ids: number[] = []
    const stop = fanout.subscribe(identity, (event: StoredEvent) => ids.push(event.envelope.id))
    return { ids, stop }
  }
  return { log, fanout, inbox }
}

const status = (extension: string): { extension: string, uniqueId: string, ended: true } => ({ extension, uniqueId: `u-${extension}`, ended: true })

t.test('an event for one agent reaches that agent\'s sockets and the supervisors, no one else', async (t) => {
  const { log, inbox } = setup()
  const agent101 = inbox({ extension: '101', role: 'agent' })
  const otherSocket101 = inbox({ extension: '101', role: 'agent' })
  const agent102 = inbox({ extension: '102', role: 'agent' })
  const supervisor = inbox({ extension: 'boss', role: 'supervisor' })
  log.append('call:status', status('101'), { extensions: ['101'] })
  log.append('call:status', status('102'), { extensions: ['102'] })
  log.append('asterisk:connection', { ami: true, ari: true }, 'everyone')
  t.same(agent101.ids, [1, 3])
  t.same(otherSocket101.ids, [1, 3])
  t.same(agent102.ids, [2, 3])
  t.same(supervisor.ids, [1, 2, 3])
})

t.test('an event for two agents reaches both; an extension named twice is handed over per naming', async (t) => {
  const { log, inbox } = setup()
  const agent101 = inbox({ extension: '101', role: 'agent' })
  const agent103 = inbox({ extension: '103', role: 'agent' })
  log.append('call:status', status('101'), { extensions: ['101', '103'] })
  t.same(agent101.ids, [1])
  t.same(agent103.ids, [1])
  log.append('call:status', status('101'), { extensions: ['101', '101'] })
  // The socket's deliver skips an id it already handled (websocket-feed.ts); the fanout does not dedupe.
  t.same(agent101.ids, [1, 2, 2])
})

t.test('unsubscribed sockets get nothing more; the last one of an extension leaves no index behind', async (t) => {
  const { log, inbox } = setup()
  const first = inbox({ extension: '101', role: 'agent' })
  const second = inbox({ extension: '101', role: 'agent' })
  first.stop()
  log.append('call:status', status('101'), { extensions: ['101'] })
  t.same(first.ids, [])
  t.same(second.ids, [1])
  second.stop()
  const third = inbox({ extension: '101', role: 'agent' })
  log.append('call:status', status('101'), { extensions: ['101'] })
  t.same(third.ids, [2])
})

t.test('a socket closing while an event is handed out does not stop the others getting it', async (t) => {
  const { log, fanout } = setup()
  const got: string[] = []
  let stopFirst = (): void => {}
  stopFirst = fanout.subscribe({ extension: '101', role: 'agent' }, () => { got.push('first'); stopFirst() })
  fanout.subscribe({ extension: '101', role: 'agent' }, () => { got.push('second') })
  log.append('call:status', status('101'), { extensions: ['101'] })
  log.append('call:status', status('101'), { extensions: ['101'] })
  t.same(got, ['first', 'second', 'second'])
})

t.test('close: no more events', async (t) => {
  const { log, fanout, inbox } = setup()
  const supervisor = inbox({ extension: 'boss', role: 'supervisor' })
  fanout.close()
  log.append('asterisk:connection', { ami: true, ari: true }, 'everyone')
  t.same(supervisor.ids, [])
})
