import t from 'tap'
import { EventEmitter } from 'node:events'
import { setImmediate as tick } from 'node:timers/promises'
import Value from 'typebox/value'
import type { PbxEvent } from '../../src/asterisk/ami-events.js'
import type { CallSnapshot, PbxEvents } from '../../src/asterisk/pbx.js'
import { CallMonitor, type AgentCalls, type CallSource } from '../../src/calls/call-monitor.js'
import { CallStatus } from '../../src/domain/feed-events.js'
import {
  atxfer101To103,
  atxferCompletedBy101HangingUp,
  callTo101,
  parseTrace,
  snapshotCallUp,
  snapshotCompleted,
  snapshotConsulting
} from './fixtures/asterisk-traces.js'

/** A PBX whose snapshots the test hands out one by one, to control what is in flight when. */
class FakePbx implements CallSource {
  readonly events = new EventEmitter<PbxEvents>()
  ami = true
  readonly requests: Array<{ resolve: (snapshot: CallSnapshot) => void, reject: (error: Error) => void }> = []

  connectionState (): { ami: boolean, ari: boolean } {
    return { ami: this.ami, ari: true }
  }

  async snapshot (): Promise<CallSnapshot> {
    return await new Promise((resolve, reject) => { this.requests.push({ resolve, reject }) })
  }

  /** Answers the oldest pending snapshot request. */
  async answer (snapshot: CallSnapshot): Promise<void> {
    const request = this.requests.shift()
    if (request === undefined) throw new Error('no snapshot request pending')
    request.resolve(structuredClone(snapshot))
    await tick()
  }

  async fail (error = new Error('ARI is not connected')): Promise<void> {
    this.requests.shift()?.reject(error)
    await tick()
  }

  emitAll (events: PbxEvent[]): void {
    for (const event of events) this.events.emit('event', event)
  }

  setAmi (ami: boolean): void {
    this.ami = ami
    this.events.emit('connection', { ami, ari: true })
  }
}

function record (monitor: CallMonitor): { statuses: CallStatus[], agents: AgentCalls[] } {
  const statuses: CallStatus[] = []
  const agents: AgentCalls[] = []
  monitor.on('call:status', (status) => statuses.push(status))
  monitor.on('agent:calls', (calls) => agents.push(calls))
  return { statuses, agents }
}

const customer = 'PJSIP/customer1-00000000'

async function started (pbx: FakePbx, snapshot: CallSnapshot, monitor = new CallMonitor(pbx)): Promise<CallMonitor> {
  const starting = monitor.start()
  await pbx.answer(snapshot)
  await starting
  return monitor
}

t.test('start builds the calls from a snapshot and publishes them', async (t) => {
  const pbx = new FakePbx()
  const monitor = new CallMonitor(pbx)
  const { statuses, agents } = record(monitor)
  const starting = monitor.start()
  t.notOk(monitor.inSync, 'not before the snapshot arrived')
  await pbx.answer(snapshotCallUp)
  await starting
  t.ok(monitor.inSync)
  t.match(monitor.callsOf('101'), [{ channel: 'PJSIP/101-00000001', state: 'up', peer: { channel: customer, number: '+15550000001' } }])
  t.same(statuses.map((status) => status.extension).sort(), ['101', 'customer1'])
  t.ok(statuses.every((status) => Value.Check(CallStatus, status)), 'every call:status matches the feed schema')
  t.same(agents.find((entry) => entry.extension === '101'), { extension: '101', calls: monitor.callsOf('101') })
  monitor.stop()
})

t.test('events update the calls: call:status per call, then agent:calls per agent', async (t) => {
  const pbx = new FakePbx()
  const monitor = await started(pbx, { channels: [], bridges: [] })
  const { statuses, agents } = record(monitor)
  const order: string[] = []
  monitor.on('call:status', (status) => order.push(`status ${status.extension}`))
  monitor.on('agent:calls', (entry) => order.push(`agent ${entry.extension}`))
  const [customerLeg, agentLeg] = parseTrace(callTo101)
  pbx.emitAll([customerLeg, agentLeg] as PbxEvent[])
  t.same(order, ['status customer1', 'agent customer1', 'status 101', 'agent 101'])
  t.match(statuses.at(-1), { extension: '101', call: { state: 'ringing' }, ended: false })
  pbx.emitAll(parseTrace(callTo101).slice(2))
  t.match(monitor.callsOf('101'), [{ state: 'up', peer: { channel: customer } }])
  t.match(agents.at(-1), { extension: '101', calls: [{ state: 'up', peer: { channel: customer } }] })
  monitor.stop()
})

