// How the service keeps track when it could not see Asterisk: reconnects (and Asterisk restarts),
// deadlines, a restart of the host app during a consultation, and destinations that answer by themselves.
import t, { type Test } from 'tap'
import type { PbxEvent } from '../../src/asterisk/ami-events.js'
import type { Call } from '../../src/domain/call.js'
import type { Transfer } from '../../src/domain/transfer.js'
import { CHANNEL_RECORD_VARIABLE, encodeChannelRecord } from '../../src/transfers/channel-record.js'
import { TransferService, type CallLookup, type TransferServiceOptions } from '../../src/transfers/transfer-service.js'
import { AGENT, CONTEXT, CUSTOMER, FakePbx, LOCAL_1, TARGET_102, TARGET_103, dialBegin, scenes, sequences, snapshotOf } from '../helpers/fake-pbx.js'

const TO_102 = { agent: AGENT, customer: CUSTOMER, target: TARGET_102 }
const TO_103 = { agent: AGENT, customer: CUSTOMER, target: TARGET_103 }

function setup (t: Test, options: Partial<TransferServiceOptions> = {}): { pbx: FakePbx, service: TransferService } {
  const pbx = new FakePbx(scenes.talking(TO_102))
  const service = new TransferService(pbx, { transferContext: CONTEXT, channelTechnology: 'PJSIP', consultationTimeoutMs: 100, ...options })
  service.start()
  t.teardown(() => service.stop())
  return { pbx, service }
}

const later = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
const blindTo102 = { extension: '101', targetExtension: '102', transferType: 'blind' as const, requestedBy: '101' }
const attendedTo103 = { extension: '101', targetExtension: '103', transferType: 'attended' as const, requestedBy: '101' }

/** AMI drops and comes back: what a restart of Asterisk, or a cut, looks like to the service. */
function reconnect (pbx: FakePbx): void {
  pbx.events.emit('connection', { ami: false, ari: true })
  pbx.events.emit('connection', { ami: true, ari: true })
}

async function settled (service: TransferService, id: string, withinMs = 2000): Promise<string | undefined> {
  const deadline = Date.now() + withinMs
  while (service.getHere(id)?.status !== undefined && ['initiated', 'redirected', 'consulting', 'target_answered'].includes(service.getHere(id)?.status as string) && Date.now() < deadline) await later(5)
  return service.getHere(id)?.status
}

t.test('Asterisk restarted during a blind transfer: failed with asterisk_restarted, no longer active', async (t) => {
  const { pbx, service } = setup(t)
  await later(5) // the service learns Asterisk's start time
  const transfer = await service.execute(blindTo102)
  t.equal(transfer.status, 'redirected')
  pbx.startedAtValue = '2024-04-01 11:00:00'
  pbx.snapshotValue = { channels: [], bridges: [] }
  reconnect(pbx)
  t.equal(await settled(service, transfer.id), 'failed')
  t.match(service.getHere(transfer.id), { failureReason: 'asterisk_restarted' })
  t.same(service.activeHere(), [])
})

/** A blind transfer in progress, then Asterisk restarted: another start time, and every call gone. */
async function blindThenRestart (t: Test): Promise<{ pbx: FakePbx, service: TransferService, id: string }> {
  const { pbx, service } = setup(t)
  await later(5) // the service learns Asterisk's start time
  const { id } = await service.execute(blindTo102)
  pbx.startedAtValue = '2024-04-01 11:00:00'
  pbx.snapshotValue = { channels: [], bridges: [] }
  return { pbx, service, id }
}

/** The first `times` calls of the PBX's `method` fail with `why`, as a PBX still starting may answer. */
function refuseFirst (pbx: FakePbx, method: 'startedAt' | 'snapshot', times: number, why: string): void {
  let refusals = times
  const original = pbx[method].bind(pbx) as () => Promise<never>
  pbx[method] = async () => {
    if (refusals-- > 0) throw new Error(why)
    return await original()
  }
}

