/**
 * Reads Asterisk's events as inputs to one transfer's state machine. Asterisk does not say "your
 * transfer succeeded" in every case (`Redirect` emits no `BlindTransfer`; a cancelled or aborted
 * attended transfer emits no `AttendedTransfer`), so outcomes are derived from what the channels do:
 *
 * - blind: the customer's channel dials the target: its `DialEnd` status is the outcome;
 * - attended: the Local channel Asterisk made for the consultation dials the target (`DialEnd`);
 *   `AttendedTransfer` Success from the agent's channel means completed once the target answered;
 *   before that (the agent hung up while the target rang) Asterisk hands the customer to the ringing
 *   target, and the target's `DialEnd` decides: completed, or failed; the agent's `Unhold` while
 *   consulting means Asterisk put the agent back with the customer: cancelled;
 * - blind: the customer running an application that answers by itself (voicemail, an IVR, parking, a
 *   queue) has reached the destination: delivered, as answered; a configured queue is answered by its
 *   member, and a customer who hangs up while waiting in it was delivered, not abandoned;
 * - the customer hanging up abandons any transfer that is not over;
 * - blind with recall (`recall-dialplan.ts`): the customer dials the target from the plugin's own
 *   context; its failure starts the recall (`recalling`), and the customer's next steps in that context
 *   say where they went: the agent's answer, the fallback, or the end;
 * - attended: the consultation aborted (the agent's `Unhold` or an `AttendedTransfer` Fail) is only
 *   `cancelled` when someone cancelled it; Asterisk also aborts it when the target does not answer
 *   within `atxfernoanswertimeout` (failed `no_answer`) and when the target hangs up (failed
 *   `target_hung_up`): `abortInput` tells which. A ringing target's leg ending is no outcome by
 *   itself: the Local's `DialEnd` (busy, unavailable) or the abort that follows says what it was.
 * - attended, target answered: Asterisk's swap holds the agent, moves them to the other bridge and
 *   unholds them; an abort never holds first. So the agent's `Hold` then `Unhold` is a swap (checked
 *   on the bridges: a phone that merely held and resumed shows no change), an `Unhold` alone an abort.
 *   While the agent talks with the customer (swapped), the target's leg ending is the abort: Asterisk
 *   sends no `Unhold` then, the agent is already with the customer;
 * - attended: `AttendedTransfer` Success with `DestType: Threeway` is a three-way; from there the
 *   agent's `Hangup` completes (the customer stays with the target) and the target's cancels;
 * Pure: the caller applies the returned input to `state.ts`, after checking answered, completed and
 * cancelled on the bridges (`outcome-check.ts`): an `AttendedTransfer` Fail also comes when the
 * customer hangs up while the target rings, just before the customer's `Hangup`.
 */
import type { PbxEvent } from '../asterisk/ami-events.js'
import type { MomentaryTracking, TransferTracking } from '../domain/tracking.js'
import type { Transfer } from '../domain/transfer.js'
import { localCounterpart } from '../asterisk/channel-name.js'
import { recallStep } from './recall-dialplan.js'
import type { TargetFailure, TransferInput } from './state.js'
import { swapSide } from './talking-to.js'

/** Asterisk's default `atxfernoanswertimeout` (features.conf), when the channel's value is not known. */
export const DEFAULT_ATXFER_NO_ANSWER_MS = 15_000
/** Timers and event delivery: an abort this close to the no-answer timeout is that timeout. */
const NO_ANSWER_TOLERANCE_MS = 750

/**
 * What the tracker reads of a transfer: its record's type, state, channels and whom the agent talks to,
 * what was learned from earlier events (`domain/tracking.ts`; absent counts as not learned), and
 * whether the target rings several legs (a queue: only the answer counts, not each leg's failure).
 */
export type TrackedTransfer = Pick<Transfer, 'type' | 'status' | 'channels' | 'talkingTo'> &
Partial<TransferTracking> & Partial<MomentaryTracking> & { multiLeg?: boolean }

