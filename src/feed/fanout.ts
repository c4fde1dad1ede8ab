/**
 * Hands each event of the log to the feed's sockets that may see it, and only to them: sockets are
 * indexed by who they are (supervisors; agents by extension), so an event for one agent costs the
 * sockets of that agent and of the supervisors, not one visibility check per connected socket.
 * An event for everyone goes to every socket, which is its audience.
 */
import type { Identity } from '../identity.js'
import type { EventLog, StoredEvent } from '../domain/event-log.js'

export type Deliver = (event: StoredEvent) => void

export class FeedFanout {
  readonly #supervisors = new Set<Deliver>()
  readonly #agents = new Map<string, Set<Deliver>>()
  readonly #unsubscribe: () => void

  constructor (eventLog: EventLog) {
    this.#unsubscribe = eventLog.subscribe((event) => { this.#dispatch(event) })
  }

  /** Calls `deliver`, synchronously inside the log's append, with every new event `identity` may see. */
  subscribe (identity: Identity, deliver: Deliver): () => void {
    if (identity.role === 'supervisor') {
      this.#supervisors.add(deliver)
      return () => { this.#supervisors.delete(deliver) }
    }
    const { extension } = identity
    let delivers = this.#agents.get(extension)
    if (delivers === undefined) this.#agents.set(extension, delivers = new Set())
    delivers.add(deliver)
    return () => {
      delivers.delete(deliver)
      if (delivers.size === 0 && this.#agents.get(extension) === delivers) this.#agents.delete(extension)
    }
  }

  close (): void {
    this.#unsubscribe()
    this.#supervisors.clear()
    this.#agents.clear()
  }

  #dispatch (event: StoredEvent): void {
    for (const deliver of this.#supervisors) deliver(event)
    if (event.audience === 'everyone') {
      for (const delivers of this.#agents.values()) for (const deliver of delivers) deliver(event)
      return
    }
    // An extension named twice reaches its sockets once: each socket skips an id it already handled.
    for (const extension of event.audience.extensions) {
      for (const deliver of this.#agents.get(extension) ?? []) deliver(event)
    }
  }
}
