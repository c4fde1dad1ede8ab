// A blind transfer to an agent of another server: the answer seen on the customer's server is declared
// only once the target's server shows it too, and then at that server's event, however late it comes
// (found on the two-server test bed: with the second server's events 3 s late, the answer waited 26 s
// for the next reconciliation).
import t, { type Test } from 'tap'
import type { PbxEvent } from '../../src/asterisk/ami-events.js'
import { CallMonitor } from '../../src/calls/call-monitor.js'
import { CALL_ID } from '../../src/transfers/cross-server-check.js'
import { TransferService } from '../../src/transfers/transfer-service.js'
import { answered, syntheticCall } from '../helpers/synthetic-calls.js'
import { blindTransfer, FakePbx } from '../helpers/fake-pbx.js'
import { ManualClock } from '../helpers/manual-clock.js'

const turn = async (): Promise<void> => await new Promise((resolve) => setImmediate(resolve))
const turns = async (n: number): Promise<void> => { for (let i = 0; i < n; i++) await turn() }

const TRUNK_ON_A = 'PJSIP/pbx-b-00000011'
const INBOUND_ON_B = 'PJSIP/pbx-a-00000003'
const TARGET_ON_B = 'PJSIP/401-00000004'
const ref = (channel: string, uniqueId: string): { channel: string, uniqueId: string, linkedId: string } => ({ channel, uniqueId, linkedId: uniqueId })

/** Server a (the agent 2001 and its customer) and server b (agent 401), each with its call monitor, on a manual clock. */
async function pool (t: Test): Promise<{ a: FakePbx, b: FakePbx, clock: ManualClock, service: TransferService, emit: (pbx: FakePbx, events: PbxEvent[]) => void }> {
  const a = new FakePbx()
  const b = new FakePbx()
  a.dialplan.add('401@from-internal')
  const clock = new ManualClock()
  const monitors = [new CallMonitor(a), new CallMonitor(b)]
  for (const monitor of monitors) {
    await monitor.start()
    t.teardown(() => monitor.stop())
  }
  const service = new TransferService([
    { name: 'a', pbx: a, calls: monitors[0] },
    { name: 'b', pbx: b, calls: monitors[1] }
  ], { transferContext: 'from-internal', channelTechnology: 'PJSIP', consultationTimeoutMs: 1000, agentServer: (extension) => extension === '401' ? 'b' : 'a', clock })
  service.start()
  t.teardown(() => service.stop())
  const emit = (pbx: FakePbx, events: PbxEvent[]): void => { for (const event of events) pbx.events.emit('event', event) }
  return { a, b, clock, service, emit }
}

/** On server a: the customer, redirected to 401, dials the trunk to b, which answers and is bridged with the customer. */
function customerToTrunk (customer: { channel: string, uniqueId: string }, bridgeId: string): PbxEvent[] {
  const trunk = ref(TRUNK_ON_A, '1796602000.50')
  const who = { ...customer, linkedId: customer.uniqueId }
  return [
    { type: 'bridgeLeave', ...who, bridgeId, bridgeNumChannels: 1 },
    { type: 'newChannel', ...trunk, exten: '401', context: 'from-internal', state: 'Down' },
    { type: 'dialBegin', channel: customer.channel, destChannel: TRUNK_ON_A, destUniqueId: trunk.uniqueId, destExten: '401', dialString: 'pbx-b/sip:401@b' },
    { type: 'newState', ...trunk, state: 'Up' },
    { type: 'dialEnd', channel: customer.channel, destChannel: TRUNK_ON_A, destUniqueId: trunk.uniqueId, dialStatus: 'ANSWER' },
    { type: 'bridgeEnter', ...trunk, bridgeId: 'a-after', bridgeNumChannels: 1 },
    { type: 'bridgeEnter', ...who, bridgeId: 'a-after', bridgeNumChannels: 2 }
  ]
}

