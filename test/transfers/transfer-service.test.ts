import t, { type Test } from 'tap'
import { AgentDirectory } from '../../src/agents/agent-directory.js'
import type { PbxEvent } from '../../src/asterisk/ami-events.js'
import { silentLogger } from '../../src/support/logger.js'
import type { CallSnapshot } from '../../src/asterisk/pbx.js'
import { AsteriskRefusedError, AsteriskTimeoutError, ChannelGoneError } from '../../src/errors.js'
import { EVENT_FOR_STATE, type TransferEventName } from '../../src/transfers/transfer-events.js'
import { TransferPolicy } from '../../src/transfers/transfer-policy.js'
import { recallEntry } from '../../src/transfers/recall-dialplan.js'
import { TransferService, type TransferRequest, type TransferServiceOptions } from '../../src/transfers/transfer-service.js'
import { AGENT, CONTEXT, CUSTOMER, FakePbx, LOCAL_1, LOCAL_2, TARGET_102, TARGET_103, attendedTransfer, blindTransfer, channel, dialBegin, dialEnd, hangup, hold, newLocal, scenes, sequences, snapshotOf, unhold } from '../helpers/fake-pbx.js'
import type { TransferStatus, Transfer } from '../../src/domain/transfer.js'

const TO_102 = { agent: AGENT, customer: CUSTOMER, target: TARGET_102 }
const TO_103 = { agent: AGENT, customer: CUSTOMER, target: TARGET_103 }

const talking = (): CallSnapshot => scenes.talking(TO_102)
const customerWith102 = (): CallSnapshot => scenes.customerWithTarget(TO_102)
const consultation = (): CallSnapshot => scenes.consultation(TO_103)
const customerWith103 = (): CallSnapshot => scenes.customerWithTargetThroughLocal(TO_103)

const customerDials102 = (status: string): PbxEvent[] => sequences.redirected(TO_102, status)
const consultationStarts = (): PbxEvent[] => sequences.consultationStarts(TO_103)
const targetAnswers = (): PbxEvent[] => sequences.targetAnswers(TO_103)
const agentLeaves = (): PbxEvent[] => sequences.agentLeaves(TO_103)
const consultationCancelled = (): PbxEvent[] => sequences.consultationCancelled(TO_103)
const customerHangsUpWhile103Rings = (): PbxEvent[] => sequences.customerHangsUpWhileTargetRings(TO_103)
const agentLeavesWhile103Rings = (): PbxEvent[] => sequences.agentLeavesWhileTargetRings(TO_103)

interface Setup {
  pbx: FakePbx
  service: TransferService
  /** Every transfer event published, in order. */
  published: Array<{ name: TransferEventName, transfer: Transfer }>
}

function setup (t: Test, options: Partial<TransferServiceOptions> = {}): Setup {
  const pbx = new FakePbx(talking())
  const service = new TransferService(pbx, { transferContext: CONTEXT, channelTechnology: 'PJSIP', consultationTimeoutMs: 100, ...options })
  const published: Setup['published'] = []
  for (const name of new Set(Object.values(EVENT_FOR_STATE))) {
    service.events.on(name, (transfer) => { published.push({ name, transfer }) })
  }
  service.start()
  t.teardown(() => service.stop())
  return { pbx, service, published }
}

/** Agent 101 asks for its call to go to 102, blind, unless told otherwise. */
const request = (overrides: Partial<TransferRequest> = {}): TransferRequest =>
  ({ extension: '101', targetExtension: '102', transferType: 'blind', requestedBy: '101', ...overrides })
const attendedTo103 = (): TransferRequest => request({ targetExtension: '103', transferType: 'attended' })

const later = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
const failure = async (promise: Promise<unknown>): Promise<unknown> => await promise.then(() => undefined, (error: unknown) => error)

/** The transfer once it reaches `status`, or as it is after `withinMs`. */
async function reaches (service: TransferService, id: string, status: TransferStatus, withinMs = 3000): Promise<Transfer | undefined> {
  const deadline = Date.now() + withinMs
  while (service.getHere(id)?.status !== status && Date.now() < deadline) await later(5)
  return service.getHere(id)
}

/** Each event published, as `name status`. */
const steps = (published: Setup['published']): string[] => published.map(({ name, transfer }) => `${name} ${transfer.status}`)

/** The flow published exactly these steps, and only the service's own listener is left on the PBX. */
function publishedFlow (t: Test, { pbx, published }: Setup, expected: string[]): void {
  t.same(steps(published), expected)
  t.equal(pbx.events.listenerCount('event'), 1, 'no listener left behind')
}

const INITIATED = 'call:transfer_initiated initiated'
const REDIRECTED = 'call:ami_transfer_complete redirected'
const CONSULTING = 'call:ami_attended_transfer_started consulting'
const TARGET_ANSWERED = 'call:transfer_updated target_answered'

/** An attended transfer from 101 to 103, in consultation (with 103 answered unless told). */
async function inConsultation (t: Test, { answered = true, ...options }: Partial<TransferServiceOptions> & { answered?: boolean } = {}): Promise<Setup & { transfer: Transfer }> {
  const context = setup(t, options)
  const { pbx, service } = context
  pbx.hooks.attendedTransfer = async () => {
    pbx.snapshotValue = consultation()
    void pbx.emitLater(...consultationStarts(), ...(answered ? targetAnswers() : []))
  }
  const transfer = await service.execute(attendedTo103())
  return { ...context, transfer }
}