export interface TrackerOutcome {
  input?: TransferInput
  /** Channels learned from the event (the target's leg once it is dialed). */
  channels?: { target?: string }
  /** Asterisk handed the customer to the still ringing target (see `TrackedTransfer.handedOver`). */
  handedOver?: true
  /** The customer reached a destination that answers by itself (see `TrackedTransfer.reached`). */
  reached?: true
  /**
   * Attended: Asterisk ended the consultation and put the agent back with the customer. Once the
   * bridges show it, `abortInput` says why.
   */
  aborted?: true
  /**
   * Attended, the target ringing: the agent is back with the customer, as after an abort, but it may be
   * the agent's phone swapping to the customer while the target keeps ringing: the consultation's
   * channel outliving the move tells which.
   */
  mayBeSwap?: true
  /** Attended: the target's leg hung up after it answered (see `TrackedTransfer.targetHungUp`). */
  targetHungUp?: true
  /** Attended: the agent is now held (a swap began) or no longer (see `TrackedTransfer.agentHeld`). */
  agentHeld?: boolean
  /** Attended: who left first (see `TrackedTransfer.firstToLeave`); null: both are bridged again. */
  firstToLeave?: 'agent' | 'target' | null
  /**
   * Blind: the customer went on to the target the plain way, not through the recall context (its entry
   * found the context gone and could not wait for it, `recall-dialplan.ts`): no recall for this one.
   */
  recallSkipped?: true
}

/**
 * Dialplan applications that take the call themselves: reaching one delivers a blind transfer even
 * though no `Dial` answers (voicemail, queues and their announcements, IVR menus, parking, conferences,
 * applications of other programs). `Playback` is not one: it is often an announcement before a `Dial`.
 */
const DELIVERING_APPS: ReadonlySet<string> = new Set([
  'voicemail', 'voicemailmain', 'queue', 'park', 'parkandannounce', 'confbridge', 'meetme', 'background',
  'read', 'record', 'directory', 'agi', 'eagi', 'fastagi', 'stasis', 'followme', 'ivr', 'musiconhold'
])

function deliveryOutcome (transfer: TrackedTransfer, event: Extract<PbxEvent, { type: 'newExten' }>): TrackerOutcome | undefined {
  if (transfer.type !== 'blind' || transfer.status !== 'redirected' || event.channel !== transfer.channels.peer) return undefined
  if (!DELIVERING_APPS.has(event.application.toLowerCase())) return undefined
  // A configured queue is answered by one of its members: wait for it, but the customer is delivered.
  return transfer.multiLeg === true ? { reached: true } : { input: { type: 'delivered' } }
}

/** Asterisk's DialStatus values for a target that did not take the call. */
const DIAL_FAILURES: Record<string, TargetFailure> = {
  BUSY: 'target_busy',
  NOANSWER: 'no_answer',
  CHANUNAVAIL: 'target_unavailable',
  CONGESTION: 'target_unavailable'
}

/** The channel that dials the target: the customer (blind) or the far half of the consultation Local. */
function dialingChannel (transfer: TrackedTransfer): string | undefined {
  if (transfer.type === 'blind') return transfer.channels.peer
  const consultation = transfer.channels.consultation
  return consultation === undefined ? undefined : localCounterpart(consultation)
}

function dialOutcome (transfer: TrackedTransfer, event: PbxEvent): TrackerOutcome | undefined {
  if (event.type !== 'dialBegin' && event.type !== 'dialEnd') return undefined
  const dialer = dialingChannel(transfer)
  if (dialer === undefined || event.channel === undefined) return undefined
  // Blind through a Local channel (the recall context's dial): its far half's dial names the real leg.
  const { target } = transfer.channels
  if (event.type === 'dialBegin' && transfer.type === 'blind' && target !== undefined && event.channel === localCounterpart(target)) {
    return transfer.multiLeg === true ? undefined : { channels: { target: event.destChannel } }
  }
  if (event.channel !== dialer) return undefined
  if (event.type === 'dialBegin') return transfer.multiLeg === true ? undefined : { channels: { target: event.destChannel } }
  if (event.dialStatus === 'ANSWER') {
    // Handed over, the answer joins the customer and the target: the transfer is complete.
    const input = transfer.handedOver === true ? { type: 'completed' as const } : { type: 'target_answered' as const }
    // A Local answering stands for the leg behind it, already learned from its far half's dial.
    const viaLocal = localCounterpart(event.destChannel) !== undefined && target !== undefined && target !== event.destChannel
    return viaLocal ? { input } : { input, channels: { target: event.destChannel } }
  }
  if (transfer.multiLeg === true) return undefined
  const reason = DIAL_FAILURES[event.dialStatus]
  if (reason === undefined) return undefined
  // With recall, the customer's next step is the plugin's own: it comes back instead of being dropped.
  return { input: transfer.recall === undefined ? { type: 'target_failed', reason } : { type: 'recall_started', reason } }
}