/** On server b: the call comes in over the trunk and 401 answers it (uniqueids colliding with a's, as between servers). */
function inboundTo401 (): PbxEvent[] {
  const inbound = ref(INBOUND_ON_B, '1796602000.50')
  const target = ref(TARGET_ON_B, '1796602000.51')
  return [
    { type: 'newChannel', ...inbound, exten: '401', context: 'from-a', state: 'Ring' },
    { type: 'newChannel', ...target, exten: 's', context: 'from-internal', state: 'Down' },
    { type: 'dialBegin', channel: INBOUND_ON_B, destChannel: TARGET_ON_B, destUniqueId: target.uniqueId, destExten: '401', dialString: '401' },
    { type: 'newState', ...target, state: 'Up' },
    { type: 'dialEnd', channel: INBOUND_ON_B, destChannel: TARGET_ON_B, destUniqueId: target.uniqueId, dialStatus: 'ANSWER' },
    { type: 'newState', ...inbound, state: 'Up' },
    { type: 'bridgeEnter', ...target, bridgeId: 'b1', bridgeNumChannels: 1 },
    { type: 'bridgeEnter', ...inbound, bridgeId: 'b1', bridgeNumChannels: 2 }
  ]
}

async function transferAcross (t: Test): Promise<Awaited<ReturnType<typeof pool>> & { id: string }> {
  const setup = await pool(t)
  const { a, b, service, emit } = setup
  await a.setVariable(TRUNK_ON_A, CALL_ID, 'abc@127.0.0.1')
  await b.setVariable(INBOUND_ON_B, CALL_ID, 'abc@127.0.0.1')
  const call = syntheticCall(1, '2001')
  const start = answered(call)
  emit(a, start)
  const first = start[0] as Extract<PbxEvent, { type: 'newChannel' }>
  a.hooks.redirect = () => {
    queueMicrotask(() => emit(a, [
      { type: 'hangup', ...ref(call.agent, `${first.uniqueId}-agent`), cause: 'Normal Clearing' },
      ...customerToTrunk({ channel: call.customer, uniqueId: first.uniqueId }, call.bridgeId)
    ]))
  }
  const transfer = await service.execute({ extension: '2001', targetExtension: '401', transferType: 'blind', requestedBy: '2001' })
  t.equal(transfer.server, 'a')
  return { ...setup, id: transfer.id }
}

t.test('the target\'s server shows the call 3 s after the customer\'s: answered at its event, not before, not at a reconciliation', async (t) => {
  const { b, clock, service, emit, id } = await transferAcross(t)
  await turns(5)
  await clock.advance(3000)
  t.equal(service.getHere(id)?.status, 'redirected', 'the customer with the trunk on a, nothing on b yet: not answered')
  emit(b, inboundTo401())
  await turns(5)
  t.equal(service.getHere(id)?.status, 'answered', 'answered within a few turns of b\'s BridgeEnter, with no time passing')
  t.equal(service.getHere(id)?.channels.target, TRUNK_ON_A, 'the target leg on the customer\'s server: the trunk')
})

t.test('b shows 401 with another call (another Call-ID): never answered by that', async (t) => {
  const { b, clock, service, emit, id } = await transferAcross(t)
  await b.setVariable(INBOUND_ON_B, CALL_ID, 'another-call@127.0.0.1')
  await turns(5)
  await clock.advance(2000)
  emit(b, inboundTo401())
  await turns(5)
  await clock.advance(5000)
  t.equal(service.getHere(id)?.status, 'redirected')
})

/** Agent 2001's phone on server a transfers its customer blind to `target` (its own key): the transfer it makes, as followed. */
async function phoneTransferTo (t: Test, target: string): Promise<{ service: TransferService, id: string }> {
  const { a, service, emit } = await pool(t)
  const call = syntheticCall(2, '2001')
  emit(a, answered(call))
  emit(a, [blindTransfer(call.agent, call.customer, target)])
  const [adopted] = service.activeHere()
  t.match(adopted, { origin: 'phone', server: 'a', targetExtension: target, status: 'redirected' })
  await turns(3)
  return { service, id: adopted?.id ?? '' }
}

t.test('the agent\'s phone transfers blind to an agent of the other server: the record names that server before any answer', async (t) => {
  const { service, id } = await phoneTransferTo(t, '401')
  t.same(service.getHere(id)?.across, { server: 'b' }, 'across: b, looked up after the start, the answer not come')
  t.equal(service.getHere(id)?.status, 'redirected')
})

t.test('the phone transfers to an agent of its own server: nothing across', async (t) => {
  const { service, id } = await phoneTransferTo(t, '2002')
  t.equal(service.getHere(id)?.across, undefined)
})