t.test('agent:call-states follows agent:calls with only the states, and agent:calls is not built without listeners', async (t) => {
  const pbx = new FakePbx()
  const monitor = await started(pbx, { channels: [], bridges: [] })
  const states: unknown[] = []
  monitor.on('agent:call-states', (entry) => states.push(entry))
  let listed = 0
  const listener = (): void => { listed++ }
  monitor.on('agent:calls', listener)
  pbx.emitAll(parseTrace(callTo101).slice(0, 2))
  t.equal(listed, 2)
  monitor.off('agent:calls', listener)
  pbx.emitAll(parseTrace(callTo101).slice(2))
  t.equal(listed, 2, 'nobody listens: not emitted')
  t.same(states.filter((entry) => (entry as { extension: string }).extension === '101').at(-1), { extension: '101', states: ['up'] })
  pbx.emitAll([{ type: 'hangup', channel: 'PJSIP/101-00000001', uniqueId: '1795632382.1', linkedId: '1795632382.0', cause: 'Normal Clearing' }])
  t.same(states.filter((entry) => (entry as { extension: string }).extension === '101').at(-1), { extension: '101', states: [] })
  monitor.stop()
})

t.test('an ended call publishes ended: true without a call, and the agent\'s remaining calls', async (t) => {
  const pbx = new FakePbx()
  const monitor = await started(pbx, snapshotCallUp)
  const { statuses, agents } = record(monitor)
  pbx.emitAll([{ type: 'hangup', channel: 'PJSIP/101-00000001', uniqueId: '1795632382.1', linkedId: '1795632382.0', cause: 'Normal Clearing' }])
  const ended = statuses.find((status) => status.extension === '101')
  t.same(ended, { extension: '101', uniqueId: '1795632382.1', ended: true }, 'the ended call is named by its uniqueid')
  t.ok(Value.Check(CallStatus, ended))
  t.same(agents.find((entry) => entry.extension === '101'), { extension: '101', calls: [] })
  t.match(statuses.find((status) => status.extension === 'customer1'), { call: { state: 'up' }, ended: false }, "the customer's call lost its peer")
  t.equal(monitor.callsOf('customer1')[0]?.peer, undefined)
  monitor.stop()
})

t.test('events that arrive while the snapshot is requested are replayed over it in order', async (t) => {
  const pbx = new FakePbx()
  const monitor = new CallMonitor(pbx)
  const { statuses } = record(monitor)
  const starting = monitor.start()
  // The snapshot reflects the consultation; the completion happens while the answer is on its way.
  pbx.emitAll(parseTrace(atxferCompletedBy101HangingUp))
  t.same(statuses, [], 'nothing is published from a state that is about to be replaced')
  await pbx.answer(snapshotConsulting)
  await starting
  t.same(monitor.callsOf('101'), [])
  t.match(monitor.callsOf('103'), [{ state: 'up', peer: { channel: customer, number: '+15550000001' }, linkedId: '1795632382.0' }])
  t.same(statuses.map((status) => status.extension).sort(), ['103', 'customer1'], 'one status per call, for the state after the replay')

  pbx.emitAll(parseTrace(atxferCompletedBy101HangingUp))
  t.equal(statuses.length, 2, 'the same events again change nothing')
  monitor.stop()
})