/**
 * Blind, recalling: where the customer goes, from its steps in the recall context and its dial.
 * Undefined: not a recall matter (the customer hanging up is read as always); `{}`: the customer's own
 * event, and nothing to learn from it.
 */
function recallOutcome (transfer: TrackedTransfer, event: PbxEvent): TrackerOutcome | undefined {
  const recall = transfer.recall
  if (recall === undefined || event.type === 'hangup') return undefined
  if (event.type === 'dialEnd' && event.channel === transfer.channels.peer) {
    return event.dialStatus === 'ANSWER' ? { input: { type: 'recalled', recall: { to: 'agent' } } } : {}
  }
  if (event.type !== 'newExten' || event.channel !== transfer.channels.peer) return {}
  const step = recallStep(event.context, recall.context, event.exten)
  if (step === 'fallback' && recall.fallback !== undefined) {
    return { input: { type: 'recalled', recall: { to: 'fallback', destination: recall.fallback } } }
  }
  if (step === 'end') return { input: { type: 'recalled', recall: { to: 'none' } } }
  return {}
}

/**
 * Redirected into the recall context, the customer runs no step outside it until its dial ends (the
 * target is dialed through a Local pair, whose far half is another channel): a step elsewhere before
 * that is the entry's plain way to the target.
 */
function skipsRecall (transfer: TrackedTransfer, event: Extract<PbxEvent, { type: 'newExten' }>): boolean {
  return transfer.recall !== undefined && transfer.type === 'blind' && transfer.status === 'redirected' &&
    event.channel === transfer.channels.peer && event.context !== transfer.recall.context
}

/**
 * Why Asterisk aborted a consultation the bridges show ended with the agent back with the customer:
 * the plugin's cancel is `cancelled`; a target that answered and hung up is `target_hung_up`; a target
 * that rang for `atxfernoanswertimeout` is `no_answer`; anything else is the agent's own cancel from
 * the phone (the abort feature code), `cancelled`.
 */
export function abortInput (transfer: TrackedTransfer, now: number): TransferInput {
  if (transfer.cancelRequested === true) return { type: 'cancelled' }
  if (transfer.status === 'target_answered') return targetLeft(transfer) ? { type: 'target_hung_up' } : { type: 'cancelled' }
  const timeout = transfer.noAnswerTimeoutMs ?? DEFAULT_ATXFER_NO_ANSWER_MS
  const rang = transfer.consultingSince === undefined ? 0 : now - transfer.consultingSince
  return rang >= timeout - NO_ANSWER_TOLERANCE_MS ? { type: 'target_failed', reason: 'no_answer' } : { type: 'cancelled' }
}

/** Whether the answered target ended the consultation: it left first, or (no move seen) it hung up. */
function targetLeft (transfer: TrackedTransfer): boolean {
  if (transfer.firstToLeave !== undefined) return transfer.firstToLeave === 'target'
  return transfer.targetHungUp === true
}

/**
 * Attended, the agent talking with the answered target: the first of the two to leave a bridge says
 * who ended the consultation (`TrackedTransfer.firstToLeave`). The count starts again when the target
 * enters another bridge (its Local optimised away) and after a swap (`agentHoldOutcome`); not when the
 * agent enters the customer's bridge: an abort does that too.
 */
function consultationMoveOutcome (transfer: TrackedTransfer, event: Extract<PbxEvent, { type: 'bridgeEnter' | 'bridgeLeave' }>): TrackerOutcome | undefined {
  if (transfer.status !== 'target_answered' || transfer.talkingTo === 'customer') return undefined
  const { agent, target } = transfer.channels
  if (event.type === 'bridgeEnter') return event.channel === target && transfer.firstToLeave !== undefined ? { firstToLeave: null } : undefined
  const who = event.channel === agent ? 'agent' : event.channel === target ? 'target' : undefined
  return who !== undefined && transfer.firstToLeave === undefined ? { firstToLeave: who } : undefined
}

