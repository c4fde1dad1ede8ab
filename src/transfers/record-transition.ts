/**
 * A transfer's record after an input to its state machine (`state.ts`): the new state, why it failed,
 * whom the agent talks to, where a recalled customer went, the error of a failed action. Pure: the
 * ledger stores and announces what this returns.
 */
import type { Transfer } from '../domain/transfer.js'
import { transition, type TransferInput } from './state.js'
import { talkingToAfter } from './talking-to.js'

/** The record after `input` at time `now` (ms since the epoch); undefined when the input changes nothing. */
export function nextRecord (record: Transfer, input: TransferInput, now: number, error?: Transfer['error']): Transfer | undefined {
  const current = record.failureReason === undefined ? { state: record.status } : { state: record.status, reason: record.failureReason }
  const next = transition(current, input)
  if (next === undefined) return undefined
  const updated: Transfer = { ...record, status: next.state, updatedAt: new Date(now).toISOString() }
  if (next.reason !== undefined) updated.failureReason = next.reason
  if (error !== undefined) updated.error = error
  if (input.type === 'recalled') updated.recall = input.recall
  const talkingTo = talkingToAfter(record.type, record.talkingTo, input, next.state)
  if (talkingTo === undefined) delete updated.talkingTo
  else updated.talkingTo = talkingTo
  return updated
}
