// The agent status service on the shared FakePbx and a fake call monitor: the first build, each live
// event, no repeated agent:status, events during a build, rebuilds after AMI reconnects.
import t, { type Test } from 'tap'
import { EventEmitter } from 'node:events'
import { setImmediate as tick } from 'node:timers/promises'
import Value from 'typebox/value'
import { AgentDirectory, type Agent, type AgentSource } from '../../src/agents/agent-directory.js'
import { AgentStatusService } from '../../src/agents/agent-status.js'
import type { PbxEvent, QueueMember } from '../../src/asterisk/ami-events.js'
import type { PbxEndpoint } from '../../src/asterisk/ari-client.js'
import type { CallMonitorEvents } from '../../src/calls/call-monitor.js'
import { AgentStatus, type Call, type CallState } from '../../src/domain/feed-events.js'
import { FakePbx } from '../helpers/fake-pbx.js'

/** The call monitor as the service sees it: `agent:call-states`, and the calls it knew before. */
class FakeMonitor extends EventEmitter<CallMonitorEvents> {
  known: Call[] = []
  allCalls (): Call[] {
    return this.known
  }

  /** The agent's calls now have these states (none: its last call ended). */
  calls (extension: string, ...states: CallState[]): void {
    this.emit('agent:call-states', { extension, states: [...new Set(states)] })
  }
}

function call (extension: string, state: CallState, index = 0): Call {
  return { extension, channel: `PJSIP/${extension}-0000000${index}`, uniqueId: `u${index}`, linkedId: `l${index}`, state, startedAt: '2024-04-01T10:00:00.000Z' }
}

const endpoint = (resource: string, state = 'online', technology = 'PJSIP'): PbxEndpoint => ({ technology, resource, state, channelIds: [] })
const member = (extension: string, queue = 'sales', paused = false, pausedReason = ''): QueueMember =>
  ({ queue, interface: `PJSIP/${extension}`, stateInterface: `PJSIP/${extension}`, paused, pausedReason })

// Events as Asterisk 22 sends them (see test/asterisk/ami-events.test.ts).
const device = (extension: string, state: string): PbxEvent => ({ type: 'deviceStateChange', device: `PJSIP/${extension}`, state })
const peer = (extension: string, registered: boolean): PbxEvent => ({ type: 'peerStatus', peer: `PJSIP/${extension}`, registered })
const pause = (extension: string, paused: boolean, reason = '', queue = 'sales'): PbxEvent => ({ type: 'queueMemberPause', ...member(extension, queue, paused, reason) })

/**
 * The test bed's call center: 101-106 registered and idle, 107 configured but not registered, 104 and
 * 105 members of queue sales, customer1 a PJSIP endpoint that is nobody's phone.
 */
function testBedPbx (): FakePbx {
  const pbx = new FakePbx()
  pbx.endpointList = [...['101', '102', '103', '104', '105', '106'].map((ext) => endpoint(ext)), endpoint('107', 'offline'), endpoint('customer1', 'offline')]
  pbx.deviceStateList = [
    ...['101', '102', '103', '104', '105', '106'].map((ext) => ({ device: `PJSIP/${ext}`, state: 'NOT_INUSE' })),
    { device: 'PJSIP/107', state: 'UNAVAILABLE' },
    { device: 'Queue:sales_pause_PJSIP/105', state: 'NOT_INUSE' },
    { device: 'MWI:1234@default', state: 'NOT_INUSE' }
  ]
  pbx.queueMemberList = [member('104'), member('105')]
  return pbx
}

const hostAgents: Agent[] = ['101', '102', '103', '104', '105', '106', '107'].map((extension) => ({ extension, name: `Agent ${extension}` }))

interface Setup {
  pbx: FakePbx
  monitor: FakeMonitor
  service: AgentStatusService
  published: AgentStatus[]
  /** The published statuses since the last call, as `extension state [reason]`. */
  take: () => string[]
  state: (extension: string) => string
}

/** `agents`: the host's directory, or 'endpoints' for none (every endpoint of the technology). */
async function setup (t: Test, { pbx = testBedPbx(), agents = hostAgents as AgentSource | 'endpoints', start = true } = {}): Promise<Setup> {
  const monitor = new FakeMonitor()
  const directory = new AgentDirectory(agents === 'endpoints' ? undefined : agents, pbx, 'PJSIP')
  const service = new AgentStatusService(pbx, monitor, directory, { retry: { initialDelayMs: 5, maxDelayMs: 10 } })
  const published: AgentStatus[] = []
  service.on('agent:status', (status) => {
    t.ok(Value.Check(AgentStatus, status), 'an AgentStatus of the feed')
    published.push(status)
  })
  let taken = 0
  const describe = ({ extension, state, reason }: AgentStatus): string => [extension, state, ...(reason === undefined ? [] : [reason])].join(' ')
  if (start) await service.start()
  t.teardown(() => service.stop())
  return {
    pbx,
    monitor,
    service,
    published,
    take: () => {
      const fresh = published.slice(taken)
      taken = published.length
      return fresh.map(describe)
    },
    state: (extension) => describe(service.statusOf(extension))
  }
}