/** The target's leg hung up: an outcome only once it answered, and not as the consequence of our cancel. */
function targetHangupOutcome (transfer: TrackedTransfer): TrackerOutcome | undefined {
  if (transfer.type === 'attended') {
    // Swapped to the customer, the agent is there already: Asterisk's abort sends no Unhold.
    if (transfer.status === 'target_answered' && transfer.talkingTo === 'customer') return { aborted: true, targetHungUp: true }
    // The agent left first (the phone's abort): the target's leg ends as its consequence.
    if (transfer.status === 'target_answered' && transfer.firstToLeave === 'agent') return { aborted: true }
    // The same while the target still rang (the agent's phone swapped, then aborted, or the target
    // never answered): the ringing leg ends with the consultation.
    if (transfer.status === 'consulting' && transfer.talkingTo === 'customer') return { aborted: true }
    if (transfer.status !== 'target_answered' || transfer.cancelRequested === true) return undefined
    return { input: { type: 'target_hung_up' }, targetHungUp: true }
  }
  // With recall the customer's own Dial says what the ringing leg's end meant.
  return transfer.recall === undefined ? { input: { type: 'target_hung_up' } } : undefined
}

export function interpretEvent (transfer: TrackedTransfer, event: PbxEvent): TrackerOutcome | undefined {
  const { agent, peer, target } = transfer.channels
  if (transfer.status === 'recalling') {
    const outcome = recallOutcome(transfer, event)
    if (outcome !== undefined) return Object.keys(outcome).length === 0 ? undefined : outcome
  }
  if (event.type === 'newExten') {
    const delivered = deliveryOutcome(transfer, event)
    return skipsRecall(transfer, event) ? { ...delivered, recallSkipped: true } : delivered
  }
  if (event.type === 'hangup') {
    if (event.channel === peer) return { input: transfer.reached === true ? { type: 'delivered' } : { type: 'customer_hung_up' } }
    if (transfer.status === 'three_way') return threeWayHangup(transfer, event.channel)
    // Local halves are ignored: Asterisk hangs them up when it optimises them away, not only at the end.
    if (target !== undefined && event.channel === target) return targetHangupOutcome(transfer)
    return undefined
  }
  if (transfer.type === 'attended') {
    if (event.type === 'bridgeEnter' || event.type === 'bridgeLeave') return consultationMoveOutcome(transfer, event)
    if (event.type === 'attendedTransfer' && event.transferer === agent) {
      if (event.result !== 'Success') return { aborted: true }
      if (event.destType === 'Threeway') return { input: { type: 'three_way' } }
      return transfer.status === 'consulting' ? { handedOver: true } : { input: { type: 'completed' } }
    }
    if ((event.type === 'hold' || event.type === 'unhold') && event.channel === agent) return agentHoldOutcome(transfer, event.type)
  }
  return dialOutcome(transfer, event)
}

/** In a three-way (Asterisk's attended transfer is over): whoever leaves decides. */
function threeWayHangup (transfer: TrackedTransfer, channel: string): TrackerOutcome | undefined {
  if (channel === transfer.channels.agent) return { input: { type: 'completed' } }
  if (channel === transfer.channels.target) return { input: { type: 'cancelled' } }
  return undefined
}

/** The agent held or resumed: a swap (held first), an abort (resumed alone), or nothing (a three-way). */
function agentHoldOutcome (transfer: TrackedTransfer, type: 'hold' | 'unhold'): TrackerOutcome | undefined {
  if (transfer.status === 'three_way') return undefined
  if (type === 'hold') {
    if (transfer.status === 'target_answered') return { agentHeld: true }
    // Swapped to the customer while the target rings, the swap back to the ringing target holds the
    // agent and moves them; no Unhold follows.
    if (transfer.status === 'consulting' && transfer.talkingTo === 'customer') return { input: { type: 'swapped', talkingTo: 'target' } }
    return undefined
  }
  if (transfer.status === 'target_answered' && transfer.agentHeld === true) {
    return { agentHeld: false, firstToLeave: null, input: { type: 'swapped', talkingTo: swapSide(transfer.talkingTo) } }
  }
  // While the target rings, Asterisk's swap (to the customer) unholds the agent just as an abort does.
  if (transfer.status === 'consulting' && transfer.talkingTo !== 'customer' && transfer.cancelRequested !== true) return { aborted: true, mayBeSwap: true }
  return { aborted: true }
}
