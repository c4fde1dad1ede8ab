/**
 * Before an outcome is declared, one Asterisk's bridges must show it (`outcome-check.ts`): Asterisk's
 * events report outcomes that Local channels have not finished making yet, and the same events also
 * come for outcomes that did not happen (an `AttendedTransfer` Fail when the customer hangs up). A few
 * looks are allowed; a customer who is gone turns the outcome into abandoned.
 */
import type { Logger } from '../support/logger.js'
import type { CallSnapshot } from '../asterisk/pbx.js'
import type { Clock } from '../support/clock.js'
import type { ActiveTransfer } from './active-transfer.js'
import type { CallLocator, Look } from './call-locator.js'
import { legBehindLocalTarget } from './call-topology.js'
import { checkOutcome, type CheckedInput, type OutcomeCheck } from './outcome-check.js'
import type { CheckAcrossFor } from './cross-server-check.js'
import type { TransferInput } from './state.js'
import type { Transfer } from '../domain/transfer.js'
import { abortInput } from './tracker.js'
import type { TransferLedger } from './transfer-ledger.js'

/** How often, and how far apart, an outcome is checked on the PBX (Local channels may still be moving). */
const CONFIRM_ATTEMPTS = 6
const CONFIRM_INTERVAL_MS = 250
/**
 * From the monitor's memory a look costs nothing, and what it shows changes only with an event: look
 * again after the next event (the bridge that shows the outcome usually comes a moment after the event
 * that reported it), at least this often, for as long in all.
 */
const MEMORY_CONFIRM_INTERVAL_MS = 20
/**
 * How long the consultation's channel must outlive the agent's Unhold, while the target rings, to be a
 * swap rather than an abort: Asterisk hangs it up in the same instant as it moves the agent back when
 * it aborts, so this is a margin for a busy machine, and the delay before such a swap is reported.
 */
const SWAP_WHILE_RINGING_MS = 500

/**
 * A blind transfer's answer seen here but not yet on the target's server is looked at again at each of
 * that server's events (at least this often), for this long; then reconciliation takes over. The
 * target's server may lag behind this one (its AMI busy, a slower link): the answer is declared as soon
 * as it shows it, not at the next reconciliation (found on the two-server test bed: 26 s late with a
 * 2 s lag).
 */
const ACROSS_LOOK_MS = 250
const ACROSS_PATIENCE_MS = 60_000

/**
 * With several servers: whether the target's server shows the outcome too (`cross-server-check.ts`);
 * undefined when the target is on this server.
 */
export type CheckAcross = CheckAcrossFor

export class OutcomeConfirmer {
  readonly #ledger: TransferLedger
  readonly #locator: CallLocator
  readonly #clock: Clock
  readonly #log: Logger
  readonly #across: CheckAcross | undefined

  constructor (ledger: TransferLedger, locator: CallLocator, clock: Clock, logger: Logger, across?: CheckAcross) {
    this.#ledger = ledger
    this.#locator = locator
    this.#clock = clock
    this.#log = logger
    this.#across = across
  }

  /**
   * With several servers, an attended transfer's answer is confirmed too: on the target's server, the
   * target bridged with this call's inbound leg (the consultation followed on both servers).
   */
  confirmsAnswer (type: Transfer['type']): boolean {
    return type === 'attended' && this.#across !== undefined
  }

  /** Applies `input` once the bridges show it (or, after the looks allowed, on Asterisk's word). */
  async confirmThenApply (transfer: ActiveTransfer, input: CheckedInput): Promise<void> {
    const confirming = transfer.tryConfirm()
    if (confirming === undefined) return
    try {
      await this.#confirm(transfer, input)
    } catch (error) {
      this.#log.error({ err: error, transferId: transfer.id }, 'checking a transfer outcome failed')
    } finally {
      confirming.end()
    }
  }

  /**
   * Asterisk ended a consultation: once the bridges show the agent back with the customer, say why
   * (`abortInput`: a cancel, the target's no-answer timeout, or the target hanging up). Judged then,
   * not at the first event: the target's Hangup may come just after the agent's Unhold.
   */
  async confirmAbort (transfer: ActiveTransfer): Promise<void> {
    const confirming = transfer.tryConfirm()
    if (confirming === undefined) return
    try {
      await this.#confirm(transfer, { type: 'cancelled' }, () => abortInput(transfer.tracked(), this.#clock.now()), 'interval')
    } catch (error) {
      this.#log.error({ err: error, transferId: transfer.id }, 'checking an aborted consultation failed')
    } finally {
      confirming.end()
    }
  }

