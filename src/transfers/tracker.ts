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
 * - the customer hanging up abandons any transfer that is not over.
 * Pure: the caller applies the returned input to `state.ts`, after checking answered, completed and
 * cancelled on the bridges (`outcome-check.ts`): an `AttendedTransfer` Fail also comes when the
 * customer hangs up while the target rings, just before the customer's `Hangup`.
 */
import type { PbxEvent } from '../asterisk/ami-events.js'
import { localCounterpart } from '../asterisk/channel-name.js'
import type { TransferInput, TransferState } from './state.js'
import type { TransferType } from './transfer-events.js'

export interface TrackedTransfer {
  type: TransferType
  status: TransferState
  channels: { agent: string, peer: string, consultation?: string, target?: string }
  /** The target rings several legs (a queue): only the answer counts, not each leg's failure. */
  multiLeg?: boolean
  /** The agent left while the target rang: the customer now waits for the target's answer. */
  handedOver?: boolean
  /** Blind: the customer already reached a destination that answers by itself (a queue's wait). */
  reached?: boolean
}

export interface TrackerOutcome {
  input?: TransferInput
  /** Channels learned from the event (the target's leg once it is dialed). */
  channels?: { target?: string }
  /** Asterisk handed the customer to the still ringing target (see `TrackedTransfer.handedOver`). */
  handedOver?: true
  /** The customer reached a destination that answers by itself (see `TrackedTransfer.reached`). */
  reached?: true
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
const DIAL_FAILURES: Record<string, 'target_busy' | 'no_answer' | 'target_unavailable'> = {
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
  if (dialer === undefined || event.channel !== dialer) return undefined
  if (event.type === 'dialBegin') return transfer.multiLeg === true ? undefined : { channels: { target: event.destChannel } }
  if (event.dialStatus === 'ANSWER') {
    // Handed over, the answer joins the customer and the target: the transfer is complete.
    const input = transfer.handedOver === true ? { type: 'completed' as const } : { type: 'target_answered' as const }
    return { input, channels: { target: event.destChannel } }
  }
  if (transfer.multiLeg === true) return undefined
  const reason = DIAL_FAILURES[event.dialStatus]
  return reason === undefined ? undefined : { input: { type: 'target_failed', reason } }
}

export function interpretEvent (transfer: TrackedTransfer, event: PbxEvent): TrackerOutcome | undefined {
  const { agent, peer, target } = transfer.channels
  if (event.type === 'newExten') return deliveryOutcome(transfer, event)
  if (event.type === 'hangup') {
    if (event.channel === peer) return { input: transfer.reached === true ? { type: 'delivered' } : { type: 'customer_hung_up' } }
    // Local halves are ignored: Asterisk hangs them up when it optimises them away, not only at the end.
    if (target !== undefined && event.channel === target) return { input: { type: 'target_hung_up' } }
    return undefined
  }
  if (transfer.type === 'attended') {
    if (event.type === 'attendedTransfer' && event.transferer === agent) {
      if (event.result !== 'Success') return { input: { type: 'cancelled' } }
      return transfer.status === 'consulting' ? { handedOver: true } : { input: { type: 'completed' } }
    }
    if (event.type === 'unhold' && event.channel === agent) return { input: { type: 'cancelled' } }
  }
  return dialOutcome(transfer, event)
}
