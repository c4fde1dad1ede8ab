/**
 * A transfer in progress: one object that holds everything about it — its record, the server its call
 * is on, where it dials, what was learned from Asterisk's events (`domain/tracking.ts`), its deadline
 * and what is under way on it. Created when the transfer starts, disposed when it ends
 * (`TransferRegistry` does both), so nothing about it can outlive it in some other collection.
 *
 * What may be under way on it is a protocol, kept here and nowhere else:
 * - **its action** (the Redirect, the Atxfer, or the shared store's claim of a phone's transfer) is in
 *   flight: the events that concern it are buffered, and replayed in order once the action answered
 *   (which channels matter may only be known then). `beginAction` is the only way in; the `InFlight` it
 *   returns is the only way out, once.
 * - **an outcome check** runs (the bridges are looked at before an outcome is declared): at most one
 *   at a time; meanwhile only the customer hanging up can still change the outcome's meaning.
 *   `tryConfirm` refuses a second.
 * - **a settlement** (complete, cancel, swap or three-way asked by a client) waits for its result: at
 *   most one at a time, a second is refused. `trySettle` refuses a second.
 * - **disposed**: the transfer is final. Nothing begins after it (the `try…` methods refuse, an action
 *   begun is not buffered), and work already running sees `disposed` and stops.
 * Each of these ends through the object its beginning returned, so an end without a beginning, or two
 * ends for one beginning, cannot be written.
 */
import type { PbxEvent } from '../asterisk/ami-events.js'
import type { Transfer } from '../domain/transfer.js'
import { freshTracking, type MomentaryTracking, type TransferTracking } from '../domain/tracking.js'
import type { StoredTransfer } from '../store/transfer-store.js'
import type { CancelTimer, Clock } from '../support/clock.js'
import type { TrackedTransfer } from './tracker.js'
import type { DialTarget } from '../domain/destination.js'

/** A piece of work under way on a transfer; `end` finishes it (a second call does nothing). */
export interface UnderWay {
  end (): void
}

/** The transfer's action in flight; `end` stops buffering and hands back the events seen meanwhile. */
export interface InFlight {
  end (): PbxEvent[]
}

export class ActiveTransfer {
  record: Transfer
  /** The Asterisk server the transfer's call is on (its engine). */
  readonly server: string
  /** Where it dials: a named destination may dial another context than the agents'. */
  readonly dialTarget: DialTarget
  /** Facts that are stored and survive a takeover. */
  tracking: TransferTracking = freshTracking()
  /** Facts about the last events, known only here. */
  momentary: MomentaryTracking = { agentHeld: false }
  #buffered: PbxEvent[] | undefined
  #confirming = false
  #settling = false
  #cancelDeadline: CancelTimer | undefined
  #disposed = false
  /** Its last save's revision (`StoredTransfer.revision`). */
  #revision = 0

  constructor (record: Transfer, server: string, dialTarget: DialTarget) {
    this.record = record
    this.server = server
    this.dialTarget = dialTarget
  }

  get id (): string {
    return this.record.id
  }

  get disposed (): boolean {
    return this.#disposed
  }

  get actionInFlight (): boolean {
    return this.#buffered !== undefined
  }

  get confirming (): boolean {
    return this.#confirming
  }

  /** From now until the returned `end`, events concerning the transfer are buffered, not tracked. */
  beginAction (): InFlight {
    if (this.#buffered !== undefined) throw new Error(`transfer ${this.id}: an action is already in flight`)
    const buffered: PbxEvent[] = []
    if (!this.#disposed) this.#buffered = buffered
    let ended = false
    return {
      end: () => {
        if (ended) return []
        ended = true
        if (this.#buffered === buffered) this.#buffered = undefined
        return buffered
      }
    }
  }

  /** Keeps the event for later when the action is in flight; false when it is not (track it now). */
  buffer (event: PbxEvent): boolean {
    if (this.#buffered === undefined) return false
    this.#buffered.push(event)
    return true
  }

  /** Begins an outcome check; undefined when one runs already or the transfer is over. */
  tryConfirm (): UnderWay | undefined {
    if (this.#confirming || this.#disposed) return undefined
    this.#confirming = true
    return once(() => { this.#confirming = false })
  }

  /** Begins a complete, cancel, swap or three-way; undefined when one is under way already. */
  trySettle (): UnderWay | undefined {
    if (this.#settling) return undefined
    this.#settling = true
    return once(() => { this.#settling = false })
  }

  /** Everything another instance needs to go on with it (see store/transfer-store.ts), as its next save. */
  nextSave (): StoredTransfer {
    this.#revision += 1
    return { record: this.record, dialTarget: this.dialTarget, tracking: { ...this.tracking }, revision: this.#revision }
  }

  /** Takes up where the previous owner left (a transfer taken over from another instance). */
  resume ({ tracking, revision = 0 }: Pick<StoredTransfer, 'tracking' | 'revision'>): void {
    this.tracking = { ...tracking }
    this.#revision = Math.max(this.#revision, revision)
  }

  /** What the tracker needs to read Asterisk's events for this transfer. */
  tracked (): TrackedTransfer {
    const { type, status, channels, talkingTo } = this.record
    return {
      type,
      status,
      channels,
      // A queue rings several members: one member not answering does not fail the transfer.
      multiLeg: this.dialTarget.kind === 'queue',
      ...this.tracking,
      ...this.momentary,
      ...(talkingTo === undefined ? {} : { talkingTo })
    }
  }

  /** (Re)arms the deadline of the current state; `onExpire` runs once unless re-armed or disposed first. */
  armDeadline (clock: Clock, ms: number, onExpire: () => void): void {
    this.#cancelDeadline?.()
    if (this.#disposed) return
    this.#cancelDeadline = clock.after(ms, onExpire, { background: true })
  }

  /** Releases everything it holds; it is final from now on. */
  dispose (): void {
    this.#disposed = true
    this.#cancelDeadline?.()
    this.#cancelDeadline = undefined
    this.#buffered = undefined
  }
}

function once (end: () => void): UnderWay {
  let ended = false
  return {
    end () {
      if (ended) return
      ended = true
      end()
    }
  }
}