t.test('Asterisk restarted and slow to tell its start time: still asterisk_restarted, not call_ended', async (t) => {
  const { pbx, service, id } = await blindThenRestart(t)
  const transfer = { id }
  // The first two CoreStatus after the reconnect fail, as an Asterisk still starting may answer.
  refuseFirst(pbx, 'startedAt', 2, 'Asterisk is not fully booted')
  reconnect(pbx)
  t.equal(await settled(service, transfer.id, 4000), 'failed')
  t.match(service.getHere(transfer.id), { failureReason: 'asterisk_restarted' })
})

t.test('a reconnect during a timer pass runs its own pass: a restart is not missed', async (t) => {
  const { pbx, service } = setup(t)
  await later(5)
  const transfer = await service.execute(blindTo102)
  // A timer pass whose look at the PBX (as it was before the cut) is slow to come back.
  let release: () => void = () => {}
  const slowSnapshot = new Promise<void>((resolve) => { release = resolve })
  const snapshot = pbx.snapshot.bind(pbx)
  pbx.snapshot = async () => {
    const before = await snapshot()
    pbx.snapshot = snapshot
    await slowSnapshot
    return before
  }
  const timerPass = service.reconcileAll('timer')
  pbx.startedAtValue = '2024-04-01 11:00:00'
  pbx.snapshotValue = { channels: [], bridges: [] }
  const reconnectPass = service.reconcileAll('reconnect')
  release()
  await timerPass
  await reconnectPass
  t.equal(await settled(service, transfer.id), 'failed')
  t.match(service.getHere(transfer.id), { failureReason: 'asterisk_restarted' })
})

t.test('Asterisk restarted and the reconnect pass could not look at the PBX: the next pass still says asterisk_restarted', async (t) => {
  const { pbx, service, id } = await blindThenRestart(t)
  const transfer = { id }
  // ARI is not answering yet when the reconnect pass looks: it settles nothing.
  refuseFirst(pbx, 'snapshot', 2, 'ARI is not answering yet')
  reconnect(pbx)
  await later(20)
  t.equal(service.getHere(transfer.id)?.status, 'redirected', 'the reconnect pass left it as it was')
  await service.reconcileAll('timer')
  t.equal(await settled(service, transfer.id), 'failed')
  t.match(service.getHere(transfer.id), { failureReason: 'asterisk_restarted' })
})

t.test('a cut without a restart during which the call ended: failed with call_ended', async (t) => {
  const { pbx, service } = setup(t)
  await later(5)
  const transfer = await service.execute(blindTo102)
  pbx.snapshotValue = { channels: [], bridges: [] }
  reconnect(pbx)
  t.equal(await settled(service, transfer.id), 'failed')
  t.match(service.getHere(transfer.id), { failureReason: 'call_ended' })
})

t.test('an outcome that happened while the plugin was blind is applied, as the bridges show it', async (t) => {
  const { pbx, service } = setup(t)
  pbx.hooks.attendedTransfer = async () => {
    pbx.snapshotValue = scenes.consultation(TO_103)
    void pbx.emitLater(...sequences.consultationStarts(TO_103))
  }
  const transfer = await service.execute(attendedTo103)
  t.equal(transfer.status, 'consulting')
  pbx.snapshotValue = scenes.customerWithTargetThroughLocal(TO_103)
  pbx.snapshotValue.channels = pbx.snapshotValue.channels.filter((channel) => channel.name !== AGENT)
  reconnect(pbx)
  t.equal(await settled(service, transfer.id), 'completed')
})

t.test('the reconciliation timer ends a transfer whose calls are gone, without any reconnect', async (t) => {
  const { pbx, service } = setup(t, { reconcileIntervalMs: 30 })
  const transfer = await service.execute(blindTo102)
  pbx.snapshotValue = { channels: [], bridges: [] }
  t.equal(await settled(service, transfer.id), 'failed')
  t.match(service.getHere(transfer.id), { failureReason: 'call_ended' })
})

