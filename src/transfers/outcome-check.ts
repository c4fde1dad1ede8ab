/**
 * Whether the PBX shows what an outcome reported by Asterisk's events means. Events alone mislead:
 * when the customer hangs up while the target still rings, Asterisk aborts the consultation and
 * sends `AttendedTransfer` Fail *before* the customer's `Hangup`, which reads like a cancel. So an
 * outcome is declared only once the bridges agree. Pure: the service takes the snapshots.
 */
import type { CallSnapshot } from '../asterisk/pbx.js'
import { bridgedParty } from './call-topology.js'
import type { TransferInput } from './state.js'
import type { TransferType } from './transfer-events.js'

export interface OutcomeChannels {
  agent: string
  peer: string
  target?: string
}

/** Outcomes that are checked on the bridges before they are applied. */
export type CheckedInput = Extract<TransferInput, { type: 'completed' | 'cancelled' | 'target_answered' }>

export type OutcomeCheck =
  /** The bridges show it. */
  | 'confirmed'
  /** The customer's channel is gone: whatever Asterisk said, the customer hung up. */
  | 'customer_gone'
  /** Not (yet) visible: channels may still be moving between bridges. */
  | 'not_yet'

/** Completed and cancelled always; answered only for a blind transfer (an attended one's answer is the consultation). */
export function needsCheck (type: TransferType, input: TransferInput): input is CheckedInput {
  return input.type === 'completed' || input.type === 'cancelled' || (input.type === 'target_answered' && type === 'blind')
}

export function checkOutcome (channels: OutcomeChannels, input: CheckedInput, snapshot: CallSnapshot): OutcomeCheck {
  if (!snapshot.channels.some((channel) => channel.name === channels.peer)) return 'customer_gone'
  const party = bridgedParty(snapshot, channels.peer)?.name
  if (party === undefined) return 'not_yet'
  // Cancelled means the agent is back with the customer.
  if (input.type === 'cancelled') return party === channels.agent ? 'confirmed' : 'not_yet'
  // Answered or completed: the customer is with the target's leg (any leg but the agent's when it is not known yet).
  const withTarget = channels.target === undefined ? party !== channels.agent : party === channels.target
  return withTarget ? 'confirmed' : 'not_yet'
}
