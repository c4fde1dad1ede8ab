/**
 * Starts a transfer on one Asterisk: checks the request (rights, rules, the call, the target), takes
 * the call in the shared store, then acts: a blind transfer Redirects the customer (through the
 * recall context when recall is on), an attended one sends Atxfer for the agent and waits for the
 * proof that the consultation began. Events that come while the action is in flight are kept and
 * replayed once it answered.
 */
import type { Pbx } from '../asterisk/pbx.js'
import type { Transfer } from '../domain/transfer.js'
import { freshTracking } from '../domain/tracking.js'
import { SameExtensionError, TooManyTransfersError, TransferInProgressError, UnknownTargetError } from '../errors.js'
import type { Clock } from '../support/clock.js'
import type { ActiveTransfer } from './active-transfer.js'
import type { AtxferPacing } from './atxfer-pacing.js'
import type { CallLocator } from './call-locator.js'
import { CHANNEL_RECORD_VARIABLE, encodeChannelRecord } from './channel-record.js'
import { awaitConsultation } from './consultation-watch.js'
import type { DialTarget } from '../domain/destination.js'
import type { EventRouter } from './event-router.js'
import { AGENT_VARIABLE, RECALL_STEPS, TARGET_VARIABLE, usesRecall } from './recall-dialplan.js'
import type { RecallRouting, TransferRequest } from './service-options.js'
import type { TransferInput } from './state.js'
import type { TransferLedger } from './transfer-ledger.js'
import type { TransferPolicy } from './transfer-policy.js'
import type { RecordingFollower } from './recording-follower.js'

export interface StarterOptions {
  server: string
  transferContext: string
  technology: string
  consultationTimeoutMs: number
  recall: RecallRouting | undefined
  clock: Clock
}

export interface StarterParts {
  pbx: Pbx
  ledger: TransferLedger
  locator: CallLocator
  router: EventRouter
  policy: TransferPolicy
  pacing: AtxferPacing
  /** With `followRecordings`: keeps the customer recorded when the agent's recorded leg leaves. */
  recordings?: RecordingFollower | undefined
}

/** Asterisk's QUEUE_PRIO for a queue destination with a priority (`prefix` `_`: inherited by the channels it creates). */
function queuePlace (target: DialTarget, prefix = ''): Record<string, string> | undefined {
  const priority = target.queue?.priority
  return priority === undefined ? undefined : { [`${prefix}${QUEUE_PRIORITY_VARIABLE}`]: String(priority) }
}

/** The channel variable app_queue reads for a caller's priority when it joins. */
const QUEUE_PRIORITY_VARIABLE = 'QUEUE_PRIO'

function failureReasonOf (error: unknown): 'timed_out' | 'asterisk_refused' {
  return (error as { code?: string }).code === 'XFER_ASTERISK_TIMEOUT' ? 'timed_out' : 'asterisk_refused'
}

export class TransferStarter {
  readonly #parts: StarterParts
  readonly #options: StarterOptions

  constructor (parts: StarterParts, options: StarterOptions) {
    this.#parts = parts
    this.#options = options
  }

  /** `across`: the target's server, when it is another server of the pool. */
  async execute (request: TransferRequest, across?: string): Promise<Transfer> {
    const { ledger, locator, router, policy } = this.#parts
    const { extension, targetExtension } = request
    if (extension === targetExtension) throw new SameExtensionError(extension)
    const target = await policy.admit(request)
    await this.#checkCallAndTarget(extension, targetExtension, target)
    // Looked up, checked and claimed in one synchronous step when the monitor is in sync, so the call
    // is as it is now (not as a snapshot from before an await) and concurrent requests for one call
    // cannot both pass: the store's claim locks the call before its first await (`TransferStore.open`).
    const call = locator.agentCallFromMemory(extension) ?? await locator.agentCall(extension)
    const { server } = this.#options
    const busy = ledger.activeOn(server, call.peerChannel)[0] ?? ledger.activeOn(server, call.agentChannel)[0]
    if (busy !== undefined) throw Object.assign(new TransferInProgressError(busy.id), { transferId: busy.id })
    if (ledger.full) throw new TooManyTransfersError(ledger.maxActive)
    const record = ledger.newRecord({
      type: request.transferType,
      origin: 'plugin',
      server,
      extension,
      targetExtension,
      requestedBy: request.requestedBy,
      channels: { agent: call.agentChannel, peer: call.peerChannel },
      ...(target.destination === undefined ? {} : { destination: target.destination }),
      ...(across === undefined ? {} : { across: { server: across } }),
      ...(target.queue === undefined ? {} : { queue: target.queue }),
      ...(request.note === undefined ? {} : { note: request.note }),
      ...(call.caller === undefined ? {} : { caller: call.caller })
    })
    const claimed = await ledger.shared(async () => await ledger.claim(record, target, freshTracking()))
    if (!claimed.ok) {
      if ('busyWith' in claimed) throw Object.assign(new TransferInProgressError(claimed.busyWith), { transferId: claimed.busyWith })
      throw new TooManyTransfersError(ledger.maxActive)
    }
    const transfer = ledger.open(record, target)
    const action = router.beginAction(transfer, { everyEvent: true })
    try {
      const input = transfer.record.type === 'blind' ? await this.#redirect(transfer) : await this.#startConsultation(transfer)
      return ledger.apply(transfer, input)
    } catch (error) {
      const { code = 'XFER_INTERNAL', message } = error as Error & { code?: string }
      ledger.apply(transfer, { type: 'action_failed', reason: failureReasonOf(error) }, { code, message })
      throw error
    } finally {
      action.end()
    }
  }

