/**
 * What a transfer takes from one of the tracker's outcomes (`tracker.ts`): the facts it learns, the
 * target leg it now names, and what must follow: an input to apply, one to confirm on the bridges
 * first, or an abort to judge. Pure: the event router applies the answer.
 */
import { localCounterpart } from '../asterisk/channel-name.js'
import type { MomentaryTracking, TransferTracking } from '../domain/tracking.js'
import type { Transfer } from '../domain/transfer.js'
import { needsCheck, type CheckedInput } from './outcome-check.js'
import type { TransferInput } from './state.js'
import type { TrackerOutcome } from './tracker.js'

export type NextStep =
  /** Nothing to apply. */
  | { kind: 'none' }
  | { kind: 'apply', input: TransferInput }
  /** Applied once the bridges show it (`outcome-check.ts`). */
  | { kind: 'confirm', input: CheckedInput }
  /** Asterisk ended the consultation: why is judged on the bridges; while the target rings it may be a swap. */
  | { kind: 'judge_abort', mayBeSwap: boolean }

export interface Absorbed {
  tracking: TransferTracking
  momentary: MomentaryTracking
  /** The target leg to record, when the outcome names a better one than the record does. */
  target?: string
  /** Asterisk just handed the customer to the ringing target (worth a log line). */
  handedOver: boolean
  next: NextStep
}

export interface AbsorbingTransfer {
  record: Transfer
  tracking: TransferTracking
  momentary: MomentaryTracking
  /** An outcome check runs: what follows an outcome is its consequence, not news. */
  confirming: boolean
}

export function absorbOutcome (transfer: AbsorbingTransfer, outcome: TrackerOutcome): Absorbed {
  const tracking: TransferTracking = { ...transfer.tracking }
  const momentary: MomentaryTracking = { ...transfer.momentary }
  if (outcome.handedOver === true) tracking.handedOver = true
  if (outcome.reached === true) tracking.reached = true
  if (outcome.targetHungUp === true) tracking.targetHungUp = true
  if (outcome.recallSkipped === true) delete tracking.recall
  if (outcome.agentHeld !== undefined) momentary.agentHeld = outcome.agentHeld
  if (outcome.firstToLeave !== undefined) momentary.firstToLeave = outcome.firstToLeave ?? undefined
  const known = transfer.record.channels.target
  const learned = outcome.channels?.target
  // A Local leg (the recall context's dial) gives way to the real leg behind it.
  const target = learned !== undefined && (known === undefined || localCounterpart(known) !== undefined || outcome.input?.type === 'target_answered') ? learned : undefined
  return { tracking, momentary, ...(target === undefined ? {} : { target }), handedOver: outcome.handedOver === true, next: nextStep(transfer, outcome) }
}

function nextStep (transfer: AbsorbingTransfer, outcome: TrackerOutcome): NextStep {
  if (outcome.aborted === true) return transfer.confirming ? { kind: 'none' } : { kind: 'judge_abort', mayBeSwap: outcome.mayBeSwap === true }
  const input = outcome.input
  if (input === undefined) return { kind: 'none' }
  // What follows an outcome (the consultation's channels hanging up after a cancel) is its
  // consequence, not news; only the customer hanging up can still change its meaning.
  if (transfer.confirming && input.type !== 'customer_hung_up') return { kind: 'none' }
  return needsCheck(transfer.record.type, input) ? { kind: 'confirm', input } : { kind: 'apply', input }
}
