import t from 'tap'
import { PublishedAgentStatuses } from '../../src/agents/published-agent-statuses.js'
import { EventLog } from '../../src/domain/event-log.js'

t.test('a newly elected leader publishes only what differs from what the feed last said', async (t) => {
  const log = new EventLog()
  log.append('agent:status', { extension: '101', state: 'available' }, 'everyone')
  const published = new PublishedAgentStatuses(log)
  log.append('agent:status', { extension: '102', state: 'on_call' }, 'everyone')
  log.append('agent:status', { extension: '101', state: 'on_call' }, 'everyone')
  const current = [
    { extension: '101', state: 'available' as const },
    { extension: '102', state: 'on_call' as const },
    { extension: '103', state: 'offline' as const, reason: 'not registered' }
  ]
  t.same(published.changedIn(current), [{ extension: '101', state: 'available' }], '101 changed unpublished; 102 as published; 103 never said lately')
  t.same(published.changedIn([{ extension: '102', state: 'on_call', reason: 'on a call with 2 parties' }]), [{ extension: '102', state: 'on_call', reason: 'on a call with 2 parties' }], 'a new reason is a change')
  published.stop()
})
