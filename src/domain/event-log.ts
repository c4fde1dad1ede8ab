/**
 * The feed's memory: the last `capacity` events, numbered firstId + 1, + 2, + 3… in one server process
 * (the plugin starts each process's numbering at its boot time, so ids never repeat across restarts), or
 * numbered by a log shared by several instances (`insert`, see store/redis-feed.ts), so a client
 * that reconnects with the last id it saw gets exactly what it missed, or learns that it missed too much.
 * No sockets here: the WebSocket route subscribes to it.
 */
import type { Audience } from './visibility.js'
import type { FeedEnvelope, FeedEventData, FeedEventType } from './feed-events.js'

export type { Audience }

export interface StoredEvent {
  readonly envelope: FeedEnvelope
  readonly audience: Audience
  /** The envelope serialised once at append, sent as is to every socket that may see it. */
  readonly json: string
  /**
   * Published by this process (always, in one process); false for one another instance published into
   * a shared log: host handlers run once per event, where it was published.
   */
  readonly local: boolean
}

/** Events that are published to everyone who may see them; `feed:gap`, `feed:hello` and `feed:store` are per socket, never logged. */
export type LoggedEventType = Exclude<FeedEventType, 'feed:gap' | 'feed:hello' | 'feed:store'>

export interface Backlog {
  /** The buffered events the client has not seen, oldest first. */
  events: StoredEvent[]
  /** Present when events the client has not seen are no longer buffered. */
  gap?: { since: number, oldestAvailable: number }
}

export type EventListener = (event: StoredEvent) => void

export interface EventLogOptions {
  /** How many events are kept for clients that reconnect. Default 1000. */
  capacity?: number
  /** The clock of `timestamp`; tests pin it. */
  now?: () => Date
  /**
   * Where a listener's error goes. The other listeners get the event anyway (one failing subscriber
   * must not cut the feed of the others); without this option `append` throws the first error after
   * every listener ran.
   */
  onListenerError?: (error: unknown, event: StoredEvent) => void
  /** The id before the first event (default 0: ids 1, 2, 3…). See `bootFirstId`. */
  firstId?: number
}

/** 2024-01-01T00:00:00Z: ids count from there, so they stay within 15 digits until 2055. */
export const ID_EPOCH_MS = 1_704_067_200_000

/**
 * A first id that no earlier process of this service used: the boot millisecond times a thousand. An
 * earlier process would have had to publish a thousand events per millisecond of its life to reach
 * it, so a client resuming with an id from before a restart is always told of the gap, never given
 * others' events.
 */
export function bootFirstId (nowMs: number = Date.now()): number {
  return Math.max(0, Math.floor(nowMs) - ID_EPOCH_MS) * 1000
}

export const DEFAULT_EVENT_LOG_CAPACITY = 1000

export class EventLog {
  readonly capacity: number
  #now: () => Date
  #onListenerError: EventLogOptions['onListenerError']
  /** A ring of the newest events in id order: `#count` of them, the oldest at `#head`. */
  #slots: Array<StoredEvent | undefined>
  #head = 0
  #count = 0
  /**
   * The newest id a client may have seen without seeing every event kept here: `firstId` until the
   * ring drops its first event, then the id of the last event dropped. A client that resumes from an
   * older id missed something.
   */
  #droppedUpTo: number
  #lastId: number
  #listeners = new Set<EventListener>()

  constructor ({ capacity = DEFAULT_EVENT_LOG_CAPACITY, now = () => new Date(), onListenerError, firstId = 0 }: EventLogOptions = {}) {
    if (!Number.isSafeInteger(firstId) || firstId < 0) throw new RangeError(`EventLog firstId must be a non-negative integer, got ${String(firstId)}`)
    this.#droppedUpTo = firstId
    this.#lastId = firstId
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(`EventLog capacity must be a positive integer, got ${String(capacity)}`)
    }
    this.capacity = capacity
    this.#now = now
    this.#onListenerError = onListenerError
    this.#slots = new Array<StoredEvent | undefined>(capacity)
  }

  /** The id of the newest event, `firstId` before the first. */
  get lastId (): number {
    return this.#lastId
  }

  /** The id of the oldest event still buffered; `lastId + 1` while the log is empty. */
  get oldestId (): number {
    return this.#count === 0 ? this.#lastId + 1 : (this.#at(0) as StoredEvent).envelope.id
  }

  /** Numbers the event itself (one process: the embedded feed) and hands it to the subscribers. */
  append<K extends LoggedEventType>(type: K, data: FeedEventData<K>, audience: Audience): StoredEvent {
    const envelope = { id: this.#lastId + 1, type, timestamp: this.#now().toISOString(), data } as FeedEnvelope
    return this.insert(envelope, audience)
  }

  /**
   * Keeps an event numbered elsewhere (a log shared by several instances: ids are increasing but may
   * skip) and hands it to the subscribers. An id not above `lastId` was kept already and is ignored.
   */
  insert (envelope: FeedEnvelope, audience: Audience, local = true): StoredEvent {
    const event: StoredEvent = Object.freeze({ envelope, audience, json: JSON.stringify(envelope), local })
    if (envelope.id <= this.#lastId) return event
    if (this.#count === this.capacity) {
      this.#droppedUpTo = Math.max(this.#droppedUpTo, (this.#at(0) as StoredEvent).envelope.id)
      this.#slots[this.#head] = event
      this.#head = (this.#head + 1) % this.capacity
    } else {
      this.#slots[(this.#head + this.#count) % this.capacity] = event
      this.#count++
    }
    this.#lastId = envelope.id
    this.#notify(event)
    return event
  }

  /**
   * The events from now on may not follow on from those before: the shared log moved to a Redis master
   * that may have lost its newest events (store/redis-feed.ts). A client resuming from any id kept so
   * far is told of a gap, since what it missed may be gone.
   */
  markGap (): void {
    this.#droppedUpTo = Math.max(this.#droppedUpTo, this.#lastId + 1)
  }

  /**
   * What a client that last saw event `id` missed. An id beyond `lastId` comes from another server
   * process (this one restarted): its numbering means nothing here, so every buffered event is new to
   * that client, and what came before them is lost.
   */
  since (id: number): Backlog {
    const oldest = this.oldestId
    if (id > this.#lastId) {
      return { events: this.#from(0), gap: { since: id, oldestAvailable: oldest } }
    }
    const events = this.#from(this.#firstAfter(id))
    return id < this.#droppedUpTo ? { events, gap: { since: id, oldestAvailable: oldest } } : { events }
  }

  /** Calls `listener` synchronously, inside `append`, with every event appended from now on. */
  subscribe (listener: EventListener): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  #notify (event: StoredEvent): void {
    const errors: unknown[] = []
    for (const listener of this.#listeners) {
      try {
        listener(event)
      } catch (error) {
        if (this.#onListenerError === undefined) errors.push(error)
        else this.#onListenerError(error, event)
      }
    }
    if (errors.length > 0) throw errors[0]
  }

  #at (index: number): StoredEvent | undefined {
    return this.#slots[(this.#head + index) % this.capacity]
  }

  /** The index of the first buffered event with an id above `id` (binary search: ids increase). */
  #firstAfter (id: number): number {
    let low = 0
    let high = this.#count
    while (low < high) {
      const middle = (low + high) >>> 1
      if ((this.#at(middle) as StoredEvent).envelope.id <= id) low = middle + 1
      else high = middle
    }
    return low
  }

  #from (index: number): StoredEvent[] {
    const events: StoredEvent[] = []
    for (let i = index; i < this.#count; i++) events.push(this.#at(i) as StoredEvent)
    return events
  }
}