t.test('refusals before any PBX action', async (t) => {
  t.test('same extension as target: XFER_TARGET_IS_SOURCE, the PBX is not even asked', async (t) => {
    const { pbx, service, published } = setup(t)
    await t.rejects(service.execute(request({ targetExtension: '101' })), { code: 'XFER_TARGET_IS_SOURCE', statusCode: 422 })
    t.same(pbx.calls, [])
    t.same(published, [])
  })

  t.test('no channel for the extension: XFER_NO_ACTIVE_CHANNEL', async (t) => {
    const { pbx, service, published } = setup(t)
    pbx.snapshotValue = { channels: [], bridges: [] }
    await t.rejects(service.execute(request()), { code: 'XFER_NO_ACTIVE_CHANNEL', statusCode: 404, message: /101/ })
    t.same(pbx.actions(), [])
    t.same(published, [])
  })

  t.test('a missing call is reported before a missing target', async (t) => {
    const { pbx, service } = setup(t)
    pbx.snapshotValue = { channels: [], bridges: [] }
    await t.rejects(service.execute(request({ targetExtension: '999' })), { code: 'XFER_NO_ACTIVE_CHANNEL' })
  })

  t.test('a failing target lookup does not hide the missing call', async (t) => {
    const { pbx, service } = setup(t)
    pbx.snapshotValue = { channels: [], bridges: [] }
    pbx.extensionExists = async () => { throw new Error('AMI down') }
    await t.rejects(service.execute(request()), { code: 'XFER_NO_ACTIVE_CHANNEL' })
  })

  t.test('channel not bridged: XFER_CALL_NOT_BRIDGED with the reason', async (t) => {
    const { pbx, service, published } = setup(t)
    pbx.snapshotValue = { channels: [channel('a1', AGENT, 'Ringing')], bridges: [] }
    await t.rejects(service.execute(request()), { code: 'XFER_CALL_NOT_BRIDGED', statusCode: 409, message: /not bridged/ })
    t.same(pbx.actions(), [])
    t.same(published, [])
  })

  t.test('unknown target: XFER_UNKNOWN_TARGET, looked up in the transfer context, no redirect nor atxfer', async (t) => {
    for (const transferType of ['blind', 'attended'] as const) {
      const { pbx, service, published } = setup(t)
      await t.rejects(service.execute(request({ targetExtension: '999', transferType })), { code: 'XFER_UNKNOWN_TARGET', statusCode: 422, message: /999.*from-internal/ })
      t.same(pbx.calls.filter((call) => call.method === 'extensionExists'), [{ method: 'extensionExists', args: [CONTEXT, '999'] }])
      t.same(pbx.actions(), [], transferType)
      t.same(published, [])
    }
  })
})

t.test('getChannelForExtension names the agent channel, the peer and the bridge', async (t) => {
  const { service } = setup(t)
  t.same(await service.getChannelForExtension('101'), { agentChannel: AGENT, peerChannel: CUSTOMER, bridgeId: 'b1' })
  await t.rejects(service.getChannelForExtension('102'), { code: 'XFER_NO_ACTIVE_CHANNEL' })
})

