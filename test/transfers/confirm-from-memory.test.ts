// An outcome confirmed from the call monitor's memory: the bridge that shows it comes a moment after the
// event that reported it, and the confirmation follows that bridge's event, not a fixed delay.
import t, { type Test } from 'tap'
import type { PbxEvent } from '../../src/asterisk/ami-events.js'
import { CallMonitor } from '../../src/calls/call-monitor.js'
import { TransferService } from '../../src/transfers/transfer-service.js'
import { answered, redirectedTo, syntheticCall } from '../helpers/synthetic-calls.js'
import { FakePbx } from '../helpers/fake-pbx.js'

const turn = async (): Promise<void> => await new Promise((resolve) => setImmediate(resolve))

/** A started call monitor and transfer service on a fake PBX where 5001 exists; `emit` plays Asterisk's events. */
async function setUp (t: Test): Promise<{ pbx: FakePbx, service: TransferService, emit: (events: PbxEvent[]) => void }> {
  const pbx = new FakePbx()
  pbx.dialplan.add('5001@from-internal')
  const monitor = new CallMonitor(pbx)
  await monitor.start()
  t.teardown(() => monitor.stop())
  const service = new TransferService(pbx, { transferContext: 'from-internal', channelTechnology: 'PJSIP', consultationTimeoutMs: 1000, calls: monitor })
  service.start()
  t.teardown(() => service.stop())
  const emit = (events: PbxEvent[]): void => { for (const event of events) pbx.events.emit('event', event) }
  return { pbx, service, emit }
}

t.test('blind: answered right after the BridgeEnter that shows the customer with the target', async (t) => {
  const { pbx, service, emit } = await setUp(t)

  const call = syntheticCall(1, '2001')
  emit(answered(call))
  const events = redirectedTo(call, '5001')
  const bridged = events.slice(-2)
  // Asterisk answers the Redirect; the customer dials 5001, who answers; the bridge is not there yet.
  pbx.hooks.redirect = () => { queueMicrotask(() => emit(events.slice(0, -2))) }
  const transfer = await service.execute({ extension: '2001', targetExtension: '5001', transferType: 'blind', requestedBy: '2001' })
  for (let i = 0; i < 3; i++) await turn()
  t.equal(service.getHere(transfer.id)?.status, 'redirected', 'the DialEnd ANSWER alone does not make it answered: the bridges do not show it yet')

  emit(bridged)
  for (let i = 0; i < 3; i++) await turn()
  t.equal(service.getHere(transfer.id)?.status, 'answered', 'answered within a few turns of the BridgeEnter, not after a timer')
})

t.test('blind through a Local pair whose far half dialled first: answered at the BridgeEnter, told with the leg behind the pair', async (t) => {
  const { pbx, service, emit } = await setUp(t)

  const call = syntheticCall(2, '2002')
  const start = answered(call)
  emit(start)
  const ids = { near: '1764100000.901', far: '1764100000.902', leg: '1764100000.903' }
  const near = 'Local/5001@fastify-transfer-recall-00000009;1'
  const far = 'Local/5001@fastify-transfer-recall-00000009;2'
  const leg = 'PJSIP/5001-00000099'
  const ref = (channel: string, uniqueId: string): { channel: string, uniqueId: string, linkedId: string } => ({ channel, uniqueId, linkedId: ids.near })
  const first = start[0] as Extract<PbxEvent, { type: 'newChannel' }>
  const customer = { channel: call.customer, uniqueId: first.uniqueId, linkedId: first.linkedId }
  pbx.hooks.redirect = () => {
    queueMicrotask(() => emit([
      { type: 'bridgeLeave', ...customer, bridgeId: call.bridgeId, bridgeNumChannels: 1 },
      { type: 'newChannel', ...ref(near, ids.near), exten: '5001', context: 'fastify-transfer-recall', state: 'Down' },
      { type: 'newChannel', ...ref(far, ids.far), exten: '5001', context: 'fastify-transfer-recall', state: 'Ring' },
      { type: 'newChannel', ...ref(leg, ids.leg), exten: '5001', context: 'from-internal', state: 'Down' },
      // The far half's Dial first, before the customer's DialBegin names the near half.
      { type: 'dialBegin', channel: far, destChannel: leg, destUniqueId: ids.leg, destExten: '5001', dialString: '5001' },
      { type: 'dialBegin', channel: call.customer, destChannel: near, destUniqueId: ids.near, destExten: '5001', dialString: 'Local/5001@fastify-transfer-recall' },
      { type: 'newState', ...ref(leg, ids.leg), state: 'Up' },
      { type: 'dialEnd', channel: far, destChannel: leg, destUniqueId: ids.leg, dialStatus: 'ANSWER' },
      { type: 'newState', ...ref(near, ids.near), state: 'Up' },
      { type: 'dialEnd', channel: call.customer, destChannel: near, destUniqueId: ids.near, dialStatus: 'ANSWER' },
      { type: 'bridgeEnter', ...ref(leg, ids.leg), bridgeId: 'far-bridge', bridgeNumChannels: 1 },
      { type: 'bridgeEnter', ...ref(far, ids.far), bridgeId: 'far-bridge', bridgeNumChannels: 2 },
      { type: 'bridgeEnter', ...ref(near, ids.near), bridgeId: 'near-bridge', bridgeNumChannels: 1 },
      { type: 'bridgeEnter', ...customer, bridgeId: 'near-bridge', bridgeNumChannels: 2 }
    ]))
  }
  const transfer = await service.execute({ extension: '2002', targetExtension: '5001', transferType: 'blind', requestedBy: '2002' })
  for (let i = 0; i < 5; i++) await turn()
  const now = service.getHere(transfer.id)
  t.equal(now?.status, 'answered', `answered within a few turns, not at the 1.5 s deadline (${JSON.stringify(now)})`)
  t.equal(now?.channels.target, leg, 'the leg behind the Local pair, not its near half')
})
