import t from 'tap'
import type { Agent } from '../../src/agents/agent-directory.js'
import type { Availability } from '../../src/agents/availability.js'
import { describeAgents, selectAvailableAgents } from '../../src/agents/available-agents.js'

/** States by extension; anyone not listed is available. */
const states = (known: Record<string, Availability>) => (extension: string): Availability => known[extension] ?? { state: 'available' }
const agents = (...extensions: string[]): Agent[] => extensions.map((extension) => ({ extension }))
const onCall: Availability = { state: 'on_call', reason: 'on a call' }
const offline: Availability = { state: 'offline', reason: 'not registered' }

t.test('every agent with its state, and the reason when it cannot take a transfer', async (t) => {
  t.same(describeAgents(agents('101', '102', '107'), states({ 101: onCall, 107: offline })), [
    { extension: '101', state: 'on_call', reason: 'on a call' },
    { extension: '102', state: 'available' },
    { extension: '107', state: 'offline', reason: 'not registered' }
  ])
})

t.test('names from the directory are kept; agents without one have no name key', async (t) => {
  t.same(describeAgents([{ extension: '102', name: 'Ana', groups: ['sales'] }, { extension: '103' }], states({})), [
    { extension: '102', name: 'Ana', state: 'available' },
    { extension: '103', state: 'available' }
  ])
})

t.test('sorted numerically: 2 before 10 before 101', async (t) => {
  t.same(describeAgents(agents('101', '10', '2', '1000', '20'), states({})).map((agent) => agent.extension), ['2', '10', '20', '101', '1000'])
})

t.test('available: only the available agents, minus the caller', async (t) => {
  const entries = describeAgents([...agents('101', '102', '103', '104'), { extension: '105', name: 'Eve' }], states({
    103: onCall,
    104: { state: 'paused', reason: 'paused in queue sales (lunch)' }
  }))
  t.same(selectAvailableAgents(entries, '101'), [{ extension: '102', state: 'available' }, { extension: '105', name: 'Eve', state: 'available' }])
})

t.test('the caller exclusion is exact: 1010 stays when 101 asks', async (t) => {
  t.same(selectAvailableAgents(describeAgents(agents('101', '1010'), states({})), '101').map((agent) => agent.extension), ['1010'])
})

t.test('without a caller (the host asks), nobody is excluded', async (t) => {
  t.same(selectAvailableAgents(describeAgents(agents('101', '102'), states({})), undefined).map((agent) => agent.extension), ['101', '102'])
})

t.test('nobody available: an empty list', async (t) => {
  t.same(selectAvailableAgents(describeAgents([], states({})), undefined), [])
  t.same(selectAvailableAgents(describeAgents(agents('101'), states({ 101: offline })), undefined), [])
})