t.test('blind transfer', async (t) => {
  t.test('redirects the customer and returns redirected; 102 answers and the PBX shows it: answered', async (t) => {
    const context = setup(t)
    const { pbx, service } = context
    pbx.hooks.redirect = async () => {
      pbx.snapshotValue = customerWith102()
      void pbx.emitLater(...customerDials102('ANSWER'))
    }
    const transfer = await service.execute(request({ requestedBy: '200' }))
    t.same(pbx.actions(), [{ method: 'redirect', args: [CUSTOMER, '102', CONTEXT] }])
    t.match(transfer, { type: 'blind', status: 'redirected', origin: 'plugin', extension: '101', targetExtension: '102', requestedBy: '200', channels: { agent: AGENT, peer: CUSTOMER } })
    t.match(transfer.id, /^[0-9a-f-]{36}$/)
    t.equal(new Date(transfer.createdAt).toISOString(), transfer.createdAt)
    t.match(await reaches(service, transfer.id, 'answered'), { status: 'answered', channels: { target: TARGET_102 } })
    publishedFlow(t, context, [INITIATED, REDIRECTED, 'call:transfer_updated answered'])
  })

  t.test('the PBX shows the customer with 102 only at the third look: answered then, no more looks', async (t) => {
    const { pbx, service } = setup(t)
    let lookupsBefore = 0
    pbx.hooks.redirect = async () => {
      lookupsBefore = pbx.count('snapshot')
      pbx.snapshotQueue = [talking(), talking()]
      pbx.snapshotValue = customerWith102()
      void pbx.emitLater(...customerDials102('ANSWER'))
    }
    const { id } = await service.execute(request())
    t.equal((await reaches(service, id, 'answered'))?.status, 'answered')
    t.equal(pbx.count('snapshot') - lookupsBefore, 3, 'three looks to confirm')
  })

  t.test('the PBX never shows the customer with 102: answered anyway after the retries (Asterisk is trusted)', async (t) => {
    const context = setup(t)
    const { pbx, service } = context
    pbx.hooks.redirect = async () => { void pbx.emitLater(...customerDials102('ANSWER')) }
    const { id } = await service.execute(request())
    t.equal(service.getHere(id)?.status, 'redirected')
    t.equal((await reaches(service, id, 'answered', 5000))?.status, 'answered')
    t.ok(pbx.count('snapshot') > 2, 'looked more than once')
    publishedFlow(t, context, [INITIATED, REDIRECTED, 'call:transfer_updated answered'])
  })

  t.test('102 busy: failed with target_busy', async (t) => {
    const context = setup(t)
    const { pbx, service } = context
    const { id } = await service.execute(request())
    pbx.emit(...customerDials102('BUSY'))
    t.match(service.getHere(id), { status: 'failed', failureReason: 'target_busy', channels: { target: TARGET_102 } })
    publishedFlow(t, context, [INITIATED, REDIRECTED, 'call:ami_transfer_failed failed'])
  })

  t.test('the customer hangs up while 102 rings: abandoned', async (t) => {
    const context = setup(t)
    const { pbx, service } = context
    const { id } = await service.execute(request())
    pbx.emit(dialBegin(CUSTOMER, TARGET_102), hangup(CUSTOMER))
    t.equal(service.getHere(id)?.status, 'abandoned')
    publishedFlow(t, context, [INITIATED, REDIRECTED, 'call:transfer_updated abandoned'])
  })

  t.test('to a queue: a member not answering fails nothing, the member who answers is the target', async (t) => {
    const sales = { kind: 'queue', context: 'queues', exten: '500' } as const
    const policy = new TransferPolicy(new AgentDirectory([], new FakePbx(), 'PJSIP'), { destinations: { sales }, transferContext: CONTEXT, allowFreeDialing: false }, undefined, silentLogger)
    const { pbx, service } = setup(t, { policy })
    pbx.dialplan.add('500@queues')
    const transfer = await service.execute(request({ targetExtension: 'sales' }))
    t.match(transfer, { status: 'redirected', destination: 'sales' })
    t.same(pbx.actions(), [{ method: 'redirect', args: [CUSTOMER, '500', 'queues'] }])
    pbx.emit(dialBegin(CUSTOMER, TARGET_102), dialBegin(CUSTOMER, TARGET_103), dialEnd(CUSTOMER, TARGET_102, 'NOANSWER'))
    t.equal(service.getHere(transfer.id)?.status, 'redirected')
    pbx.snapshotValue = snapshotOf([CUSTOMER, TARGET_103])
    pbx.emit(dialEnd(CUSTOMER, TARGET_103, 'ANSWER'))
    t.match(await reaches(service, transfer.id, 'answered'), { status: 'answered', channels: { target: TARGET_103 } })
  })

  t.test('events emitted while the Redirect is in flight are not lost', async (t) => {
    const context = setup(t)
    const { pbx, service } = context
    pbx.hooks.redirect = () => { pbx.emit(...customerDials102('BUSY')) }
    const transfer = await service.execute(request())
    t.equal(transfer.status, 'redirected', 'the answer to the request')
    t.match(service.getHere(transfer.id), { status: 'failed', failureReason: 'target_busy' })
    publishedFlow(t, context, [INITIATED, REDIRECTED, 'call:ami_transfer_failed failed'])
  })

  t.test('an answer emitted while the Redirect is in flight is confirmed too', async (t) => {
    const { pbx, service } = setup(t)
    pbx.hooks.redirect = () => {
      pbx.snapshotValue = customerWith102()
      pbx.emit(...customerDials102('ANSWER'))
    }
    const { id } = await service.execute(request())
    t.equal((await reaches(service, id, 'answered'))?.status, 'answered')
  })

  t.test('initiated is published before the redirect is sent', async (t) => {
    const { pbx, service, published } = setup(t)
    let seenAtRedirect: string[] = []
    pbx.hooks.redirect = () => { seenAtRedirect = steps(published) }
    await service.execute(request())
    t.same(seenAtRedirect, [INITIATED])
  })

  t.test('a failing redirect publishes the failure with its code and rethrows the same error', async (t) => {
    const context = setup(t)
    const { pbx, service, published } = context
    const gone = new ChannelGoneError(CUSTOMER)
    pbx.hooks.redirect = () => { throw gone }
    t.equal(await failure(service.execute(request())), gone)
    publishedFlow(t, context, [INITIATED, 'call:ami_transfer_failed failed'])
    t.match(published[1]?.transfer, { failureReason: 'asterisk_refused', error: { code: 'XFER_CHANNEL_GONE', message: gone.message } })
  })

  t.test('an error without a code is published as XFER_INTERNAL', async (t) => {
    const { pbx, service, published } = setup(t)
    pbx.hooks.redirect = () => { throw new Error('boom') }
    await t.rejects(service.execute(request()), { message: 'boom' })
    t.match(published[1]?.transfer, { error: { code: 'XFER_INTERNAL', message: 'boom' } })
  })

  t.test('an action timeout fails the transfer with timed_out', async (t) => {
    const { pbx, service, published } = setup(t)
    pbx.hooks.redirect = () => { throw new AsteriskTimeoutError('Redirect', 5000) }
    await t.rejects(service.execute(request()), { code: 'XFER_ASTERISK_TIMEOUT' })
    t.match(published[1]?.transfer, { status: 'failed', failureReason: 'timed_out' })
  })
})

