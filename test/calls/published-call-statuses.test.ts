import t from 'tap'
import { PublishedCallStatuses } from '../../src/calls/published-call-statuses.js'
import type { Call } from '../../src/domain/call.js'
import { EventLog } from '../../src/domain/event-log.js'

const call = (extension: string, uniqueId: string, state: Call['state'], extra: Partial<Call> = {}): Call =>
  ({ extension, channel: `PJSIP/${extension}-${uniqueId}`, uniqueId, linkedId: uniqueId, state, startedAt: '2026-11-29T10:00:00.000Z', ...extra })

const status = (value: Call): { extension: string, uniqueId: string, call: Call, ended: false } =>
  ({ extension: value.extension, uniqueId: value.uniqueId, call: value, ended: false })

t.test('a newly elected leader publishes the calls that began or changed unpublished, and the ones that ended', async (t) => {
  const log = new EventLog()
  const ringing = call('101', '1.1', 'ringing')
  log.append('call:status', status(ringing), { extensions: ['101'] })
  const published = new PublishedCallStatuses(log)
  const talking = call('102', '1.2', 'up', { peer: { channel: 'PJSIP/trunk-1', number: '555' } })
  log.append('call:status', status(talking), { extensions: ['102'] })
  const gone = call('103', '1.3', 'up')
  log.append('call:status', status(gone), { extensions: ['103'] })
  const ended = call('104', '1.4', 'up')
  log.append('call:status', status(ended), { extensions: ['104'] })
  log.append('call:status', { extension: '104', uniqueId: '1.4', ended: true }, { extensions: ['104'] })

  // While nobody published: 101 answered, 102 unchanged, 103 hung up, 105 began.
  const answered = { ...ringing, state: 'up' as const }
  const began = call('105', '1.5', 'ringing')
  t.same(published.differences([answered, { ...talking }, began]), [
    status(answered),
    status(began),
    { extension: '103', uniqueId: '1.3', ended: true }
  ], '101 changed, 105 new, 103 gone; 102 as published; 104 already ended')
  t.same(published.differences([{ ...talking, transfer: { id: 'x', type: 'blind', targetExtension: '106' } }]).map((change) => change.uniqueId), ['1.2', '1.1', '1.3'],
    'a transfer on a call is a change; the calls the feed has live are ended')
  published.stop()
})

t.test('what the feed says from a Redis Stream (JSON read back) compares equal to the same call', async (t) => {
  const log = new EventLog()
  const talking = call('102', '1.2', 'up', { peer: { channel: 'PJSIP/trunk-1', number: '555' } })
  log.append('call:status', JSON.parse(JSON.stringify(status(talking))), { extensions: ['102'] })
  const published = new PublishedCallStatuses(log)
  t.same(published.differences([talking]), [])
  published.stop()
})
