import t from 'tap'
import { EventEmitter } from 'node:events'
import { AgentDirectory } from '../../src/agents/agent-directory.js'
import { AgentService } from '../../src/agents/agent-service.js'
import { AgentStatusService } from '../../src/agents/agent-status.js'
import type { PbxEndpoint } from '../../src/asterisk/ari-client.js'
import type { CallMonitorEvents } from '../../src/calls/call-monitor.js'
import type { Call } from '../../src/domain/feed-events.js'
import { FakePbx } from '../helpers/fake-pbx.js'

const endpoint = (resource: string, overrides: Partial<PbxEndpoint> = {}): PbxEndpoint =>
  ({ technology: 'PJSIP', resource, state: 'online', channelIds: [], ...overrides })

class IdleMonitor extends EventEmitter<CallMonitorEvents> {
  allCalls (): Call[] { return [] }
}

t.test('with the live states: every agent with its state and name, and the available ones minus the caller', async (t) => {
  const pbx = new FakePbx()
  pbx.endpointList = [endpoint('101'), endpoint('102'), endpoint('105'), endpoint('107', { state: 'offline' })]
  pbx.deviceStateList = [{ device: 'PJSIP/101', state: 'INUSE' }, { device: 'PJSIP/102', state: 'NOT_INUSE' }, { device: 'PJSIP/105', state: 'NOT_INUSE' }]
  pbx.queueMemberList = [{ queue: 'sales', interface: 'PJSIP/105', stateInterface: 'PJSIP/105', paused: true, pausedReason: 'lunch' }]
  const directory = new AgentDirectory([{ extension: '107' }, { extension: '105', name: 'Eve' }, { extension: '102' }, { extension: '101' }], pbx, 'PJSIP')
  const live = new AgentStatusService(pbx, new IdleMonitor(), directory)
  await live.start()
  t.teardown(() => live.stop())
  const agents = new AgentService(pbx, 'PJSIP', directory, live)
  const endpointRequests = pbx.count('endpoints')
  t.same(await agents.all(), [
    { extension: '101', state: 'on_call', reason: 'on a call' },
    { extension: '102', state: 'available' },
    { extension: '105', name: 'Eve', state: 'paused', reason: 'paused in queue sales (lunch)' },
    { extension: '107', state: 'offline', reason: 'not registered' }
  ])
  t.same(await agents.available('101'), [{ extension: '102', state: 'available' }])
  t.same(await agents.available('102'), [])
  t.equal(pbx.count('endpoints'), endpointRequests, 'answered from memory, not from ARI')
})

t.test('without live states: ARI endpoints judged by the same rule (registered, no channel)', async (t) => {
  const pbx = new FakePbx()
  pbx.endpointList = [
    endpoint('101'),
    endpoint('102', { channelIds: ['1712000000.42'] }),
    endpoint('103', { state: 'offline' }),
    endpoint('104', { state: 'unknown' }),
    endpoint('105', { technology: 'IAX2' }),
    endpoint('106', { technology: 'pjsip' })
  ]
  const agents = new AgentService(pbx, 'PJSIP', new AgentDirectory(undefined, pbx, 'PJSIP'))
  t.same(await agents.all(), [
    { extension: '101', state: 'available' },
    { extension: '102', state: 'on_call', reason: 'on a call' },
    { extension: '103', state: 'offline', reason: 'not registered' },
    { extension: '104', state: 'offline', reason: 'unknown to Asterisk' },
    { extension: '106', state: 'available' }
  ], 'IAX2/105 is not of the technology; the technology compared case-insensitively')
  t.same(await agents.available('106'), [{ extension: '101', state: 'available' }])
})

t.test('without live states, a host agent with no endpoint is offline', async (t) => {
  const pbx = new FakePbx()
  pbx.endpointList = [endpoint('102')]
  const agents = new AgentService(pbx, 'PJSIP', new AgentDirectory([{ extension: '102', name: 'Ana' }, { extension: '109' }], pbx, 'PJSIP'))
  t.same(await agents.all(), [{ extension: '102', name: 'Ana', state: 'available' }, { extension: '109', state: 'offline', reason: 'unknown to Asterisk' }])
})