t.test('attended transfer: starting the consultation', async (t) => {
  t.test('Hold and the Local dial after Atxfer answered: consulting, with the consultation channel', async (t) => {
    const context = await inConsultation(t, { answered: false })
    const { pbx, transfer } = context
    t.same(pbx.actions(), [{ method: 'attendedTransfer', args: [AGENT, '103', CONTEXT] }])
    t.match(transfer, { type: 'attended', status: 'consulting', channels: { agent: AGENT, peer: CUSTOMER, consultation: LOCAL_1 } })
    t.match(context.service.getHere(transfer.id)?.channels, { target: TARGET_103 }, 'the dial of Local;2 named the target leg')
    publishedFlow(t, context, [INITIATED, CONSULTING])
  })

  t.test('103 answers (DialEnd ANSWER from Local;2): target_answered', async (t) => {
    const context = await inConsultation(t, { answered: false })
    context.pbx.emit(...targetAnswers())
    t.equal(context.service.getHere(context.transfer.id)?.status, 'target_answered')
    publishedFlow(t, context, [INITIATED, CONSULTING, TARGET_ANSWERED])
  })

  t.test('events emitted synchronously inside attendedTransfer, before it resolves, are not missed', async (t) => {
    const context = setup(t)
    const { pbx, service } = context
    pbx.hooks.attendedTransfer = () => { pbx.emit(...consultationStarts(), ...targetAnswers()) }
    const transfer = await service.execute(attendedTo103())
    t.match(transfer, { status: 'consulting', channels: { consultation: LOCAL_1 } })
    t.equal(service.getHere(transfer.id)?.status, 'target_answered')
    publishedFlow(t, context, [INITIATED, CONSULTING, TARGET_ANSWERED])
  })

  t.test('events before Atxfer resolves, with Atxfer still slow to answer: waits for the answer', async (t) => {
    const { pbx, service } = setup(t)
    let answered = false
    pbx.hooks.attendedTransfer = async () => {
      pbx.emit(...consultationStarts())
      await later(20)
      answered = true
    }
    const result = await service.execute(attendedTo103())
    t.equal(answered, true)
    t.equal(result.status, 'consulting')
  })

  t.test('no events within consultationTimeoutMs: XFER_CONSULTATION_NOT_STARTED saying what was missing', async (t) => {
    const context = setup(t, { consultationTimeoutMs: 100 })
    const started = Date.now()
    await t.rejects(context.service.execute(attendedTo103()), {
      code: 'XFER_CONSULTATION_NOT_STARTED',
      message: /no Hold and no dial to the target seen/
    })
    t.ok(Date.now() - started >= 90, 'waited for the timeout')
    publishedFlow(t, context, [INITIATED, 'call:ami_transfer_failed failed'])
    t.match(context.published[1]?.transfer, { error: { code: 'XFER_CONSULTATION_NOT_STARTED' } })
  })

  t.test('Hold without a dial, or a dial without a Hold: the message says what is missing', async (t) => {
    const cases: Array<[PbxEvent, RegExp]> = [[hold(AGENT), /\(no dial to the target seen\)/], [newLocal('103'), /\(no Hold seen\)/]]
    for (const [event, message] of cases) {
      const { pbx, service } = setup(t)
      pbx.hooks.attendedTransfer = () => { pbx.emit(event) }
      await t.rejects(service.execute(attendedTo103()), { code: 'XFER_CONSULTATION_NOT_STARTED', message })
    }
  })

  t.test('events of unrelated channels do not start the consultation', async (t) => {
    const { pbx, service } = setup(t)
    pbx.hooks.attendedTransfer = () => { pbx.emit(hold('PJSIP/102-00000030'), newLocal('104')) }
    await t.rejects(service.execute(attendedTo103()), { code: 'XFER_CONSULTATION_NOT_STARTED' })
  })

  t.test('agent hangup during the wait fails at once, well before the timeout', async (t) => {
    const context = setup(t, { consultationTimeoutMs: 5000 })
    const { pbx, service } = context
    pbx.hooks.attendedTransfer = () => {
      pbx.emit(hold(AGENT))
      setTimeout(() => pbx.emit(hangup(AGENT)), 10)
    }
    const started = Date.now()
    await t.rejects(service.execute(attendedTo103()), { code: 'XFER_CONSULTATION_NOT_STARTED', message: /PJSIP\/101-0000002a hung up/ })
    t.ok(Date.now() - started < 1000, `settled after ${Date.now() - started} ms`)
    publishedFlow(t, context, [INITIATED, 'call:ami_transfer_failed failed'])
  })

  t.test('peer hangup before Atxfer even answered fails too', async (t) => {
    const { pbx, service } = setup(t, { consultationTimeoutMs: 5000 })
    pbx.hooks.attendedTransfer = () => { pbx.emit(hangup(CUSTOMER)) }
    const started = Date.now()
    await t.rejects(service.execute(attendedTo103()), { code: 'XFER_CONSULTATION_NOT_STARTED', message: /hung up/ })
    t.ok(Date.now() - started < 1000)
  })

  t.test('Atxfer refused: failed with asterisk_refused and the error, rethrown, nothing keeps waiting', async (t) => {
    const context = setup(t, { consultationTimeoutMs: 5000 })
    const { pbx, service, published } = context
    const refused = new AsteriskRefusedError('Atxfer', 'No such channel')
    pbx.hooks.attendedTransfer = () => { throw refused }
    const started = Date.now()
    t.equal(await failure(service.execute(attendedTo103())), refused)
    t.ok(Date.now() - started < 1000, 'does not wait for the consultation timeout')
    publishedFlow(t, context, [INITIATED, 'call:ami_transfer_failed failed'])
    t.match(published[1]?.transfer, { failureReason: 'asterisk_refused', error: { code: 'XFER_ASTERISK_REFUSED', message: refused.message } })
  })
})