t.test('a state outliving its deadline is checked, then ended with deadline_exceeded', async (t) => {
  const { pbx, service } = setup(t, { deadlines: { redirectedMs: 50 } })
  const transfer = await service.execute(blindTo102)
  // The customer still dials the target as far as the PBX shows: nothing settles it but the deadline.
  pbx.snapshotValue = { channels: snapshotOf([CUSTOMER]).channels, bridges: [] }
  pbx.emit(dialBegin(CUSTOMER, TARGET_102))
  t.equal(await settled(service, transfer.id), 'failed')
  t.match(service.getHere(transfer.id), { failureReason: 'deadline_exceeded' })
})

t.test('a deadline whose check finds the outcome applies it instead', async (t) => {
  const { pbx, service } = setup(t, { deadlines: { redirectedMs: 50 } })
  const transfer = await service.execute(blindTo102)
  pbx.snapshotValue = scenes.customerWithTarget(TO_102)
  t.equal(await settled(service, transfer.id), 'answered')
})

t.test('a blind transfer reaching voicemail is answered (delivered), not left to be abandoned', async (t) => {
  const { pbx, service } = setup(t)
  const transfer = await service.execute(blindTo102)
  const voicemail: PbxEvent = { type: 'newExten', channel: CUSTOMER, uniqueId: CUSTOMER, linkedId: CUSTOMER, context: CONTEXT, exten: '102', application: 'VoiceMail' }
  pbx.emit(voicemail)
  t.equal(service.getHere(transfer.id)?.status, 'answered')
})

/** A first service starts an attended transfer 101 -> 103, answered, then stops: the host app going down. */
async function consultationLeftBehind (t: Test): Promise<{ pbx: FakePbx, transfer: Transfer }> {
  const first = setup(t)
  first.pbx.hooks.attendedTransfer = async () => {
    first.pbx.snapshotValue = scenes.consultation(TO_103)
    void first.pbx.emitLater(...sequences.consultationStarts(TO_103), ...sequences.targetAnswers(TO_103))
  }
  const transfer = await first.service.execute(attendedTo103)
  await first.service.stop()
  return { pbx: first.pbx, transfer }
}

/** The restarted host app's service: the same PBX, a call monitor in sync answering from `calls`. */
function restartedService (t: Test, pbx: FakePbx, calls: CallLookup): TransferService {
  const service = new TransferService(pbx, { transferContext: CONTEXT, channelTechnology: 'PJSIP', consultationTimeoutMs: 100, calls })
  service.start()
  t.teardown(() => service.stop())
  return service
}

t.test('an attended transfer leaves its record on the agent\'s channel, and a new service finds the consultation again', async (t) => {
  const { pbx, transfer } = await consultationLeftBehind(t)
  const saved = pbx.variables.get(AGENT)?.get(CHANNEL_RECORD_VARIABLE)
  t.equal(saved, encodeChannelRecord({ ...transfer, peer: CUSTOMER }), 'the record is on the agent\'s channel')

  // The host app restarts: a new service, the same PBX, the monitor in sync with the consultation.
  const calls: Call[] = [{ extension: '101', channel: AGENT, uniqueId: AGENT, linkedId: AGENT, state: 'in_consultation', startedAt: '' }]
  const snapshot = scenes.consultation(TO_103)
  const service = restartedService(t, pbx, { inSync: true, snapshotOf: () => snapshot, snapshotAround: () => snapshot, allCalls: () => calls })
  const restored = await service.restore()
  t.equal(restored.length, 1)
  t.match(service.getHere(transfer.id), { id: transfer.id, type: 'attended', status: 'target_answered', channels: { agent: AGENT, peer: CUSTOMER, consultation: LOCAL_1 } })
  // And it can be cancelled under its id.
  pbx.hooks.cancelAttendedTransfer = async () => {
    snapshot.channels = scenes.talking(TO_103).channels
    snapshot.bridges = scenes.talking(TO_103).bridges
    void pbx.emitLater(...sequences.consultationCancelled(TO_103))
  }
  t.match(await service.cancel(transfer.id), { status: 'cancelled' })
  t.equal(await service.restore().then((found) => found.length), 0, 'found once, not twice')
})