t.test('after an AMI reconnect the calls are rebuilt, publishing only what changed while AMI was down', async (t) => {
  const pbx = new FakePbx()
  const monitor = await started(pbx, snapshotConsulting)
  const { statuses } = record(monitor)
  pbx.setAmi(false)
  t.notOk(monitor.inSync)
  t.equal(pbx.requests.length, 0, 'no snapshot while AMI is down')
  pbx.setAmi(true)
  t.equal(pbx.requests.length, 1, 'a snapshot after the reconnect')
  await pbx.answer(snapshotCompleted)
  t.ok(monitor.inSync)
  t.same(statuses.map((status) => `${status.extension} ${status.ended ? 'ended' : status.call?.peer?.channel ?? '-'}`).sort(), [
    `103 ${customer}`,
    '101 ended',
    'customer1 PJSIP/103-00000002'
  ].sort())
  pbx.setAmi(true)
  t.equal(pbx.requests.length, 0, 'a connection event that is no reconnect rebuilds nothing')
  monitor.stop()
})

t.test('a reconnect while a snapshot is in flight takes another snapshot after it', async (t) => {
  const pbx = new FakePbx()
  const monitor = await started(pbx, { channels: [], bridges: [] })
  pbx.setAmi(false)
  pbx.setAmi(true)
  pbx.setAmi(false)
  pbx.setAmi(true)
  t.equal(pbx.requests.length, 1, 'one request at a time')
  await pbx.answer(snapshotConsulting)
  t.equal(pbx.requests.length, 1, 'the second reconnect asks again: the first snapshot may predate it')
  await pbx.answer(snapshotCompleted)
  t.match(monitor.callsOf('103'), [{ peer: { channel: customer } }])
  t.ok(monitor.inSync)
  monitor.stop()
})

t.test('a failed snapshot keeps the last calls (with the events meanwhile) and is retried', async (t) => {
  const pbx = new FakePbx()
  // Long enough that a busy machine does not run the retry before the events below.
  const monitor = new CallMonitor(pbx, { retry: { initialDelayMs: 200, maxDelayMs: 200 } })
  const starting = t.rejects(monitor.start(), /ARI is not connected/, 'start reports the first failure')
  await pbx.fail()
  await starting
  t.notOk(monitor.inSync)
  pbx.emitAll(parseTrace(callTo101))
  t.match(monitor.callsOf('101'), [{ state: 'up' }], 'events still count meanwhile')
  await t.resolveMatch(new Promise((resolve) => { setTimeout(() => resolve(pbx.requests.length), 600) }), 1, 'retried')
  await pbx.answer(snapshotConsulting)
  t.ok(monitor.inSync)
  t.match(monitor.callsOf('103'), [{ peer: { channel: 'PJSIP/101-00000001' } }])
  monitor.stop()
})

t.test('stop unsubscribes, cancels the retry and ignores a snapshot still in flight', async (t) => {
  const pbx = new FakePbx()
  const monitor = new CallMonitor(pbx, { retry: { initialDelayMs: 10, maxDelayMs: 10 } })
  const { statuses } = record(monitor)
  const starting = monitor.start()
  monitor.stop()
  t.equal(pbx.events.listenerCount('event'), 0)
  t.equal(pbx.events.listenerCount('connection'), 0)
  await pbx.answer(snapshotCallUp)
  await starting
  t.same(statuses, [])
  t.equal(monitor.channelCount, 0)

  const failing = t.rejects(monitor.start())
  await pbx.fail()
  await failing
  monitor.stop()
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(pbx.requests.length, 0, 'no retry after stop')
})

t.test('lookups answer from memory: snapshotOf feeds findAgentCall without asking the PBX', async (t) => {
  const pbx = new FakePbx()
  const monitor = await started(pbx, { channels: [], bridges: [] })
  pbx.emitAll([callTo101, atxfer101To103].flatMap(parseTrace))
  t.equal(pbx.requests.length, 0)
  t.match(monitor.callsOf('101'), [{ state: 'in_consultation', peer: { channel: 'PJSIP/103-00000002', number: '103' } }])
  t.same(monitor.snapshotOf('101').channels.length, 4)
  t.equal(monitor.snapshot().channels.length, monitor.channelCount)
  t.same(monitor.allCalls().map((call) => call.extension).sort(), ['101', '103', 'customer1'])
  monitor.stop()
})