t.test('attended transfer: completing, cancelling, failing', async (t) => {
  t.test('complete() hangs the agent up and resolves completed once the PBX shows the customer with 103', async (t) => {
    const context = await inConsultation(t)
    const { pbx, service, transfer } = context
    pbx.hooks.hangup = () => {
      pbx.snapshotValue = customerWith103()
      pbx.emit(...agentLeaves())
    }
    const completed = await service.complete(transfer.id)
    t.same(pbx.actions().at(-1), { method: 'hangup', args: [AGENT] })
    t.match(completed, { id: transfer.id, status: 'completed', channels: { target: TARGET_103 } })
    publishedFlow(t, context, [INITIATED, CONSULTING, TARGET_ANSWERED, 'call:ami_attended_transfer_completed completed'])
    t.same(service.activeHere(), [])
  })

  t.test('cancel() sends CancelAtxfer for the agent and resolves cancelled on the agent\'s Unhold', async (t) => {
    const context = await inConsultation(t)
    const { pbx, service, transfer } = context
    pbx.hooks.cancelAttendedTransfer = () => {
      pbx.snapshotValue = talking()
      void pbx.emitLater(...consultationCancelled())
    }
    const cancelled = await service.cancel(transfer.id)
    t.same(pbx.actions().at(-1), { method: 'cancelAttendedTransfer', args: [AGENT] })
    t.equal(cancelled.status, 'cancelled')
    await later(10)
    publishedFlow(t, context, [INITIATED, CONSULTING, TARGET_ANSWERED, 'call:ami_attended_transfer_cancelled cancelled'])
  })

  t.test('cancel while 103 still rings', async (t) => {
    const { pbx, service, transfer } = await inConsultation(t, { answered: false })
    pbx.hooks.cancelAttendedTransfer = () => {
      pbx.snapshotValue = talking()
      pbx.emit(...consultationCancelled())
    }
    t.equal((await service.cancel(transfer.id)).status, 'cancelled')
  })

  t.test('the agent\'s Unhold is a cancel only once the PBX shows the agent back with the customer', async (t) => {
    const context = await inConsultation(t)
    const { pbx, service, transfer } = context
    pbx.emit(unhold(AGENT))
    await later(50)
    t.equal(service.getHere(transfer.id)?.status, 'target_answered', 'the bridges still show the consultation')
    pbx.snapshotValue = talking()
    t.equal((await reaches(service, transfer.id, 'cancelled'))?.status, 'cancelled')
    publishedFlow(t, context, [INITIATED, CONSULTING, TARGET_ANSWERED, 'call:ami_attended_transfer_cancelled cancelled'])
  })

  t.test('the customer hangs up while 103 rings: Asterisk\'s AttendedTransfer Fail comes first, yet abandoned, not cancelled', async (t) => {
    const context = await inConsultation(t, { answered: false })
    const { pbx, service, transfer } = context
    pbx.snapshotValue = snapshotOf([AGENT, LOCAL_1], [LOCAL_2, TARGET_103])
    pbx.emit(...customerHangsUpWhile103Rings())
    t.equal((await reaches(service, transfer.id, 'abandoned'))?.status, 'abandoned')
    await later(20)
    publishedFlow(t, context, [INITIATED, CONSULTING, 'call:transfer_updated abandoned'])
  })

  t.test('the Fail arrives alone and the PBX no longer has the customer: abandoned from the look at the PBX', async (t) => {
    const context = await inConsultation(t, { answered: false })
    const { pbx, service, transfer } = context
    pbx.snapshotValue = snapshotOf([AGENT, LOCAL_1], [LOCAL_2, TARGET_103])
    pbx.emit(attendedTransfer(AGENT, CUSTOMER, LOCAL_1, 'Fail'))
    t.equal((await reaches(service, transfer.id, 'abandoned'))?.status, 'abandoned')
    publishedFlow(t, context, [INITIATED, CONSULTING, 'call:transfer_updated abandoned'])
  })

  t.test('complete() while 103 still rings: XFER_TRANSFER_STATE saying why, nothing sent; cancel() still works', async (t) => {
    const { pbx, service, transfer } = await inConsultation(t, { answered: false })
    await t.rejects(service.complete(transfer.id), { code: 'XFER_TRANSFER_STATE', statusCode: 409, message: /consulting: 103 has not answered yet/ })
    t.same(pbx.actions().map((call) => call.method), ['attendedTransfer'], 'the agent was not hung up')
    pbx.hooks.cancelAttendedTransfer = () => {
      pbx.snapshotValue = talking()
      pbx.emit(...consultationCancelled())
    }
    t.equal((await service.cancel(transfer.id)).status, 'cancelled')
  })

  t.test('the agent\'s phone hangs up while 103 rings: not completed until 103 answers, then completed', async (t) => {
    const context = await inConsultation(t, { answered: false })
    const { pbx, service, transfer } = context
    pbx.emit(...agentLeavesWhile103Rings())
    await later(50)
    t.equal(service.getHere(transfer.id)?.status, 'consulting', 'Asterisk\'s AttendedTransfer Success alone completes nothing')
    pbx.snapshotValue = customerWith103()
    pbx.emit(...targetAnswers(), hangup(AGENT))
    t.match(await reaches(service, transfer.id, 'completed'), { status: 'completed', channels: { target: TARGET_103 } })
    publishedFlow(t, context, [INITIATED, CONSULTING, 'call:ami_attended_transfer_completed completed'])
  })

  t.test('the agent\'s phone hangs up while 103 rings and 103 never answers: failed with no_answer', async (t) => {
    const context = await inConsultation(t, { answered: false })
    const { pbx, service, transfer } = context
    pbx.emit(...agentLeavesWhile103Rings(), dialEnd(LOCAL_2, TARGET_103, 'NOANSWER'))
    t.match(service.getHere(transfer.id), { status: 'failed', failureReason: 'no_answer' })
    publishedFlow(t, context, [INITIATED, CONSULTING, 'call:ami_transfer_failed failed'])
  })

  t.test('103 hangs up during the consultation: failed with target_hung_up, the Unhold after changes nothing', async (t) => {
    const context = await inConsultation(t)
    const { pbx, service, transfer } = context
    pbx.emit(hangup(TARGET_103), hangup(LOCAL_2), hangup(LOCAL_1), unhold(AGENT))
    t.match(service.getHere(transfer.id), { status: 'failed', failureReason: 'target_hung_up' })
    publishedFlow(t, context, [INITIATED, CONSULTING, TARGET_ANSWERED, 'call:ami_transfer_failed failed'])
  })

  t.test('the customer hangs up during the consultation: abandoned', async (t) => {
    const context = await inConsultation(t)
    context.pbx.emit(hangup(CUSTOMER))
    t.equal(context.service.getHere(context.transfer.id)?.status, 'abandoned')
    publishedFlow(t, context, [INITIATED, CONSULTING, TARGET_ANSWERED, 'call:transfer_updated abandoned'])
  })

  t.test('complete twice at once: the second is refused with XFER_TRANSFER_STATE, one hangup sent', async (t) => {
    const { pbx, service, transfer } = await inConsultation(t)
    pbx.hooks.hangup = () => {
      pbx.snapshotValue = customerWith103()
      void pbx.emitLater(...agentLeaves())
    }
    const first = service.complete(transfer.id)
    await t.rejects(service.complete(transfer.id), { code: 'XFER_TRANSFER_STATE', statusCode: 409 })
    await t.rejects(service.cancel(transfer.id), { code: 'XFER_TRANSFER_STATE' }, 'nor can it be cancelled meanwhile')
    t.equal((await first).status, 'completed')
    t.equal(pbx.count('hangup'), 1)
  })

  t.test('complete or cancel of a finished transfer: XFER_TRANSFER_STATE, nothing sent', async (t) => {
    const { pbx, service, transfer } = await inConsultation(t)
    pbx.emit(hangup(CUSTOMER))
    await t.rejects(service.complete(transfer.id), { code: 'XFER_TRANSFER_STATE', statusCode: 409, message: /abandoned/ })
    await t.rejects(service.cancel(transfer.id), { code: 'XFER_TRANSFER_STATE' })
    t.same(pbx.actions().map((call) => call.method), ['attendedTransfer'])
  })

  t.test('complete of a blind transfer: XFER_TRANSFER_STATE, nothing sent', async (t) => {
    const { pbx, service } = setup(t)
    const { id } = await service.execute(request())
    await t.rejects(service.complete(id), { code: 'XFER_TRANSFER_STATE', message: /blind and redirected/ })
    t.same(pbx.actions().map((call) => call.method), ['redirect'])
  })

  t.test('complete or cancel of an unknown id: XFER_TRANSFER_NOT_FOUND', async (t) => {
    const { service } = setup(t)
    await t.rejects(service.complete('00000000-0000-0000-0000-000000000000'), { code: 'XFER_TRANSFER_NOT_FOUND', statusCode: 404 })
    await t.rejects(service.cancel('00000000-0000-0000-0000-000000000000'), { code: 'XFER_TRANSFER_NOT_FOUND' })
  })

  t.test('no AttendedTransfer after the hangup: XFER_ASTERISK_TIMEOUT after settleTimeoutMs', async (t) => {
    const { service, transfer } = await inConsultation(t, { settleTimeoutMs: 50 })
    await t.rejects(service.complete(transfer.id), { code: 'XFER_ASTERISK_TIMEOUT' })
    t.equal(service.getHere(transfer.id)?.status, 'target_answered')
  })

  t.test('a refused hangup rejects complete() with its error and leaves no timer running', async (t) => {
    const { pbx, service, transfer } = await inConsultation(t, { settleTimeoutMs: 2000 })
    const gone = new ChannelGoneError(AGENT)
    pbx.hooks.hangup = () => { throw gone }
    const timers = (): number => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length
    const before = timers()
    t.equal(await failure(service.complete(transfer.id)), gone)
    t.equal(timers(), before, 'the wait for the end of the transfer was dropped')
  })
})