  /** Checks the call and the target at once; a missing call is reported before a missing target. */
  async #checkCallAndTarget (extension: string, targetExtension: string, target: DialTarget): Promise<void> {
    const targetExists = this.#parts.pbx.extensionExists(target.context, target.exten)
    targetExists.catch(() => {})
    await this.#parts.locator.agentCall(extension)
    if (!(await targetExists)) throw new UnknownTargetError(targetExtension, target.context)
  }

  async #redirect (transfer: ActiveTransfer): Promise<TransferInput> {
    const { pbx } = this.#parts
    const { exten, context } = transfer.dialTarget
    const { peer } = transfer.record.channels
    const recall = this.#options.recall
    // Before the Redirect: the agent's recording ends with the agent's leg.
    await this.#parts.recordings?.beforeRedirect(transfer)
    const place = queuePlace(transfer.dialTarget)
    if (recall === undefined || !usesRecall(transfer.dialTarget, this.#options.transferContext)) {
      // The customer's place in a queue is theirs before the Redirect moves them: Asterisk runs the
      // Setvar first, in the same round trip.
      if (place === undefined) await pbx.redirect(peer, exten, context)
      else await pbx.redirectAfterSetup(peer, exten, context, { variables: place, dialplan: [] })
      return { type: 'redirect_accepted' }
    }
    // The customer dials the target from the recall context, which brings them back when it fails. It
    // reads two variables, and the context may have been dropped by a reload nobody announced: the
    // variables and the step the customer is sent to (the context's entry, which goes on only when the
    // rest is there) are written in front of the Redirect, which Asterisk runs after them, in one round trip.
    const variables = { [TARGET_VARIABLE]: exten, [AGENT_VARIABLE]: transfer.record.extension, ...place }
    const lines = recall.linesInFront?.()
    // Until Asterisk has taken the lines once, check the context first (the variables go along: they are
    // read by nothing else, so a plain Redirect after a failed check leaves nothing wrong behind).
    const ready = lines !== undefined || (await Promise.all([
      recall.ensure(),
      ...Object.entries(variables).map(async ([name, value]) => { await pbx.setVariable(peer, name, value) })
    ]))[0]
    if (!ready) {
      await pbx.redirect(peer, exten, context)
      return { type: 'redirect_accepted' }
    }
    transfer.tracking.recall = recall.fallback === undefined ? { context: recall.context } : { context: recall.context, fallback: recall.fallback }
    if (lines === undefined) {
      await pbx.redirect(peer, RECALL_STEPS.transfer, recall.context)
    } else {
      // Sent to the first line written in front: there whatever reloaded the dialplan.
      const { setupRefused } = await pbx.redirectAfterSetup(peer, lines[0]?.exten ?? RECALL_STEPS.transfer, recall.context, { variables, dialplan: lines })
      if (setupRefused !== undefined) recall.refusedInFront?.(setupRefused)
    }
    return { type: 'redirect_accepted' }
  }

  async #startConsultation (transfer: ActiveTransfer): Promise<TransferInput> {
    const { pbx, pacing, ledger } = this.#parts
    const { exten, context } = transfer.dialTarget
    const { agent, peer } = transfer.record.channels
    // Left on the agent's channel first: a restart of the host app during the consultation finds it.
    // Into a queue, the consultation waits there for the customer, who holds meanwhile: it takes the
    // customer's priority, inherited (`_`) by the channel Atxfer dials and by the Local half that
    // joins the queue. Both Setvars go together, then the Atxfer.
    const inherited = queuePlace(transfer.dialTarget, '_')
    await Promise.all([
      pbx.setVariable(agent, CHANNEL_RECORD_VARIABLE, encodeChannelRecord({ ...transfer.record, peer })),
      ...Object.entries(inherited ?? {}).map(async ([name, value]) => { await pbx.setVariable(agent, name, value) })
    ])
    const quiet = pacing.delayFor(agent)
    if (quiet > 0) await this.#options.clock.sleep(quiet)
    const consultation = awaitConsultation(pbx.events, {
      agentChannel: agent,
      peerChannel: peer,
      target: exten,
      context,
      technology: this.#options.technology
    }, this.#options.consultationTimeoutMs)
    let channel: string
    try {
      await pbx.attendedTransfer(agent, exten, context).catch((error: unknown) => {
        consultation.abandon()
        throw error
      })
      channel = await consultation.started
    } finally {
      // Inherited once, by the consultation (or by none): a later call of the agent's channel must not jump a queue.
      if (inherited !== undefined) for (const name of Object.keys(inherited)) pbx.setVariable(agent, name, '').catch(() => {})
    }
    ledger.amend(transfer, { ...transfer.record, channels: { ...transfer.record.channels, consultation: channel } })
    return { type: 'consultation_started' }
  }
}
