/**
 * Every instance's view of the transfers in progress, whichever instance owns them, kept from the feed
 * (every transfer change is an event of the shared log, read by every instance): which transfer a
 * channel of a server is in (keyed by (server, channel)), for the calls' views (`call:status`, `GET /calls`). In one process it holds what the
 * service holds; with several it also holds the others'. A view, never a decision: the call lock in the
 * shared store decides who may transfer a call.
 */
import type { EventLog } from '../domain/event-log.js'
import { channelKey } from '../domain/server.js'
import { projectLog } from '../domain/log-projection.js'
import { isFinal, type Transfer } from '../domain/transfer.js'
import { TRANSFER_EVENTS } from './transfer-events.js'
import { channelKeysOf } from './transfer-registry.js'

const TRANSFER_TYPES: ReadonlySet<string> = new Set(TRANSFER_EVENTS)

export class TransferMirror {
  readonly #byId = new Map<string, Transfer>()
  readonly #byChannel = new Map<string, string>()
  readonly #unsubscribe: () => void
  readonly #eventLog: EventLog
  /** Transfer id -> who waits for its end to be published (`ended`). */
  readonly #endWaiters = new Map<string, Set<(transfer: Transfer) => void>>()

  constructor (eventLog: EventLog) {
    this.#eventLog = eventLog
    // Every event a transfer publishes, swaps included (they change whom the agent talks to), from
    // the next one on: the mirror never replayed the log's history, and still does not.
    this.#unsubscribe = projectLog(eventLog, TRANSFER_EVENTS, (transfer) => { this.#apply(transfer) }, { replay: false })
  }

  /** The transfer in progress a channel of a server is part of, as the feed last told. */
  onChannel (server: string, channel: string): Transfer | undefined {
    const id = this.#byChannel.get(channelKey(server, channel))
    return id === undefined ? undefined : this.#byId.get(id)
  }

  /**
   * A transfer's record as the feed last told, finished or not, while the log holds one of its events:
   * read from the log itself (newest first), as it is asked only when a transfer is taken over.
   */
  lastPublished (id: string): Transfer | undefined {
    const { events } = this.#eventLog.since(0)
    for (let i = events.length - 1; i >= 0; i--) {
      const { type, data } = (events[i] as (typeof events)[number]).envelope
      if (TRANSFER_TYPES.has(type) && (data as Transfer).id === id) return data as Transfer
    }
    return undefined
  }

  /**
   * The transfer's record as its end is published, from now on; never settles once `signal` aborts. The
   * feed is the second way an owner's answer reaches the instance that asked it to act: the owner
   * publishes the end, then answers, and over a Redis failover the answer alone may be lost.
   */
  async ended (id: string, signal: AbortSignal): Promise<Transfer> {
    return await new Promise((resolve) => {
      if (signal.aborted) return
      const waiters = this.#endWaiters.get(id) ?? new Set()
      const waiter = (transfer: Transfer): void => { forget(); resolve(transfer) }
      const forget = (): void => {
        waiters.delete(waiter)
        if (waiters.size === 0) this.#endWaiters.delete(id)
        signal.removeEventListener('abort', forget)
      }
      waiters.add(waiter)
      this.#endWaiters.set(id, waiters)
      signal.addEventListener('abort', forget)
    })
  }

  stop (): void {
    this.#unsubscribe()
    this.#byId.clear()
    this.#byChannel.clear()
  }

  #apply (transfer: Transfer): void {
    const previous = this.#byId.get(transfer.id)
    if (previous !== undefined) {
      for (const key of channelKeysOf(previous)) if (this.#byChannel.get(key) === transfer.id) this.#byChannel.delete(key)
    }
    if (isFinal(transfer.status)) {
      this.#byId.delete(transfer.id)
      for (const waiter of this.#endWaiters.get(transfer.id) ?? []) waiter(transfer)
      return
    }
    this.#byId.set(transfer.id, transfer)
    for (const key of channelKeysOf(transfer)) this.#byChannel.set(key, transfer.id)
  }
}
