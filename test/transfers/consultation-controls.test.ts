import t, { type Test } from 'tap'
import type { PbxEvent } from '../../src/asterisk/ami-events.js'
import type { Transfer } from '../../src/domain/transfer.js'
import { controlSettled, usableDigits } from '../../src/transfers/consultation-controls.js'
import { TRANSFER_EVENTS, type TransferEventName } from '../../src/transfers/transfer-events.js'
import { TransferService } from '../../src/transfers/transfer-service.js'
import { AGENT, CONTEXT, CUSTOMER, FakePbx, LOCAL_1, TARGET_103, attendedTransfer, hangup, hold, scenes, sequences, unhold } from '../helpers/fake-pbx.js'

const TO_103 = { agent: AGENT, customer: CUSTOMER, target: TARGET_103 }

t.test('usable feature digits: DTMF digits only, as many as Asterisk keeps', async (t) => {
  t.equal(usableDigits('*4'), '*4')
  t.equal(usableDigits(' #9 '), '#9', 'surrounding blanks are not digits')
  t.equal(usableDigits('A1D'), 'A1D')
  for (const bad of ['', '   ', '*4,', 'x', '*4 1', '12345678901']) t.equal(usableDigits(bad), undefined, JSON.stringify(bad))
})

t.test('a swap or three-way asked through the API is settled once the transfer shows it, or left the consultation', async (t) => {
  const before = { status: 'target_answered', talkingTo: 'target' } as Transfer
  const as = (fields: Partial<Transfer>): Transfer => ({ ...before, ...fields })
  t.notOk(controlSettled('swap', before, before))
  t.ok(controlSettled('swap', before, as({ talkingTo: 'customer' })))
  t.ok(controlSettled('swap', before, as({ status: 'failed' })), 'the target hung up meanwhile')
  t.notOk(controlSettled('three_way', before, as({ talkingTo: 'customer' })), 'a swap is not the three-way asked for')
  t.ok(controlSettled('three_way', before, as({ status: 'three_way', talkingTo: 'both' })))
  t.ok(controlSettled('three_way', before, as({ status: 'abandoned' })))
})

/** The service with 101's call in consultation with 103 (answered), Asterisk's default feature digits on 101's channel. */
async function inConsultation (t: Test): Promise<{ pbx: FakePbx, service: TransferService, transfer: Transfer, published: string[] }> {
  const pbx = new FakePbx(scenes.talking(TO_103))
  const service = new TransferService(pbx, { transferContext: CONTEXT, channelTechnology: 'PJSIP', consultationTimeoutMs: 100, settleTimeoutMs: 1000 })
  const published: string[] = []
  for (const name of TRANSFER_EVENTS) service.events.on(name, (transfer) => { published.push(`${name as TransferEventName} ${transfer.status} ${transfer.talkingTo ?? '-'}`) })
  service.start()
  t.teardown(() => service.stop())
  pbx.hooks.attendedTransfer = async () => {
    pbx.snapshotValue = scenes.consultation(TO_103)
    void pbx.emitLater(...sequences.consultationStarts(TO_103), ...sequences.targetAnswers(TO_103))
  }
  const { id } = await service.execute({ extension: '101', targetExtension: '103', transferType: 'attended', requestedBy: '101' })
  while (service.getHere(id)?.status !== 'target_answered') await new Promise((resolve) => setTimeout(resolve, 5))
  await pbx.setVariable(AGENT, 'FEATURE(atxferswap)', '*4')
  await pbx.setVariable(AGENT, 'FEATURE(atxferthreeway)', '*3')
  await pbx.setVariable(AGENT, 'FEATURE(atxfercomplete)', '*2')
  return { pbx, service, transfer: service.getHere(id) as Transfer, published }
}

/** What Asterisk does when the digits are pressed: `scene` on the bridges, then `events`. */
function onDigits (pbx: FakePbx, scene: () => ReturnType<typeof scenes.talking>, ...events: PbxEvent[]): void {
  pbx.hooks.pressDigits = () => {
    pbx.snapshotValue = scene()
    void pbx.emitLater(...events)
  }
}

const pressed = (pbx: FakePbx): unknown[] => pbx.actions().filter((action) => action.method === 'pressDigits').map((action) => action.args)