t.test('one transfer per call at a time', async (t) => {
  t.test('a second transfer while one is active: XFER_TRANSFER_IN_PROGRESS naming the first, no second action', async (t) => {
    const { pbx, service, published } = setup(t)
    const first = await service.execute(request())
    const error = await failure(service.execute(attendedTo103()))
    t.match(error, { code: 'XFER_TRANSFER_IN_PROGRESS', statusCode: 409, transferId: first.id, message: new RegExp(first.id) })
    t.equal(pbx.actions().length, 1)
    t.equal(published.length, 2, 'nothing published for the refused one')
  })

  t.test('two requests at once: one goes through, the other names it', async (t) => {
    const { pbx, service } = setup(t)
    const [a, b] = await Promise.allSettled([service.execute(request()), service.execute(attendedTo103())])
    const accepted = a.status === 'fulfilled' ? a.value : b.status === 'fulfilled' ? b.value : undefined
    const refused = a.status === 'rejected' ? a.reason : b.status === 'rejected' ? b.reason : undefined
    t.match(refused, { code: 'XFER_TRANSFER_IN_PROGRESS', transferId: accepted?.id })
    t.equal(pbx.actions().length, 1)
  })

  t.test('once the first is over, a new one is accepted', async (t) => {
    const { pbx, service } = setup(t)
    const first = await service.execute(request())
    pbx.emit(dialEnd(CUSTOMER, TARGET_102, 'BUSY'))
    const second = await service.execute(request({ targetExtension: '103' }))
    t.not(second.id, first.id)
    t.equal(pbx.actions().length, 2)
    t.same(service.activeHere().map((transfer) => transfer.id), [second.id])
  })
})