  /**
   * The agent was unheld while the target rang: Asterisk aborted the consultation (its Local channel
   * hangs up in the same instant) or the agent's phone swapped to the customer while the target keeps
   * ringing (the Local channel stays). Looked at until the consultation's channel is gone (an abort,
   * judged as any) or has outlived the move by SWAP_WHILE_RINGING_MS with the agent back with the
   * customer (a swap). Events go on being applied meanwhile: the target may answer in between.
   */
  async abortOrSwap (transfer: ActiveTransfer): Promise<void> {
    const decideAt = this.#clock.now() + SWAP_WHILE_RINGING_MS
    let swapped = false
    // Without the call monitor in sync a look is a full listing of ARI: fewer of them.
    let pause = MEMORY_CONFIRM_INTERVAL_MS
    for (;;) {
      await this.#clock.sleep(pause)
      if (transfer.disposed || transfer.confirming) return
      const look = await this.#look(transfer)
      pause = look?.fromMemory === false ? CONFIRM_INTERVAL_MS : MEMORY_CONFIRM_INTERVAL_MS
      const { consultation } = transfer.record.channels
      if (look === undefined || consultation === undefined || !look.snapshot.channels.some((channel) => channel.name === consultation)) break
      if (this.#clock.now() >= decideAt) {
        swapped = checkOutcome(transfer.record.channels, { type: 'swapped', talkingTo: 'customer' }, look.snapshot) === 'confirmed'
        break
      }
    }
    if (transfer.disposed || transfer.confirming) return
    if (swapped) {
      this.#log.info({ transferId: transfer.id }, 'the agent\'s phone swapped to the customer while the target rings')
      this.#ledger.apply(transfer, { type: 'swapped', talkingTo: 'customer' })
    } else {
      await this.confirmAbort(transfer)
    }
  }