t.test('swap: the atxferswap digits read on the agent\'s channel are pressed; answered once the bridges show the agent with the customer, and back', async (t) => {
  const { pbx, service, transfer, published } = await inConsultation(t)
  t.equal(transfer.talkingTo, 'target')
  onDigits(pbx, () => scenes.swappedToCustomer(TO_103), hold(AGENT), unhold(AGENT))
  t.match(await service.swap(transfer.id), { status: 'target_answered', talkingTo: 'customer' })
  onDigits(pbx, () => scenes.consultation(TO_103), hold(AGENT), unhold(AGENT))
  t.match(await service.swap(transfer.id), { status: 'target_answered', talkingTo: 'target' })
  t.same(pressed(pbx), [[AGENT, '*4'], [AGENT, '*4']])
  t.same(published.slice(-2), ['call:transfer_swapped target_answered customer', 'call:transfer_swapped target_answered target'])
})

t.test('swap with no usable digits: 409 XFER_FEATURE_NOT_CONFIGURED naming features.conf, nothing pressed', async (t) => {
  const { pbx, service, transfer } = await inConsultation(t)
  await pbx.setVariable(AGENT, 'FEATURE(atxferswap)', '')
  await t.rejects(service.swap(transfer.id), { code: 'XFER_FEATURE_NOT_CONFIGURED', statusCode: 409, message: /atxferswap.*features\.conf \[general\].*atxferswap => \*4/ })
  t.same(pressed(pbx), [])
  t.match(service.getHere(transfer.id), { status: 'target_answered', talkingTo: 'target' })
  onDigits(pbx, () => scenes.swappedToCustomer(TO_103), hold(AGENT), unhold(AGENT))
  await pbx.setVariable(AGENT, 'FEATURE(atxferswap)', '*4')
  t.equal((await service.swap(transfer.id)).talkingTo, 'customer', 'nothing left behind: the next swap works')
})

t.test('swap or three-way before the target answered, or twice at once: 409, nothing pressed', async (t) => {
  const { pbx, service, transfer } = await inConsultation(t)
  onDigits(pbx, () => scenes.swappedToCustomer(TO_103), hold(AGENT), unhold(AGENT))
  const first = service.swap(transfer.id)
  await t.rejects(service.threeWay(transfer.id), { code: 'XFER_TRANSFER_STATE', message: /already being/ })
  await first
  t.equal(pressed(pbx).length, 1)
  // Swapped to the customer: hanging the agent up would take the customer's call down with it, so the
  // complete presses Asterisk's own complete digits instead.
  pbx.hooks.pressDigits = () => { pbx.snapshotValue = scenes.customerWithTargetThroughLocal(TO_103); pbx.emit(...sequences.agentLeaves(TO_103)) }
  t.equal((await service.complete(transfer.id)).status, 'completed')
  t.same(pressed(pbx).at(-1), [AGENT, '*2'], 'atxfercomplete pressed for the agent')
  t.notOk(pbx.actions().some((action) => action.method === 'hangup'), 'the agent is not hung up')
  await t.rejects(service.swap(transfer.id), { code: 'XFER_TRANSFER_STATE' })
  await t.rejects(service.threeWay(transfer.id), { code: 'XFER_TRANSFER_STATE' })
  t.equal(pressed(pbx).length, 2)
})

t.test('the agent\'s phone holding and resuming (no swap on the bridges) changes nothing; an Unhold alone is still an abort', async (t) => {
  const { pbx, service, transfer, published } = await inConsultation(t)
  pbx.emit(hold(AGENT), unhold(AGENT))
  await new Promise((resolve) => setTimeout(resolve, 1700))
  t.match(service.getHere(transfer.id), { status: 'target_answered', talkingTo: 'target' })
  t.notOk(published.some((step) => step.startsWith('call:transfer_swapped')))
  pbx.snapshotValue = scenes.talking(TO_103)
  pbx.emit(unhold(AGENT))
  while (service.getHere(transfer.id)?.status === 'target_answered') await new Promise((resolve) => setTimeout(resolve, 5))
  t.equal(service.getHere(transfer.id)?.status, 'cancelled')
})

