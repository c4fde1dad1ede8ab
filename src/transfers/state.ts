/**
 * The life of a transfer as a pure state machine: which input moves a transfer from which state to
 * which. No I/O and no Asterisk names here: `transfers/tracker.ts` turns Asterisk events into these
 * inputs. Every transition is unit-tested.
 *
 *   blind:     initiated -> redirected -> answered
 *              redirected -> recalling -> failed (the target did not take the call; transfer recall
 *              brings the customer back to the agent or to the fallback: the failure keeps its reason)
 *   attended:  initiated -> consulting -> target_answered -> completed | cancelled
 *              target_answered -> target_answered (swapped: the agent goes to the customer or back)
 *              target_answered -> three_way -> completed (the agent left) | cancelled (the target left)
 *              consulting -> three_way (the agent's phone pressed three-way while the target rang: the
 *              customer joins the agent, the target joins both when answering)
 *              consulting -> consulting (swapped: the agent's phone went back to the customer while the
 *              target rings, or back to the ringing target)
 *   failures:  initiated | redirected | consulting | target_answered -> failed (with a reason)
 *   any state that is not final -> abandoned when the customer hangs up, failed when it is lost
 *     (its calls gone while the plugin could not see them, or past its deadline)
 */
import type { FailureReason, Recall, TransferStatus } from '../domain/transfer.js'

/** Whom a swap leaves the agent with. */
export type SwapSide = 'customer' | 'target'

/** Why a target did not take the call. */
export type TargetFailure = 'target_busy' | 'no_answer' | 'target_unavailable'

export type TransferInput =
  /** Asterisk accepted the Redirect of the customer. */
  | { type: 'redirect_accepted' }
  /** The Hold and the dial to the target proved the consultation started. */
  | { type: 'consultation_started' }
  | { type: 'target_answered' }
  /** The target did not take the call: busy, no answer, unreachable... */
  | { type: 'target_failed', reason: TargetFailure }
  | { type: 'target_hung_up' }
  /** The customer ended up bridged with the target (the agent left). */
  | { type: 'completed' }
  /** The consultation ended and the agent is back with the customer. */
  | { type: 'cancelled' }
  | { type: 'customer_hung_up' }
  /** Attended, target answered: the agent went over to the customer or back to the target. */
  | { type: 'swapped', talkingTo: SwapSide }
  /** Attended: customer, agent and target are in one call. */
  | { type: 'three_way' }
  | { type: 'action_failed', reason: 'unknown_target' | 'asterisk_refused' | 'timed_out' }
  /** Blind: the customer reached a destination that answers without a dial (voicemail, an IVR, a queue). */
  | { type: 'delivered' }
  /** Blind with recall: the target did not take the call, the customer is on the way back. */
  | { type: 'recall_started', reason: TargetFailure }
  /** Where the recalled customer went: the agent, the fallback, or nowhere. */
  | { type: 'recalled', recall: Recall }
  /** Found by reconciliation or a deadline: the transfer cannot go on. */
  | { type: 'lost', reason: LostReason }

/** Why a transfer was lost: Asterisk restarted, its calls ended unseen, or it outlived its deadline. */
export type LostReason = 'asterisk_restarted' | 'call_ended' | 'deadline_exceeded'

/** What a transition reads and answers: the status, and why it failed once it did. */
export interface StatusAndReason {
  state: TransferStatus
  reason?: FailureReason
}

/** Inputs each state accepts, and where they lead. Anything not listed leaves the state as it is. */
const TRANSITIONS: { readonly [S in TransferStatus]?: Partial<Record<TransferInput['type'], TransferStatus>> } = {
  initiated: { redirect_accepted: 'redirected', consultation_started: 'consulting', action_failed: 'failed', customer_hung_up: 'abandoned', lost: 'failed' },
  redirected: {
    target_answered: 'answered',
    delivered: 'answered',
    target_failed: 'failed',
    recall_started: 'recalling',
    target_hung_up: 'failed',
    action_failed: 'failed',
    customer_hung_up: 'abandoned',
    lost: 'failed'
  },
  // The failure happened already (its reason is kept); only where the customer went is left to learn.
  recalling: { recalled: 'failed', customer_hung_up: 'abandoned', lost: 'failed' },
  consulting: {
    target_answered: 'target_answered',
    target_failed: 'failed',
    target_hung_up: 'failed',
    // The agent may hang up while the target still rings: Asterisk then hands the customer over.
    completed: 'completed',
    cancelled: 'cancelled',
    // Asterisk's three-way works while the target rings too (from the phone's own feature key), and
    // so does its swap: the agent goes back to the customer while the target keeps ringing, and back.
    three_way: 'three_way',
    swapped: 'consulting',
    action_failed: 'failed',
    customer_hung_up: 'abandoned',
    lost: 'failed'
  },
  target_answered: {
    completed: 'completed',
    cancelled: 'cancelled',
    swapped: 'target_answered',
    three_way: 'three_way',
    target_hung_up: 'failed',
    customer_hung_up: 'abandoned',
    lost: 'failed'
  },
  // The agent leaving hands the customer to the target (completed); the target leaving, whether the
  // agent dropped them or they hung up, leaves the customer with the agent, as a cancel does: in a
  // three-way everyone has talked, so the target leaving is how the consultation normally ends, not a
  // failed transfer.
  three_way: { completed: 'completed', cancelled: 'cancelled', customer_hung_up: 'abandoned', lost: 'failed' }
}

function failureReason (input: TransferInput): FailureReason | undefined {
  switch (input.type) {
    case 'target_failed':
    case 'recall_started':
    case 'action_failed':
    case 'lost':
      return input.reason
    case 'target_hung_up':
      return 'target_hung_up'
    default:
      return undefined
  }
}

/** The status after `input`, or undefined when the input does not apply in the current state. */
export function transition (status: StatusAndReason, input: TransferInput): StatusAndReason | undefined {
  const next = TRANSITIONS[status.state]?.[input.type]
  if (next === undefined) return undefined
  // A recall ends failed for the reason the target failed with, found when the recall started.
  const reason = next === 'failed' || next === 'recalling' ? failureReason(input) ?? status.reason : undefined
  return reason === undefined ? { state: next } : { state: next, reason }
}

/**
 * Whether an agent may complete it: once the target answered the consultation. Before, completing
 * would hand the customer to a phone nobody answered, and lose them if nobody does.
 */
export function canComplete (state: TransferStatus): boolean {
  return state === 'target_answered' || state === 'three_way'
}

/** Whether an agent may cancel it: during the consultation, answered or not, and in a three-way (the target is dropped). */
export function canCancel (state: TransferStatus): boolean {
  return state === 'consulting' || state === 'target_answered' || state === 'three_way'
}

/**
 * Whether an agent may swap or start a three-way: once the target answered, while Asterisk's attended
 * transfer still runs (a three-way ends it: from there the agent leaves or drops the target).
 */
export function canSwap (state: TransferStatus): boolean {
  return state === 'target_answered'
}

export function canThreeWay (state: TransferStatus): boolean {
  return state === 'target_answered'
}
