// An outcome confirmed from the call monitor's memory: the bridge that shows it comes a moment after the
// event that reported it, and the confirmation follows that bridge's event, not a fixed delay.
import t from 'tap'
import type { PbxEvent } from '../../src/asterisk/ami-events.js'
import { CallMonitor } from '../../src/calls/call-monitor.js'
import { TransferService } from '../../src/transfers/transfer-service.js'
import { answered, redirectedTo, syntheticCall } from '../helpers/synthetic-calls.js'
import { FakePbx } from '../helpers/fake-pbx.js'

const turn = async (): Promise<void> => await new Promise((resolve) => setImmediate(resolve))

t.test('blind: answered right after the BridgeEnter that shows the customer with the target', async (t) => {
  const pbx = new FakePbx()
  pbx.dialplan.add('5001@from-internal')
  const monitor = new CallMonitor(pbx)
  await monitor.start()
  t.teardown(() => monitor.stop())
  const service = new TransferService(pbx, { transferContext: 'from-internal', channelTechnology: 'PJSIP', consultationTimeoutMs: 1000, calls: monitor })
  service.start()
  t.teardown(() => service.stop())
  const emit = (events: PbxEvent[]): void => { for (const event of events) pbx.events.emit('event', event) }

  const call = syntheticCall(1, '2001')
  emit(answered(call))
  const events = redirectedTo(call, '5001')
  const bridged = events.slice(-2)
  // Asterisk answers the Redirect; the customer dials 5001, who answers; the bridge is not there yet.
  pbx.hooks.redirect = () => { queueMicrotask(() => emit(events.slice(0, -2))) }
  const transfer = await service.execute({ extension: '2001', targetExtension: '5001', transferType: 'blind', requestedBy: '2001' })
  for (let i = 0; i < 3; i++) await turn()
  t.equal(service.get(transfer.id)?.status, 'redirected', 'the DialEnd ANSWER alone does not make it answered: the bridges do not show it yet')

  emit(bridged)
  for (let i = 0; i < 3; i++) await turn()
  t.equal(service.get(transfer.id)?.status, 'answered', 'answered within a few turns of the BridgeEnter, not after a timer')
})