t.test('swapped to the customer: the target hanging up fails the transfer; a cancel there is a cancel', async (t) => {
  t.test('the target hangs up', async (t) => {
    const { pbx, service, transfer } = await inConsultation(t)
    onDigits(pbx, () => scenes.swappedToCustomer(TO_103), hold(AGENT), unhold(AGENT))
    await service.swap(transfer.id)
    pbx.snapshotValue = scenes.talking(TO_103)
    pbx.emit(hangup(TARGET_103))
    while (service.getHere(transfer.id)?.status === 'target_answered') await new Promise((resolve) => setTimeout(resolve, 5))
    t.match(service.getHere(transfer.id), { status: 'failed', failureReason: 'target_hung_up' })
  })
  t.test('cancel: CancelAtxfer, and Asterisk hangs the target up (no Unhold: the agent is with the customer already)', async (t) => {
    const { pbx, service, transfer } = await inConsultation(t)
    onDigits(pbx, () => scenes.swappedToCustomer(TO_103), hold(AGENT), unhold(AGENT))
    await service.swap(transfer.id)
    pbx.hooks.cancelAttendedTransfer = () => { pbx.snapshotValue = scenes.talking(TO_103); void pbx.emitLater(hangup(LOCAL_1), hangup(TARGET_103)) }
    t.match(await service.cancel(transfer.id), { status: 'cancelled' })
    t.same(pbx.actions().at(-1), { method: 'cancelAttendedTransfer', args: [AGENT] })
  })
})

const threeWayEvents = (): PbxEvent[] => [attendedTransfer(AGENT, CUSTOMER, LOCAL_1, 'Success', 'Threeway'), hangup(LOCAL_1)]

t.test('three-way: the atxferthreeway digits are pressed; answered once customer, agent and target share a bridge', async (t) => {
  const { pbx, service, transfer, published } = await inConsultation(t)
  onDigits(pbx, () => scenes.threeWay(TO_103), ...threeWayEvents())
  t.match(await service.threeWay(transfer.id), { status: 'three_way', talkingTo: 'both' })
  t.same(pressed(pbx), [[AGENT, '*3']])
  t.equal(published.at(-1), 'call:transfer_three_way three_way both')
  await t.rejects(service.swap(transfer.id), { code: 'XFER_TRANSFER_STATE' }, 'Asterisk\'s attended transfer is over: no swap')
})

t.test('from a three-way, complete hangs the agent up: the customer stays with the target', async (t) => {
  const { pbx, service, transfer, published } = await inConsultation(t)
  onDigits(pbx, () => scenes.threeWay(TO_103), ...threeWayEvents())
  await service.threeWay(transfer.id)
  pbx.hooks.hangup = () => { pbx.snapshotValue = scenes.customerWithTarget(TO_103); void pbx.emitLater(hangup(AGENT)) }
  t.match(await service.complete(transfer.id), { status: 'completed' })
  t.same(pbx.actions().at(-1), { method: 'hangup', args: [AGENT] })
  t.equal(published.at(-1), 'call:ami_attended_transfer_completed completed -')
})

t.test('from a three-way, cancel hangs the target up: the customer stays with the agent', async (t) => {
  const { pbx, service, transfer } = await inConsultation(t)
  onDigits(pbx, () => scenes.threeWay(TO_103), ...threeWayEvents())
  await service.threeWay(transfer.id)
  pbx.hooks.hangup = () => { pbx.snapshotValue = scenes.talking(TO_103); void pbx.emitLater(hangup(TARGET_103)) }
  t.match(await service.cancel(transfer.id), { status: 'cancelled' })
  t.same(pbx.actions().at(-1), { method: 'hangup', args: [TARGET_103] })
  t.equal(pbx.count('cancelAttendedTransfer'), 0, 'no CancelAtxfer: there is no attended transfer left to cancel')
})

t.test('in a three-way, the customer hanging up abandons the transfer', async (t) => {
  const { pbx, service, transfer } = await inConsultation(t)
  onDigits(pbx, () => scenes.threeWay(TO_103), ...threeWayEvents())
  await service.threeWay(transfer.id)
  pbx.emit(hangup(CUSTOMER))
  t.equal(service.getHere(transfer.id)?.status, 'abandoned')
})