  /**
   * `pace`: from memory, look again after the next event (fast), or every 20 ms (an abort: the
   * target's Hangup that says why may come just after the bridges show the agent back, and is waited for).
   */
  async #confirm (transfer: ActiveTransfer, input: CheckedInput, meaning: () => TransferInput = () => input, pace: 'next_event' | 'interval' = 'next_event'): Promise<void> {
    const deadline = this.#clock.now() + CONFIRM_ATTEMPTS * CONFIRM_INTERVAL_MS
    let unseenAcross = false
    for (let attempt = 0; ; attempt++) {
      // Let every listener of the event that brought the outcome (the call monitor) apply it first.
      if (attempt === 0) await new Promise((resolve) => setImmediate(resolve))
      if (transfer.disposed) return
      const look = await this.#look(transfer)
      const here = look === undefined ? 'not_yet' : checkHere(transfer.record, input, look.snapshot)
      const check = look === undefined ? here : await this.#bothSides(transfer, input, look.snapshot, here)
      unseenAcross = here === 'confirmed' && check === 'not_yet'
      if (check !== 'not_yet') {
        if (check === 'confirmed' && look !== undefined && (input.type === 'target_answered' || input.type === 'completed')) this.#learnLegBehindLocal(transfer, look.snapshot)
        this.#ledger.apply(transfer, check === 'confirmed' ? meaning() : { type: 'customer_hung_up' })
        return
      }
      const fromMemory = look?.fromMemory === true
      if (fromMemory ? this.#clock.now() >= deadline : attempt + 1 >= CONFIRM_ATTEMPTS) break
      await (!fromMemory ? this.#clock.sleep(CONFIRM_INTERVAL_MS) : pace === 'interval' ? this.#clock.sleep(MEMORY_CONFIRM_INTERVAL_MS) : this.#locator.nextEventOr(MEMORY_CONFIRM_INTERVAL_MS))
    }
    // A swap the bridges never showed did not happen: the agent's phone held and resumed the call.
    if (input.type === 'swapped') return
    // Across servers an outcome is declared only when both show it: reconciliation looks again later.
    // Not a cancel: the customer is back with the agent here, whatever the other server still holds.
    if (unseenAcross && input.type !== 'cancelled') {
      this.#log.warn({ transferId: transfer.id, input: input.type }, 'transfer outcome seen on this server but not on the target\'s server: not declared yet')
      // A blind answer: looked at again as the target's server's events come (the check not held meanwhile).
      if (transfer.record.type === 'blind' && input.type === 'target_answered') {
        this.#watchAcross(transfer, input, meaning).catch((error: unknown) => {
          this.#log.error({ err: error, transferId: transfer.id }, 'following a blind transfer\'s answer on the target\'s server failed')
        })
      }
      return
    }
    // Asterisk reported the outcome but the bridges never showed it (a queue, an unusual dialplan):
    // trust Asterisk's word, but say so.
    this.#log.warn({ transferId: transfer.id, input: input.type }, 'transfer outcome reported by Asterisk but not seen on the bridges')
    this.#ledger.apply(transfer, meaning())
  }

  /**
   * After the looks at one event: the answer is declared at the first event of the target's server
   * that shows it (both servers looked at again), while the transfer stays where it was.
   */
  async #watchAcross (transfer: ActiveTransfer, input: CheckedInput, meaning: () => TransferInput): Promise<void> {
    const status = transfer.record.status
    const until = this.#clock.now() + ACROSS_PATIENCE_MS
    while (this.#clock.now() < until) {
      const waited = await this.#across?.nextChange?.(transfer, ACROSS_LOOK_MS)
      if (waited !== true) await this.#clock.sleep(ACROSS_LOOK_MS)
      if (transfer.disposed || transfer.record.status !== status) return
      const confirming = transfer.tryConfirm()
      // Another check under way (an event here): it looks at both servers itself.
      if (confirming === undefined) continue
      try {
        const look = await this.#look(transfer)
        if (look === undefined || transfer.disposed) continue
        const here = checkHere(transfer.record, input, look.snapshot)
        const check = await this.#bothSides(transfer, input, look.snapshot, here)
        if (check === 'not_yet') continue
        if (check === 'confirmed') this.#learnLegBehindLocal(transfer, look.snapshot)
        this.#ledger.apply(transfer, check === 'confirmed' ? meaning() : { type: 'customer_hung_up' })
        return
      } finally {
        confirming.end()
      }
    }
  }

  /**
   * An outcome across servers is confirmed once the target's server shows it too; the far half found
   * is recorded (`across`).
   */
  async #bothSides (transfer: ActiveTransfer, input: CheckedInput, snapshot: CallSnapshot, here: OutcomeCheck): Promise<OutcomeCheck> {
    if (here !== 'confirmed' || this.#across === undefined) return here
    const check = await this.#across(input.type, transfer, snapshot).catch((error: unknown) => {
      this.#log.warn({ err: error, transferId: transfer.id }, 'looking at the target\'s server failed')
      return { seen: false as const }
    })
    if (check === undefined) return here
    if (!check.seen) return 'not_yet'
    const known = transfer.record.across
    if (known?.inbound !== check.across.inbound || known?.target !== check.across.target) this.#ledger.amend(transfer, { ...transfer.record, across: check.across })
    return here
  }

  /** A look at the PBX around the transfer; undefined when it failed (tried again like a look that showed nothing). */
  async #look (transfer: ActiveTransfer): Promise<Look | undefined> {
    return await this.#locator.aroundTransfer(transfer.record).catch(() => undefined)
  }

  /**
   * A Local half kept as the target (the far half's dial reached the plugin before the customer's own
   * DialBegin named the half) gives way, once the answer is confirmed, to the leg the bridges show
   * behind it: clients are told the phone that took the call, not a Local channel.
   */
  #learnLegBehindLocal (transfer: ActiveTransfer, snapshot: CallSnapshot): void {
    const behind = legBehindLocalTarget(snapshot, transfer.record.channels)
    if (behind !== undefined) this.#ledger.amend(transfer, { ...transfer.record, channels: { ...transfer.record.channels, target: behind } })
  }
}

/**
 * What this server's bridges say. An attended transfer's answer is the consultation, not the customer's
 * bridge: here it needs only the customer still there (the answer itself is Asterisk's `DialEnd`).
 */
function checkHere (record: Transfer, input: CheckedInput, snapshot: CallSnapshot): OutcomeCheck {
  if (input.type !== 'target_answered' || record.type !== 'attended') return checkOutcome(record.channels, input, snapshot)
  return snapshot.channels.some((channel) => channel.name === record.channels.peer) ? 'confirmed' : 'customer_gone'
}