t.test('transfers the phones make by themselves', async (t) => {
  t.test('a BlindTransfer from the agent\'s phone is adopted with origin phone, and followed to answered', async (t) => {
    const context = setup(t)
    const { pbx, service, published } = context
    pbx.emit(blindTransfer(AGENT, CUSTOMER, '102'))
    const [adopted] = service.activeHere()
    t.match(adopted, { type: 'blind', status: 'redirected', origin: 'phone', extension: '101', targetExtension: '102', requestedBy: '101', channels: { agent: AGENT, peer: CUSTOMER } })
    t.equal(published[0]?.transfer.origin, 'phone')
    pbx.snapshotValue = customerWith102()
    pbx.emit(dialBegin(CUSTOMER, TARGET_102), dialEnd(CUSTOMER, TARGET_102, 'ANSWER'))
    t.equal((await reaches(service, adopted?.id ?? '', 'answered'))?.status, 'answered')
    publishedFlow(t, context, [INITIATED, REDIRECTED, 'call:transfer_updated answered'])
  })

  t.test('the atxfer feature code (Hold, then Local;1) is adopted in consultation and can be completed', async (t) => {
    const context = setup(t)
    const { pbx, service } = context
    pbx.emit(hold(AGENT))
    pbx.snapshotValue = consultation()
    await pbx.emitLater(...consultationStarts().slice(1), ...targetAnswers())
    const [adopted] = service.activeHere()
    t.match(adopted, { type: 'attended', status: 'target_answered', origin: 'phone', targetExtension: '103', channels: { consultation: LOCAL_1, target: TARGET_103 } })
    pbx.hooks.hangup = () => {
      pbx.snapshotValue = customerWith103()
      pbx.emit(...agentLeaves())
    }
    t.equal((await service.complete(adopted?.id ?? '')).status, 'completed')
    publishedFlow(t, context, [INITIATED, CONSULTING, TARGET_ANSWERED, 'call:ami_attended_transfer_completed completed'])
  })

  t.test('a phone transfer of another agent while a plugin transfer is in flight is still adopted', async (t) => {
    const { pbx, service } = setup(t)
    pbx.hooks.redirect = () => { pbx.emit(blindTransfer('PJSIP/104-00000040', 'PJSIP/trunk-00000041', '103')) }
    await service.execute(request())
    t.match(service.activeHere().filter((transfer) => transfer.origin === 'phone'), [{ extension: '104', targetExtension: '103' }])
  })
})

t.test('stop() removes the service\'s listener; events no longer move transfers', async (t) => {
  const { pbx, service } = setup(t)
  const { id } = await service.execute(request())
  await service.stop()
  t.equal(pbx.events.listenerCount('event'), 0)
  pbx.emit(hangup(CUSTOMER))
  t.equal(service.getHere(id)?.status, 'redirected')
})

t.test('blind transfer recall', async (t) => {
  const recall = (present: boolean): TransferServiceOptions['recall'] => ({ context: 'fastify-transfer-recall', fallback: 'sales', ensure: async () => present })

  t.test('the customer is sent to the recall context, target and agent in two channel variables', async (t) => {
    const { pbx, service } = setup(t, { recall: recall(true) })
    const transfer = await service.execute(request())
    t.equal(transfer.status, 'redirected')
    t.same(pbx.variables.get(CUSTOMER), new Map([['FASTIFY_XFER_TARGET', '102'], ['FASTIFY_XFER_AGENT', '101']]))
    t.same(pbx.actions().at(-1), { method: 'redirect', args: [CUSTOMER, 'transfer', 'fastify-transfer-recall'] })
  })

  t.test('the target not answering: recalling, then failed no_answer with where the customer went', async (t) => {
    const context = setup(t, { recall: recall(true) })
    const { pbx, service } = context
    const transfer = await service.execute(request())
    const local = 'Local/102@from-internal-00000009;1'
    pbx.emit(dialBegin(CUSTOMER, local), dialBegin('Local/102@from-internal-00000009;2', TARGET_102), dialEnd(CUSTOMER, local, 'NOANSWER'))
    t.match(service.getHere(transfer.id), { status: 'recalling', failureReason: 'no_answer', channels: { target: TARGET_102 } })
    pbx.emit({ type: 'newExten', channel: CUSTOMER, uniqueId: 'u', linkedId: 'l', context: 'fastify-transfer-recall', exten: 'fallback', application: 'Goto' })
    t.match(service.getHere(transfer.id), { status: 'failed', failureReason: 'no_answer', recall: { to: 'fallback', destination: 'sales' } })
    publishedFlow(t, context, [INITIATED, REDIRECTED, 'call:transfer_updated recalling', 'call:ami_transfer_failed failed'])
  })

  t.test('without the recall dialplan in Asterisk: a plain Redirect to the target, as before', async (t) => {
    const { pbx, service } = setup(t, { recall: recall(false) })
    const transfer = await service.execute(request())
    t.same(pbx.actions().at(-1), { method: 'redirect', args: [CUSTOMER, '102', CONTEXT] })
    t.equal(pbx.actions().filter((action) => action.method === 'redirect').length, 1, 'one Redirect, the plain one')
    t.equal(transfer.recall, undefined, 'no recall on the transfer')
  })

  t.test('the recall check and its two variables go out together, before the Redirect', async (t) => {
    let ensureCalls = 0
    const { pbx, service } = setup(t, {
      recall: {
        context: 'fastify-transfer-recall',
        ensure: async () => {
          ensureCalls++
          // Asked while the variables are already on their way: nothing waits for the check to start them.
          t.same([...(pbx.variables.get(CUSTOMER)?.keys() ?? [])], [], 'the variables not yet set when the check starts')
          await new Promise((resolve) => setTimeout(resolve, 20))
          t.same([...(pbx.variables.get(CUSTOMER)?.keys() ?? [])], ['FASTIFY_XFER_TARGET', 'FASTIFY_XFER_AGENT'], 'set while the check was in flight')
          return true
        }
      }
    })
    await service.execute(request())
    t.equal(ensureCalls, 1)
    t.same(pbx.actions().at(-1), { method: 'redirect', args: [CUSTOMER, 'transfer', 'fastify-transfer-recall'] })
  })

  t.test('once Asterisk took the lines: written in front of the Redirect, no check first; a refusal is reported', async (t) => {
    const lines = [{ context: 'fastify-transfer-recall', exten: 'transfer', priority: 1, application: 'Dial', data: 'Local/x' }]
    const refusals: Error[] = []
    let ensureCalls = 0
    const { pbx, service } = setup(t, {
      recall: {
        context: 'fastify-transfer-recall',
        ensure: async () => { ensureCalls++; return true },
        linesInFront: () => lines,
        refusedInFront: (error) => { refusals.push(error) }
      }
    })
    await service.execute(request())
    t.equal(ensureCalls, 0, 'no round trip of its own')
    t.same(pbx.dialplanSteps, lines)
    t.same(pbx.variables.get(CUSTOMER), new Map([['FASTIFY_XFER_TARGET', '102'], ['FASTIFY_XFER_AGENT', '101']]))
    t.same(pbx.actions().at(-1), { method: 'redirect', args: [CUSTOMER, 'transfer', 'fastify-transfer-recall'] })
    t.same(refusals, [])
    pbx.emit(hangup(CUSTOMER))
    pbx.dialplanError = new Error('Permission denied')
    t.equal((await service.execute(request())).status, 'redirected', 'the Redirect itself went through')
    t.equal(refusals.length, 1, 'the refused line reported, for the next transfer to check first')
  })

  t.test('the customer is sent to the first line written in front: the context\'s entry', async (t) => {
    const entry = recallEntry({ context: 'fastify-transfer-recall', transferContext: CONTEXT }, [{ context: 'fastify-transfer-recall', exten: 'transfer', priority: 1, application: 'Dial', data: 'Local/x' }])
    const { pbx, service } = setup(t, {
      recall: { context: 'fastify-transfer-recall', ensure: async () => true, linesInFront: () => entry }
    })
    await service.execute(request())
    t.same(pbx.dialplanSteps, entry, 'the entry only, not the whole context')
    t.same(pbx.actions().at(-1), { method: 'redirect', args: [CUSTOMER, 'start', 'fastify-transfer-recall'] })
  })
})

