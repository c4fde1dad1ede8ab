/**
 * Whom the agent talks to during an attended transfer, after each change of the transfer: the target
 * from the start of the consultation, the customer or the target again after each swap, both in a
 * three-way, and nobody the transfer speaks for once it is over. Pure.
 */
import { type TalkingTo, isFinal, type TransferStatus, type TransferType } from '../domain/transfer.js'
import { type TransferInput } from './state.js'

export type { TalkingTo }

export function talkingToAfter (type: TransferType, current: TalkingTo | undefined, input: TransferInput, next: TransferStatus): TalkingTo | undefined {
  if (type !== 'attended' || isFinal(next)) return undefined
  if (input.type === 'swapped') return input.talkingTo
  if (next === 'three_way') return 'both'
  if (next === 'consulting' || next === 'target_answered') return current ?? 'target'
  return current
}

/** Where a swap takes the agent from here. */
export function swapSide (current: TalkingTo | undefined): 'customer' | 'target' {
  return current === 'customer' ? 'target' : 'customer'
}