/** A directory whose answer the test releases: the build it is part of stays in flight until then. */
function heldDirectory (): { agents: () => Promise<readonly Agent[]>, release: () => Promise<void>, pending: () => number } {
  const waiting: Array<() => void> = []
  return {
    agents: async () => await new Promise((resolve) => { waiting.push(() => resolve(hostAgents)) }),
    release: async () => {
      waiting.shift()?.()
      await tick()
    },
    pending: () => waiting.length
  }
}

t.test('the first build: endpoints, device states and queue pauses give each agent its state; nothing is published', async (t) => {
  const pbx = testBedPbx()
  pbx.queueMemberList = [member('104'), member('105', 'sales', true, 'lunch')]
  const { state, published } = await setup(t, { pbx })
  t.same(['101', '104', '105', '107'].map(state), ['101 available', '104 available', '105 paused paused in queue sales (lunch)', '107 offline not registered'])
  t.same(published, [], 'no agent:status for the baseline: clients read it over HTTP')
  t.same(pbx.calls.map((c) => c.method).sort(), ['deviceStates', 'endpoints', 'queueMembers'], 'one request per list, no polling')
})

t.test('calls the monitor knew before the service started count from the first build', async (t) => {
  const { monitor, service, state } = await setup(t, { start: false })
  monitor.known = [call('101', 'up'), call('102', 'ringing'), call('102', 'on_hold', 1)]
  await service.start()
  t.same(['101', '102', '103'].map(state), ['101 on_call on a call', '102 on_hold has a call on hold', '103 available'])
})

t.test('DeviceStateChange: ringing, on a call, back to available', async (t) => {
  const { pbx, take } = await setup(t)
  pbx.emit(device('102', 'RINGING'), device('102', 'INUSE'), device('102', 'NOT_INUSE'))
  t.same(take(), ['102 ringing phone ringing', '102 on_call on a call', '102 available'])
})

t.test('an agent registering and unregistering as Asterisk 22 says it: one agent:status each way', async (t) => {
  const { pbx, take, state } = await setup(t)
  // REGISTER: PeerStatus Reachable, then the device leaves UNAVAILABLE.
  pbx.emit(peer('107', true))
  t.same(take(), [], 'registered, but the device still says UNAVAILABLE: offline for the same reason')
  pbx.emit(device('107', 'NOT_INUSE'))
  t.same(take(), ['107 available'])
  // Unregister (or expiry): PeerStatus Unreachable, then the device becomes UNAVAILABLE.
  pbx.emit(peer('107', false), device('107', 'UNAVAILABLE'))
  t.same(take(), ['107 offline not registered'])
  t.equal(state('107'), '107 offline not registered')
})

t.test('QueueMemberPause: paused with the queue and the reason, unpaused back to available', async (t) => {
  const { pbx, take } = await setup(t)
  pbx.emit(pause('105', true, 'lunch'))
  pbx.emit(pause('105', false))
  t.same(take(), ['105 paused paused in queue sales (lunch)', '105 available'])
})

t.test('paused in any of its queues: each queue named; available only when unpaused in all', async (t) => {
  const { pbx, take } = await setup(t)
  pbx.emit({ type: 'queueMemberAdded', ...member('105', 'support') })
  pbx.emit(pause('105', true, '', 'support'), pause('105', true, 'lunch'))
  pbx.emit(pause('105', false, '', 'support'))
  pbx.emit(pause('105', false))
  t.same(take(), [
    '105 paused paused in queue support',
    '105 paused paused in queues sales (lunch), support',
    '105 paused paused in queue sales (lunch)',
    '105 available'
  ])
})

t.test('QueueMemberAdded paused, QueueMemberStatus with a pause, QueueMemberRemoved ends it', async (t) => {
  const { pbx, take } = await setup(t)
  pbx.emit({ type: 'queueMemberAdded', ...member('106', 'support', true, 'training') })
  pbx.emit({ type: 'queueMemberRemoved', ...member('106', 'support', true, 'training') })
  pbx.emit({ type: 'queueMemberStatus', ...member('104', 'sales', true, 'break') })
  t.same(take(), ['106 paused paused in queue support (training)', '106 available', '104 paused paused in queue sales (break)'])
})