t.test('an attended transfer Asterisk aborts', async (t) => {
  t.test('after the agent channel\'s atxfernoanswertimeout, unanswered: failed no_answer, not cancelled', async (t) => {
    const pbx = new FakePbx(talking())
    pbx.variables.set(AGENT, new Map([['FEATURE(atxfernoanswertimeout)', '0.2']]))
    const service = new TransferService(pbx, { transferContext: CONTEXT, channelTechnology: 'PJSIP', consultationTimeoutMs: 100 })
    service.start()
    t.teardown(() => service.stop())
    pbx.hooks.attendedTransfer = async () => {
      pbx.snapshotValue = consultation()
      void pbx.emitLater(...consultationStarts())
    }
    const transfer = await service.execute(attendedTo103())
    await later(250)
    pbx.snapshotValue = talking()
    pbx.emit(...consultationCancelled())
    t.match(await reaches(service, transfer.id, 'failed'), { status: 'failed', failureReason: 'no_answer' })
  })

  t.test('the same abort early, from the agent\'s phone, is a cancel', async (t) => {
    const { pbx, service, transfer } = await inConsultation(t, { answered: false })
    pbx.snapshotValue = talking()
    pbx.emit(...consultationCancelled())
    t.equal((await reaches(service, transfer.id, 'cancelled'))?.status, 'cancelled')
  })

  t.test('the target hanging up after answering: failed target_hung_up, even when its Hangup comes after the Unhold', async (t) => {
    const { pbx, service, transfer } = await inConsultation(t)
    pbx.emit(unhold(AGENT))
    pbx.snapshotValue = talking()
    pbx.emit(hangup(TARGET_103))
    t.match(await reaches(service, transfer.id, 'failed'), { status: 'failed', failureReason: 'target_hung_up' })
  })

  t.test('the target hanging up, as Asterisk 22 reports it with the Hangup last and late: failed target_hung_up', async (t) => {
    const { pbx, service, transfer } = await inConsultation(t)
    await reaches(service, transfer.id, 'target_answered')
    pbx.snapshotValue = talking()
    pbx.emit(...sequences.targetHangsUp(TO_103, { lateTargetHangup: true }))
    await later(100)
    pbx.emit(hangup(TARGET_103))
    t.match(await reaches(service, transfer.id, 'failed'), { status: 'failed', failureReason: 'target_hung_up' }, 'its leg left the bridge before the agent did')
  })

  t.test('the agent\'s phone aborting an answered consultation is a cancel, though the target\'s Hangup follows at once', async (t) => {
    const { pbx, service, transfer } = await inConsultation(t)
    await reaches(service, transfer.id, 'target_answered')
    pbx.snapshotValue = talking()
    pbx.emit(...sequences.phoneAbortsAnswered(TO_103))
    t.match(await reaches(service, transfer.id, 'cancelled'), { status: 'cancelled' }, 'the agent left the consultation first')
  })

  t.test('our cancel stays cancelled though the target\'s leg hangs up before the Unhold', async (t) => {
    const { pbx, service, transfer } = await inConsultation(t)
    pbx.hooks.cancelAttendedTransfer = () => {
      pbx.snapshotValue = talking()
      void pbx.emitLater(hangup(TARGET_103), unhold(AGENT))
    }
    t.equal((await service.cancel(transfer.id)).status, 'cancelled')
  })
})
