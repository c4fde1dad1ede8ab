/**
 * A transfer in progress: one object that holds everything about it — its record, where it dials,
 * the events buffered while its action is in flight, whether a complete or cancel is under way,
 * whether its outcome is being checked, whether Asterisk handed the customer over, and its deadline.
 * Created when the transfer starts, disposed when it ends (`TransferRegistry` does both), so nothing
 * about it can outlive it in some other collection.
 */
import type { PbxEvent } from '../asterisk/ami-events.js'
import type { Transfer } from '../domain/transfer.js'
import type { StoredTransfer, TransferTracking } from '../store/transfer-store.js'
import type { TrackedTransfer } from './tracker.js'
import type { DialTarget } from '../domain/destination.js'

export class ActiveTransfer {
  record: Transfer
  /** Where it dials: a named destination may dial another context than the agents'. */
  readonly dialTarget: DialTarget
  /** A complete or cancel is under way: a second one is refused. */
  settling = false
  /** Its outcome is being checked on the bridges. */
  confirming = false
  /** Attended: the agent left while the target rang, and Asterisk handed the customer to the target. */
  handedOver = false
  /** Blind: the customer reached a destination that answers by itself (it waits in a queue). */
  reached = false
  /** Blind: sent through the recall context (the customer comes back if the target does not answer). */
  recall: { context: string, fallback?: string } | undefined
  /** Attended: the plugin sent CancelAtxfer: the abort that follows is a cancel. */
  cancelRequested = false
  /** Attended: when the consultation started, and the agent channel's atxfernoanswertimeout once read. */
  consultingSince: number | undefined
  noAnswerTimeoutMs: number | undefined
  /** Attended: the target's leg hung up after answering. */
  targetHungUp = false
  /** Attended, target answered: Asterisk held the agent, the first step of a swap. */
  agentHeld = false
  /** Attended, target answered: who left the consultation's bridges first (see `TrackedTransfer.firstToLeave`). */
  firstToLeave: 'agent' | 'target' | undefined
  /** Events seen while its action (Redirect, Atxfer) is in flight, replayed once its answer is known. */
  #buffered: PbxEvent[] | undefined
  #deadline: NodeJS.Timeout | undefined
  #disposed = false

  constructor (record: Transfer, dialTarget: DialTarget) {
    this.record = record
    this.dialTarget = dialTarget
  }

  get id (): string {
    return this.record.id
  }

  get disposed (): boolean {
    return this.#disposed
  }

  /** From now until `endAction`, events concerning the transfer are buffered, not tracked. */
  beginAction (): void {
    this.#buffered = []
  }

  get actionInFlight (): boolean {
    return this.#buffered !== undefined
  }

  /** Keeps the event for later when the action is in flight; false when it is not (track it now). */
  buffer (event: PbxEvent): boolean {
    if (this.#buffered === undefined) return false
    this.#buffered.push(event)
    return true
  }

  /** The events buffered during the action, in order; buffering stops. */
  endAction (): PbxEvent[] {
    const events = this.#buffered ?? []
    this.#buffered = undefined
    return events
  }

  /** Everything another instance needs to go on with it (see store/transfer-store.ts). */
  stored (): StoredTransfer {
    const tracking: TransferTracking = {
      handedOver: this.handedOver,
      reached: this.reached,
      cancelRequested: this.cancelRequested,
      targetHungUp: this.targetHungUp,
      ...(this.recall === undefined ? {} : { recall: this.recall }),
      ...(this.consultingSince === undefined ? {} : { consultingSince: this.consultingSince }),
      ...(this.noAnswerTimeoutMs === undefined ? {} : { noAnswerTimeoutMs: this.noAnswerTimeoutMs })
    }
    return { record: this.record, dialTarget: this.dialTarget, tracking }
  }

  /** Takes up where the previous owner left (a transfer taken over from another instance). */
  resume (tracking: TransferTracking): void {
    this.handedOver = tracking.handedOver
    this.reached = tracking.reached
    this.cancelRequested = tracking.cancelRequested
    this.targetHungUp = tracking.targetHungUp
    this.recall = tracking.recall
    this.consultingSince = tracking.consultingSince
    this.noAnswerTimeoutMs = tracking.noAnswerTimeoutMs
  }

  /** What the tracker needs to read Asterisk's events for this transfer. */
  tracked (): TrackedTransfer {
    return {
      type: this.record.type,
      status: this.record.status,
      channels: this.record.channels,
      // A queue rings several members: one member not answering does not fail the transfer.
      multiLeg: this.dialTarget.kind === 'queue',
      handedOver: this.handedOver,
      reached: this.reached,
      cancelRequested: this.cancelRequested,
      targetHungUp: this.targetHungUp,
      agentHeld: this.agentHeld,
      ...(this.firstToLeave === undefined ? {} : { firstToLeave: this.firstToLeave }),
      ...(this.record.talkingTo === undefined ? {} : { talkingTo: this.record.talkingTo }),
      ...(this.recall === undefined ? {} : { recall: this.recall }),
      ...(this.consultingSince === undefined ? {} : { consultingSince: this.consultingSince }),
      ...(this.noAnswerTimeoutMs === undefined ? {} : { noAnswerTimeoutMs: this.noAnswerTimeoutMs })
    }
  }

  /** (Re)arms the deadline of the current state; `onExpire` runs once unless re-armed or disposed first. */
  armDeadline (ms: number, onExpire: () => void): void {
    clearTimeout(this.#deadline)
    if (this.#disposed) return
    this.#deadline = setTimeout(onExpire, ms)
    this.#deadline.unref()
  }

  /** Releases everything it holds; it is final from now on. */
  dispose (): void {
    this.#disposed = true
    clearTimeout(this.#deadline)
    this.#deadline = undefined
    this.#buffered = undefined
  }
}
