import t from 'tap'
import { EventLog } from '../../src/domain/event-log.js'
import type { AgentStatus } from '../../src/domain/agent-state.js'
import { projectLog } from '../../src/domain/log-projection.js'

const status = (extension: string, state: 'available' | 'on_call'): AgentStatus => ({ extension, state })

t.test('replays the events of its types the log holds, then follows the new ones until stopped', async (t) => {
  const log = new EventLog()
  log.append('agent:status', status('101', 'on_call'), 'everyone')
  log.append('call:status', { extension: '101', uniqueId: '1.1', ended: true }, 'everyone')
  const seen: string[] = []
  const stop = projectLog(log, ['agent:status'], (data, type) => { seen.push(`${type} ${data.extension} ${data.state}`) })
  t.same(seen, ['agent:status 101 on_call'], 'the held event of its type, not the others')
  log.append('agent:status', status('102', 'available'), 'everyone')
  log.append('call:status', { extension: '102', uniqueId: '1.2', ended: true }, 'everyone')
  t.same(seen, ['agent:status 101 on_call', 'agent:status 102 available'], 'then each new one of its type')
  stop()
  log.append('agent:status', status('103', 'on_call'), 'everyone')
  t.equal(seen.length, 2, 'nothing once stopped')
})

t.test('without replay, only the events appended from then on', async (t) => {
  const log = new EventLog()
  log.append('agent:status', status('101', 'on_call'), 'everyone')
  const seen: string[] = []
  const stop = projectLog(log, ['agent:status'], (data) => { seen.push(data.extension) }, { replay: false })
  t.same(seen, [])
  log.append('agent:status', status('102', 'on_call'), 'everyone')
  t.same(seen, ['102'])
  stop()
})