t.test('a queue member dialed through Local is the agent of its state interface', async (t) => {
  const { pbx, take } = await setup(t)
  pbx.emit({ type: 'queueMemberPause', queue: 'sales', interface: 'Local/103@agents/n', stateInterface: 'PJSIP/103', paused: true, pausedReason: '' })
  t.same(take(), ['103 paused paused in queue sales'])
})

t.test("the monitor's agent:calls: on a call, on hold, in consultation, ended", async (t) => {
  const { monitor, take } = await setup(t)
  monitor.calls('101', 'ringing')
  monitor.calls('101', 'up')
  monitor.calls('101', 'on_hold')
  monitor.calls('101', 'on_hold', 'in_consultation')
  monitor.calls('101', 'up')
  monitor.calls('101')
  t.same(take(), [
    '101 ringing phone ringing',
    '101 on_call on a call',
    '101 on_hold has a call on hold',
    '101 in_consultation in a consultation call',
    '101 on_call on a call',
    '101 available'
  ])
})

t.test('a paused agent taking a call is on a call, and paused again when it ends', async (t) => {
  const { pbx, monitor, take } = await setup(t)
  pbx.emit(pause('105', true, 'lunch'))
  monitor.calls('105', 'up')
  pbx.emit(device('105', 'BUSY'))
  monitor.calls('105')
  pbx.emit(device('105', 'NOT_INUSE'))
  t.same(take(), ['105 paused paused in queue sales (lunch)', '105 on_call on a call', '105 paused paused in queue sales (lunch)'])
})

t.test('no agent:status when nothing an agent shows changed', async (t) => {
  const { pbx, monitor, take } = await setup(t)
  pbx.emit(device('101', 'NOT_INUSE'), peer('101', true), pause('104', false))
  t.same(take(), [], 'the same facts again')
  monitor.calls('101', 'up')
  pbx.emit(device('101', 'INUSE'), device('101', 'BUSY'))
  monitor.calls('101', 'up', 'up')
  t.same(take(), ['101 on_call on a call'], 'other facts, the same state and reason')
  pbx.emit(device('customer1', 'INUSE'), { type: 'deviceStateChange', device: 'Queue:sales_pause_PJSIP/105', state: 'INUSE' }, { type: 'deviceStateChange', device: 'SIP/102', state: 'INUSE' })
  monitor.calls('customer1', 'up')
  t.same(take(), [], 'devices that are nobody\'s phone, another technology, a customer')
  pbx.emit({ type: 'hold', channel: 'PJSIP/101-0000002a', uniqueId: 'u', linkedId: 'l' })
  t.same(take(), [], 'call events are the monitor\'s business')
})

t.test('only the directory\'s agents are published; any extension can still be looked up', async (t) => {
  const { pbx, take, state } = await setup(t, { agents: [{ extension: '101' }] })
  pbx.emit(device('102', 'INUSE'), device('101', 'INUSE'))
  t.same(take(), ['101 on_call on a call'])
  t.equal(state('102'), '102 on_call on a call')
  t.equal(state('999'), '999 offline unknown to Asterisk')
})

t.test('without a host directory every endpoint of the technology is an agent', async (t) => {
  const pbx = testBedPbx()
  pbx.endpointList.push(endpoint('200', 'online', 'IAX2'))
  const { take } = await setup(t, { pbx, agents: 'endpoints' })
  pbx.emit(peer('customer1', true), device('customer1', 'NOT_INUSE'), { type: 'deviceStateChange', device: 'IAX2/200', state: 'INUSE' })
  t.same(take(), ['customer1 available'], 'customer1 is a PJSIP endpoint too; IAX2/200 is not of the technology')
})

t.test('events received while the build is in flight are replayed over it, in order', async (t) => {
  const directory = heldDirectory()
  const { pbx, service, take, state } = await setup(t, { agents: directory.agents, start: false })
  const started = service.start()
  await tick()
  pbx.emit(device('101', 'INUSE'), pause('105', true, 'lunch'), device('101', 'NOT_INUSE'), peer('107', true), device('107', 'NOT_INUSE'))
  t.equal(state('101'), '101 offline unknown to Asterisk', 'not built yet: nobody is available')
  t.notOk(service.inSync)
  await directory.release()
  await started
  t.ok(service.inSync)
  t.same(['101', '105', '107'].map(state), ['101 available', '105 paused paused in queue sales (lunch)', '107 available'])
  t.same(take(), [], 'still the first build: nothing published')
})

