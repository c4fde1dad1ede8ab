import t from 'tap'
import type { PbxEndpoint } from '../../src/asterisk/ari-client.js'
import type { Agent } from '../../src/agents/agent-directory.js'
import { selectAvailableAgents } from '../../src/agents/available-agents.js'

function endpoint (resource: string, overrides: Partial<PbxEndpoint> = {}): PbxEndpoint {
  return { technology: 'PJSIP', resource, state: 'online', channelIds: [], ...overrides }
}

/** Without a host directory every endpoint is an agent. */
const everyone = (endpoints: PbxEndpoint[]): Agent[] => endpoints.map((endpoint) => ({ extension: endpoint.resource }))

const extensions = (endpoints: PbxEndpoint[], caller?: string, technology = 'PJSIP'): string[] =>
  selectAvailableAgents(everyone(endpoints), endpoints, technology, caller).map((agent) => agent.extension)

t.test('an online endpoint without channels is available', async (t) => {
  t.same(selectAvailableAgents([{ extension: '102' }], [endpoint('102')], 'PJSIP', undefined), [{ extension: '102', state: 'available' }])
})

t.test('an endpoint on a call (with channels) is not available', async (t) => {
  t.same(extensions([endpoint('102', { channelIds: ['1712000000.42'] }), endpoint('103')]), ['103'])
})

t.test('offline and unknown endpoints are not available', async (t) => {
  t.same(extensions([endpoint('102', { state: 'offline' }), endpoint('103', { state: 'unknown' }), endpoint('104')]), ['104'])
})

t.test('the caller is excluded', async (t) => {
  t.same(extensions([endpoint('101'), endpoint('102')], '101'), ['102'])
})

t.test('the caller exclusion is exact: 1010 stays when 101 asks', async (t) => {
  t.same(extensions([endpoint('101'), endpoint('1010')], '101'), ['1010'])
})

t.test('endpoints of another technology are ignored', async (t) => {
  t.same(extensions([endpoint('102', { technology: 'SIP' }), endpoint('103', { technology: 'IAX2' }), endpoint('104')]), ['104'])
})

t.test('the technology is compared case-insensitively', async (t) => {
  t.same(extensions([endpoint('102', { technology: 'pjsip' })]), ['102'])
  t.same(extensions([endpoint('102')], undefined, 'pjsip'), ['102'])
})

t.test('sorted numerically: 2 before 10 before 101', async (t) => {
  t.same(extensions([endpoint('101'), endpoint('10'), endpoint('2'), endpoint('1000'), endpoint('20')]), ['2', '10', '20', '101', '1000'])
})

t.test('nobody available: an empty list', async (t) => {
  t.same(extensions([]), [])
  t.same(extensions([endpoint('101')], '101'), [])
})

t.test('with a host directory: only its agents, with their names, even if other endpoints are idle', async (t) => {
  const directory: Agent[] = [{ extension: '102', name: 'Ana' }, { extension: '109', name: 'Not registered' }]
  t.same(selectAvailableAgents(directory, [endpoint('102'), endpoint('103')], 'PJSIP', undefined), [{ extension: '102', name: 'Ana', state: 'available' }])
})
