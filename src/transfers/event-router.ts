/**
 * Routes one Asterisk's events to the transfers they concern, on that server: each event is read by
 * the tracker (`tracker.ts`) for the transfer, what it learns is absorbed (`outcome-absorption.ts`),
 * and the input that follows is applied, or confirmed on the bridges first (`outcome-confirmer.ts`).
 * A transfer whose action is in flight sees every event, buffered and replayed once its action
 * answered (which channels matter may only be known then: the consultation's).
 */
import type { PbxEvent } from '../asterisk/ami-events.js'
import { isLocalTo } from '../asterisk/channel-name.js'
import type { TransferTracking } from '../domain/tracking.js'
import type { Logger } from '../support/logger.js'
import type { ActiveTransfer, InFlight } from './active-transfer.js'
import { absorbOutcome } from './outcome-absorption.js'
import type { OutcomeConfirmer } from './outcome-confirmer.js'
import { interpretEvent } from './tracker.js'
import type { TransferLedger } from './transfer-ledger.js'

/** The channels an event names, through which it may concern a transfer. */
export function channelsNamedBy (event: PbxEvent): string[] {
  const channels = 'channel' in event && event.channel !== undefined ? [event.channel] : []
  if (event.type === 'attendedTransfer') channels.push(event.transferer)
  return channels
}

/**
 * The transfers an event concerns: those involving a channel it names, and every transfer whose
 * action is in flight. The common case (no action in flight, one channel) hands back the lookup's own
 * answer, allocating nothing.
 */
export function transfersConcernedBy (event: PbxEvent, inFlight: ReadonlySet<ActiveTransfer>, activeOn: (channel: string) => readonly ActiveTransfer[]): Iterable<ActiveTransfer> {
  const channels = channelsNamedBy(event)
  if (inFlight.size === 0 && channels.length <= 1) return channels[0] === undefined ? [] : activeOn(channels[0])
  const concerned = new Set(inFlight)
  for (const channel of channels) for (const transfer of activeOn(channel)) concerned.add(transfer)
  return concerned
}

/** Whether a fact that survives a takeover changed (it must reach the shared store at once). */
function storedFactsDiffer (before: TransferTracking, after: TransferTracking): boolean {
  return before.handedOver !== after.handedOver || before.reached !== after.reached || before.targetHungUp !== after.targetHungUp
}

export class EventRouter {
  readonly #server: string
  readonly #ledger: TransferLedger
  readonly #confirmer: OutcomeConfirmer
  readonly #log: Logger
  /** Transfers whose action (Redirect, Atxfer, a phone transfer's claim) is in flight: they see every event. */
  readonly #actionsInFlight = new Set<ActiveTransfer>()
  readonly #activeOn = (channel: string): readonly ActiveTransfer[] => this.#ledger.activeOn(this.#server, channel)

  constructor (server: string, ledger: TransferLedger, confirmer: OutcomeConfirmer, logger: Logger) {
    this.#server = server
    this.#ledger = ledger
    this.#confirmer = confirmer
    this.#log = logger
  }

  route (event: PbxEvent): void {
    for (const transfer of transfersConcernedBy(event, this.#actionsInFlight, this.#activeOn)) {
      if (!transfer.buffer(event)) this.track(transfer, event)
    }
  }

  /**
   * The transfer's action is in flight until the returned `end`, which replays the events it missed:
   * every event of the PBX while the channels that will matter are not known yet (`everyEvent`: the
   * plugin's own Redirect and Atxfer), else those of its own channels (a phone's transfer being claimed).
   */
  beginAction (transfer: ActiveTransfer, { everyEvent }: { everyEvent: boolean }): InFlight {
    const action = transfer.beginAction()
    if (everyEvent) this.#actionsInFlight.add(transfer)
    return {
      end: () => {
        this.#actionsInFlight.delete(transfer)
        const missed = action.end()
        for (const event of missed) this.track(transfer, event)
        return missed
      }
    }
  }

  /** Whether a Local channel is the consultation of one of our own attended transfers being started. */
  isOwnConsultation (localChannel: string): boolean {
    for (const transfer of this.#actionsInFlight) {
      const { exten, context } = transfer.dialTarget
      if (transfer.record.type === 'attended' && isLocalTo(localChannel, exten, context)) return true
    }
    return false
  }

  /** Reads one event for one transfer and acts on what it means. */
  track (transfer: ActiveTransfer, event: PbxEvent): void {
    if (transfer.disposed) return
    const outcome = interpretEvent(transfer.tracked(), event)
    if (outcome === undefined) return
    const absorbed = absorbOutcome(transfer, outcome)
    const learned = storedFactsDiffer(transfer.tracking, absorbed.tracking)
    transfer.tracking = absorbed.tracking
    transfer.momentary = absorbed.momentary
    const { record } = transfer
    if (absorbed.handedOver) this.#log.info({ transferId: record.id, target: record.targetExtension }, 'agent left before the target answered: the customer now waits for the target')
    if (absorbed.target !== undefined) this.#ledger.amend(transfer, { ...record, channels: { ...record.channels, target: absorbed.target } })
    // A fact a new owner would need (the customer handed over...) is recorded when learned, not with the next change.
    else if (learned) this.#ledger.share(transfer)
    const { next } = absorbed
    switch (next.kind) {
      case 'apply':
        if (next.input.type === 'target_answered' && this.#confirmer.confirmsAnswer(record.type)) {
          this.#confirmer.confirmThenApply(transfer, next.input).catch((error: unknown) => { this.#log.error({ err: error, transferId: record.id }, 'confirming a transfer outcome failed') })
        } else {
          this.#ledger.apply(transfer, next.input)
        }
        break
      case 'confirm':
        // Runs on after the event that started it: a failure here has nobody to reject to, so it is logged.
        this.#confirmer.confirmThenApply(transfer, next.input).catch((error: unknown) => { this.#log.error({ err: error, transferId: record.id }, 'confirming a transfer outcome failed') })
        break
      case 'judge_abort':
        void (next.mayBeSwap ? this.#confirmer.abortOrSwap(transfer) : this.#confirmer.confirmAbort(transfer))
        break
      case 'none':
        break
    }
  }
}