t.test('after an AMI reconnect the states are built again: what changed meanwhile is published, nothing else', async (t) => {
  const { pbx, service, take } = await setup(t)
  pbx.events.emit('connection', { ami: false, ari: true })
  t.notOk(service.inSync)
  // Lost while AMI was down: 103 went on a call, 105 paused, 107 registered.
  pbx.deviceStateList = pbx.deviceStateList.map((d) => d.device === 'PJSIP/103' ? { ...d, state: 'INUSE' } : d.device === 'PJSIP/107' ? { ...d, state: 'NOT_INUSE' } : d)
  pbx.queueMemberList = [member('104'), member('105', 'sales', true, 'lunch')]
  pbx.endpointList = pbx.endpointList.map((e) => e.resource === '107' ? { ...e, state: 'online' } : e)
  const requests = pbx.count('deviceStates')
  pbx.events.emit('connection', { ami: true, ari: true })
  await tick()
  await tick()
  t.equal(pbx.count('deviceStates'), requests + 1, 'one new DeviceStateList')
  t.same(take(), ['103 on_call on a call', '105 paused paused in queue sales (lunch)', '107 available'])
  t.ok(service.inSync)
  pbx.events.emit('connection', { ami: true, ari: false })
  await tick()
  t.equal(pbx.count('deviceStates'), requests + 1, 'an ARI change alone is no AMI reconnect')
})

t.test('a reconnect during a build builds once more: the snapshot in flight may predate it', async (t) => {
  const directory = heldDirectory()
  const { pbx, service, take } = await setup(t, { agents: directory.agents, start: false })
  const started = service.start()
  await tick()
  pbx.events.emit('connection', { ami: false, ari: true })
  pbx.events.emit('connection', { ami: true, ari: true })
  pbx.queueMemberList = [member('104', 'sales', true), member('105')]
  await directory.release()
  await tick()
  t.equal(directory.pending(), 1, 'a second build asked the directory again')
  await directory.release()
  await started
  t.same(take(), ['104 paused paused in queue sales'], 'the second build published what the first did not know')
  t.ok(service.inSync)
})

t.test('a first build that fails rejects start, keeps the live events, and is retried until it succeeds', async (t) => {
  const pbx = testBedPbx()
  pbx.amiListError = new Error('AMI is not connected')
  const { service, take, state } = await setup(t, { pbx, start: false })
  await t.rejects(service.start(), { message: 'AMI is not connected' })
  pbx.emit(device('101', 'INUSE'))
  t.equal(state('101'), '101 on_call on a call', 'a live event applies, though nothing is built')
  pbx.amiListError = undefined
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.ok(service.inSync, 'built by a retry')
  t.equal(state('102'), '102 available')
  t.same(take(), [], 'the first successful build is the baseline')
})

t.test('a later build that fails keeps the last known states and retries', async (t) => {
  const { pbx, service, take, state } = await setup(t)
  pbx.events.emit('connection', { ami: false, ari: true })
  pbx.amiListError = new Error('AMI is not connected')
  pbx.events.emit('connection', { ami: true, ari: true })
  await tick()
  t.equal(state('102'), '102 available', 'kept')
  pbx.emit(device('102', 'RINGING'))
  t.same(take(), ['102 ringing phone ringing'], 'still followed live')
  pbx.amiListError = undefined
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.ok(service.inSync)
  t.same(take(), ['102 available'], 'the rebuild says the device is idle again')
})

t.test('the directory changes between builds: a new agent is published, a removed one is no longer followed', async (t) => {
  let agents: Agent[] = [{ extension: '101' }, { extension: '102' }]
  const { pbx, take } = await setup(t, { agents: async () => agents })
  agents = [{ extension: '102' }, { extension: '103' }]
  pbx.events.emit('connection', { ami: false, ari: true })
  pbx.events.emit('connection', { ami: true, ari: true })
  await tick()
  await tick()
  t.same(take(), ['103 available'])
  pbx.emit(device('101', 'INUSE'), device('103', 'INUSE'))
  t.same(take(), ['103 on_call on a call'])
})

t.test('stop: no more events, no more builds', async (t) => {
  const { pbx, monitor, service, take } = await setup(t)
  service.stop()
  pbx.emit(device('101', 'INUSE'))
  monitor.calls('102', 'up')
  pbx.events.emit('connection', { ami: false, ari: true })
  pbx.events.emit('connection', { ami: true, ari: true })
  await tick()
  t.same(take(), [])
  t.equal(pbx.count('deviceStates'), 1)
  t.equal(pbx.events.listenerCount('event') + pbx.events.listenerCount('connection') + monitor.listenerCount('agent:call-states'), 0)
})
