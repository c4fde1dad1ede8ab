// The engine reads time through its clock: deadlines and the reconciliation timer at their real
// lengths (an hour, thirty seconds), driven by the test instead of waited for.
import t, { type Test } from 'tap'
import { TransferService, type TransferServiceOptions } from '../../src/transfers/transfer-service.js'
import { AGENT, CONTEXT, CUSTOMER, FakePbx, TARGET_102, dialBegin, scenes, snapshotOf } from '../helpers/fake-pbx.js'
import { ManualClock } from '../helpers/manual-clock.js'

const TO_102 = { agent: AGENT, customer: CUSTOMER, target: TARGET_102 }
const blindTo102 = { extension: '101', targetExtension: '102', transferType: 'blind' as const, requestedBy: '101' }

function setup (t: Test, options: Partial<TransferServiceOptions> = {}): { pbx: FakePbx, service: TransferService, clock: ManualClock } {
  const clock = new ManualClock()
  const pbx = new FakePbx(scenes.talking(TO_102))
  const service = new TransferService(pbx, { transferContext: CONTEXT, channelTechnology: 'PJSIP', consultationTimeoutMs: 100, clock, ...options })
  service.start()
  t.teardown(() => service.stop())
  return { pbx, service, clock }
}

t.test('a blind transfer on its way is ended exactly when its redirected deadline (1 h by default) passes', async (t) => {
  const { pbx, service, clock } = setup(t)
  const transfer = await service.execute(blindTo102)
  t.equal(transfer.createdAt, new Date(clock.now()).toISOString(), 'created at the clock\'s time')
  // The customer still dials the target as far as the PBX shows: nothing settles it but the deadline.
  pbx.snapshotValue = { channels: snapshotOf([CUSTOMER]).channels, bridges: [] }
  pbx.emit(dialBegin(CUSTOMER, TARGET_102))
  await clock.advance(3_600_000 - 1)
  t.equal(service.getHere(transfer.id)?.status, 'redirected', 'one millisecond before the deadline')
  await clock.advance(1)
  t.match(service.getHere(transfer.id), { status: 'failed', failureReason: 'deadline_exceeded', updatedAt: new Date(clock.now()).toISOString() })
})

t.test('the reconciliation timer checks at its interval, not before', async (t) => {
  const { pbx, service, clock } = setup(t, { reconcileIntervalMs: 30_000 })
  const transfer = await service.execute(blindTo102)
  pbx.snapshotValue = { channels: [], bridges: [] }
  await clock.advance(29_999)
  t.equal(service.getHere(transfer.id)?.status, 'redirected')
  await clock.advance(1)
  t.match(service.getHere(transfer.id), { status: 'failed', failureReason: 'call_ended' })
})
