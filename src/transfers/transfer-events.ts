/**
 * The events a transfer publishes, with the names the softphones already listen for. The in-process
 * emitter is what the host app (and, later, the WebSocket feed) subscribes to.
 */
import { EventEmitter } from 'node:events'

export type TransferType = 'blind' | 'attended'

export type TransferStatus = 'initiated' | 'redirected' | 'consulting' | 'failed'

export interface TransferSummary {
  id: string
  type: TransferType
  status: TransferStatus
  /** The agent extension whose call is transferred. */
  extension: string
  targetExtension: string
  /** Who asked for it (the authenticated extension). */
  requestedBy: string
  channels: { agent: string, peer: string }
  createdAt: string
}

export interface TransferFailure extends TransferSummary {
  status: 'failed'
  error: { code: string, message: string }
}

export interface TransferEventMap {
  'call:transfer_initiated': TransferSummary
  'call:ami_transfer_complete': TransferSummary
  'call:ami_transfer_failed': TransferFailure
  'call:ami_attended_transfer_started': TransferSummary & { consultationChannel: string }
}

export type TransferEventName = keyof TransferEventMap

type EmitterMap = { [K in TransferEventName]: [TransferEventMap[K]] }

export class TransferEvents extends EventEmitter<EmitterMap> {}
