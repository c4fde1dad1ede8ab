/**
 * The events a transfer publishes, with the names the softphones already listen for. Each carries the
 * transfer as it is after the change. The host app and the WebSocket feed subscribe to this emitter.
 */
import { EventEmitter } from 'node:events'
import type { Transfer } from '../domain/transfer.js'
import type { TransferState } from './state.js'

export type { Transfer }
export type TransferType = Transfer['type']

export interface TransferEventMap {
  'call:transfer_initiated': Transfer
  /** Blind: Asterisk accepted the Redirect (the customer is on its way to the target). */
  'call:ami_transfer_complete': Transfer
  'call:ami_transfer_failed': Transfer
  'call:ami_attended_transfer_started': Transfer
  'call:ami_attended_transfer_completed': Transfer
  'call:ami_attended_transfer_cancelled': Transfer
  /** Any other change: answered, target_answered, recalling, abandoned. */
  'call:transfer_updated': Transfer
}

export type TransferEventName = keyof TransferEventMap

/** The event that announces a transfer entering each state. */
export const EVENT_FOR_STATE: Record<TransferState, TransferEventName> = {
  initiated: 'call:transfer_initiated',
  redirected: 'call:ami_transfer_complete',
  consulting: 'call:ami_attended_transfer_started',
  completed: 'call:ami_attended_transfer_completed',
  cancelled: 'call:ami_attended_transfer_cancelled',
  failed: 'call:ami_transfer_failed',
  answered: 'call:transfer_updated',
  recalling: 'call:transfer_updated',
  target_answered: 'call:transfer_updated',
  abandoned: 'call:transfer_updated'
}

type EmitterMap = { [K in TransferEventName]: [TransferEventMap[K]] }

export class TransferEvents extends EventEmitter<EmitterMap> {}
