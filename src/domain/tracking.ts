/**
 * What the plugin learns about a transfer beyond its record, from Asterisk's events: one shape, read
 * by the tracker (`transfers/tracker.ts`), held by the transfer in progress (`transfers/active-transfer.ts`)
 * and stored for the other instances (`store/transfer-store.ts`).
 *
 * Two kinds, by what survives a takeover (another instance going on with a transfer whose owner is gone):
 * - `TransferTracking` is stored with the record on every change: facts that no later event repeats
 *   (the customer handed over, a queue reached, the cancel asked for, the target hung up, the recall
 *   route, when the consultation began and its no-answer timeout). A new owner needs them to read the
 *   events that follow the way the old owner would have.
 * - `MomentaryTracking` lives only on the instance that follows the transfer: where a swap stands (the
 *   agent held) and who left the consultation's bridges first. They describe the last few events; a new
 *   owner, which missed those events, checks the bridges instead (reconciliation), so storing them
 *   would only carry stale moments across.
 */

export interface TransferTracking {
  /** Attended: the agent left while the target rang, and Asterisk handed the customer to the target. */
  handedOver: boolean
  /** Blind: the customer reached a destination that answers by itself (it waits in a queue). */
  reached: boolean
  /** Attended: the plugin sent CancelAtxfer: the abort that follows is a cancel. */
  cancelRequested: boolean
  /** Attended: the target's leg hung up after answering. */
  targetHungUp: boolean
  /** Blind: sent through the recall context (the customer comes back if the target does not answer). */
  recall?: { context: string, fallback?: string }
  /** Attended: when the consultation started (ms since the epoch). */
  consultingSince?: number
  /** Attended: the agent channel's `atxfernoanswertimeout`, once read. */
  noAnswerTimeoutMs?: number
}

export interface MomentaryTracking {
  /** Attended, target answered: Asterisk held the agent, the first step of a swap. */
  agentHeld: boolean
  /**
   * Attended, talking with the answered target: who left the consultation's bridges first since the
   * agent and the target were last bridged (the cause of an abort: see `transfers/tracker.ts`).
   */
  firstToLeave?: 'agent' | 'target'
}

/** A transfer that has just started: nothing learned yet. */
export function freshTracking (): TransferTracking {
  return { handedOver: false, reached: false, cancelRequested: false, targetHungUp: false }
}
