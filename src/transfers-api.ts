/**
 * `fastify.asteriskTransfers`: what the host app can do without HTTP: transfer, complete, cancel, look
 * things up, and subscribe to the same events the WebSocket feed carries (e.g. to write call history).
 */
import type { Registry } from 'prom-client'
import type { AgentService } from './agents/agent-service.js'
import type { AvailableAgent } from './agents/available-agents.js'
import type { Pbx } from './asterisk/pbx.js'
import type { EventLog, LoggedEventType } from './domain/event-log.js'
import type { FeedEnvelope, FeedEventData } from './domain/feed-events.js'
import type { LocatedCall, TransferRequest, TransferService } from './transfers/transfer-service.js'
import type { Transfer } from './domain/transfer.js'

export interface AsteriskTransfers {
  transfer (request: TransferRequest): Promise<Transfer>
  complete (transferId: string): Promise<Transfer>
  cancel (transferId: string): Promise<Transfer>
  getTransfer (transferId: string): Transfer | undefined
  activeTransfers (): Transfer[]
  getChannelForExtension (extension: string): Promise<LocatedCall>
  availableAgents (caller?: string): Promise<AvailableAgent[]>
  /**
   * Subscribes to one type of event; returns the function that unsubscribes. With several instances on
   * Redis a handler runs once per event across them, on the instance that published it (a call history
   * gets one row, not one per instance); `everyInstance: true` runs it on each instance, for every event.
   */
  on<K extends LoggedEventType> (type: K, handler: (data: FeedEventData<K>, envelope: FeedEnvelope<K>) => void | Promise<void>, options?: OnOptions): () => void
  connectionState (): { ami: boolean, ari: boolean }
  /** The plugin's Prometheus registry when `metrics` is on (to merge into the host's, or serve elsewhere). */
  readonly metrics: Registry | undefined
}

export interface OnOptions {
  /** Run on every instance for every event, not once on the instance that published it. Default false. */
  everyInstance?: boolean
}

export interface TransfersApiParts {
  transfers: TransferService
  agents: Pick<AgentService, 'all' | 'available'>
  pbx: Pick<Pbx, 'connectionState'>
  eventLog: EventLog
  /** Where a rejection of an async handler given to `on` goes. */
  onHandlerError: (error: unknown, envelope: FeedEnvelope) => void
  metrics?: Registry
}

export function createTransfersApi ({ transfers, agents, pbx, eventLog, onHandlerError, metrics }: TransfersApiParts): AsteriskTransfers {
  return {
    transfer: async (request) => await transfers.execute(request),
    complete: async (id) => await transfers.complete(id),
    cancel: async (id) => await transfers.cancel(id),
    getTransfer: (id) => transfers.getHere(id),
    activeTransfers: () => transfers.activeHere(),
    getChannelForExtension: async (extension) => await transfers.getChannelForExtension(extension),
    availableAgents: async (caller) => await agents.available(caller),
    on (type, handler, options = {}) {
      const everyInstance = options.everyInstance === true
      return eventLog.subscribe(({ envelope, local }) => {
        if (envelope.type !== type || (!local && !everyInstance)) return
        // An async handler's rejection would otherwise be unhandled: reported like a handler that throws.
        const result: unknown = handler(envelope.data as never, envelope as never)
        if (result instanceof Promise) result.catch((error: unknown) => { onHandlerError(error, envelope) })
      })
    },
    connectionState: () => pbx.connectionState(),
    metrics
  }
}
