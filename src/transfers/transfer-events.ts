/**
 * The events a transfer publishes, with the names the softphones already listen for. Each carries the
 * transfer as it is after the change. The host app and the WebSocket feed subscribe to this emitter.
 */
import { EventEmitter } from 'node:events'
import type { Transfer, TransferStatus } from '../domain/transfer.js'
import type { TransferInput } from './state.js'

export interface TransferEventMap {
  'call:transfer_initiated': Transfer
  /** Blind: Asterisk accepted the Redirect (the customer is on its way to the target). */
  'call:ami_transfer_complete': Transfer
  'call:ami_transfer_failed': Transfer
  'call:ami_attended_transfer_started': Transfer
  'call:ami_attended_transfer_completed': Transfer
  'call:ami_attended_transfer_cancelled': Transfer
  /** Attended: the agent went over to the customer or back to the target (see `talkingTo`). */
  'call:transfer_swapped': Transfer
  /** Attended: customer, agent and target are in one call. */
  'call:transfer_three_way': Transfer
  /** Any other change: answered, target_answered, recalling, abandoned. */
  'call:transfer_updated': Transfer
}

export type TransferEventName = keyof TransferEventMap

/** The event that announces a transfer entering each state. */
export const EVENT_FOR_STATE: Record<TransferStatus, TransferEventName> = {
  initiated: 'call:transfer_initiated',
  redirected: 'call:ami_transfer_complete',
  consulting: 'call:ami_attended_transfer_started',
  completed: 'call:ami_attended_transfer_completed',
  cancelled: 'call:ami_attended_transfer_cancelled',
  failed: 'call:ami_transfer_failed',
  answered: 'call:transfer_updated',
  recalling: 'call:transfer_updated',
  target_answered: 'call:transfer_updated',
  three_way: 'call:transfer_three_way',
  abandoned: 'call:transfer_updated'
}

/** Every event a transfer may publish (subscribe to these to see them all). */
export const TRANSFER_EVENTS: readonly TransferEventName[] = [...new Set(Object.values(EVENT_FOR_STATE)), 'call:transfer_swapped']

/** The event that announces a change: the new state's, except for a swap, which keeps the state. */
export function eventFor (status: TransferStatus, input?: TransferInput): TransferEventName {
  return input?.type === 'swapped' ? 'call:transfer_swapped' : EVENT_FOR_STATE[status]
}

type EmitterMap = { [K in TransferEventName]: [TransferEventMap[K]] }

export class TransferEvents extends EventEmitter<EmitterMap> {}