t.test('a consultation the agent swapped away from (back with the customer) is found again by its lone held half', async (t) => {
  const { pbx, transfer } = await consultationLeftBehind(t)
  const calls: Call[] = [{ extension: '101', channel: AGENT, uniqueId: AGENT, linkedId: AGENT, state: 'up', startedAt: '' }]
  let snapshot = scenes.swappedToCustomer(TO_103)
  let asked = 0
  const getVariable = pbx.getVariable.bind(pbx)
  pbx.getVariable = async (channel, name) => { asked++; return await getVariable(channel, name) }
  const lookup: CallLookup = { inSync: true, snapshotOf: () => snapshot, snapshotAround: () => snapshot, allCalls: () => calls, snapshot: () => snapshot }
  const service = restartedService(t, pbx, lookup)
  const restored = await service.restore()
  t.equal(restored.length, 1)
  t.match(service.getHere(transfer.id), { status: 'target_answered', talkingTo: 'customer', channels: { agent: AGENT, peer: CUSTOMER, consultation: LOCAL_1, target: TARGET_103 } })
  t.equal(await service.restore().then((found) => found.length), 0, 'found once, not twice')

  // An ordinary call and no lone half: nobody's channel is even asked.
  await service.stop()
  snapshot = scenes.talking(TO_103)
  const fresh = restartedService(t, pbx, lookup)
  asked = 0
  t.same(await fresh.restore(), [])
  t.equal(asked, 0, 'no Getvar without a held consultation half')
})

t.test('a held consultation half two agents\' records could own (one left behind by an ended transfer) is not followed', async (t) => {
  const { pbx, transfer } = await consultationLeftBehind(t)
  // Agent 102 talks with another customer and still carries the record of a transfer to 103 that ended
  // while no host followed it.
  const OTHER_AGENT = 'PJSIP/102-00000040'
  const OTHER_CUSTOMER = 'PJSIP/trunk-00000041'
  pbx.variables.set(OTHER_AGENT, new Map([[CHANNEL_RECORD_VARIABLE, encodeChannelRecord({ ...transfer, id: '00000000-0000-4000-8000-000000000001', extension: '102', requestedBy: '102', peer: OTHER_CUSTOMER })]]))
  const swapped = scenes.swappedToCustomer(TO_103)
  const other = snapshotOf([OTHER_CUSTOMER, OTHER_AGENT])
  const snapshot = { channels: [...swapped.channels, ...other.channels], bridges: [...swapped.bridges, ...other.bridges.map((bridge) => ({ ...bridge, id: 'b-other' }))] }
  const calls: Call[] = [
    { extension: '101', channel: AGENT, uniqueId: AGENT, linkedId: AGENT, state: 'up', startedAt: '' },
    { extension: '102', channel: OTHER_AGENT, uniqueId: OTHER_AGENT, linkedId: OTHER_AGENT, state: 'up', startedAt: '' }
  ]
  const service = restartedService(t, pbx, { inSync: true, snapshotOf: (extension) => extension === '102' ? other : swapped, snapshotAround: () => snapshot, allCalls: () => calls, snapshot: () => snapshot })
  t.same(await service.restore(), [], 'neither: it cannot be told whose it is')
  t.equal(service.getHere(transfer.id), undefined)
})

t.test('the transfers in progress are bounded: past maxActive a new one is refused with 503, nothing sent', async (t) => {
  const { pbx, service } = setup(t, { maxActive: 1 })
  await service.execute(blindTo102)
  pbx.snapshotValue = snapshotOf([CUSTOMER, TARGET_102], ['PJSIP/trunk-00000030', 'PJSIP/101-0000002f'])
  const sent = pbx.actions().length
  await t.rejects(service.execute({ ...blindTo102, extension: '101' }), { code: 'XFER_TOO_MANY_TRANSFERS', statusCode: 503 })
  t.equal(pbx.actions().length, sent)
})
