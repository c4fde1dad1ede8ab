/**
 * The event feed as a softphone wants it: one WebSocket, opened on the first subscription, that comes
 * back by itself after any close (capped backoff, resume with `?since=<last id>`) and never delivers an
 * event twice. The server's 1001 (shutdown) and 4008 (slow consumer) both mean "reconnect and resume",
 * and a refused connection (401 before the upgrade) is indistinguishable from a network failure in
 * browsers. Only 4029 (too many sockets for this identity) waits the longest delay before trying again.
 */
import { backoffDelay } from './backoff.js'
import type { FeedEnvelope, FeedEventType, FeedHandler } from './types.js'

/**
 * The server's close code for a socket over its per-identity limit (the plugin's
 * TOO_MANY_SOCKETS_CLOSE_CODE; not imported, so that the client carries no server code).
 */
export const TOO_MANY_SOCKETS_CLOSE_CODE = 4029
/** Failures counted after a 4029: enough for the backoff to reach its ceiling, maxDelayMs. */
const CROWDED_FAILURES = 64

/** A callback type checked bivariantly, so both the DOM's and `ws`'s handler properties fit it. */
type Listener<E> = { bivarianceHack (event: E): void }['bivarianceHack']

/** What the client needs of a WebSocket: browsers', Node 22's global and the `ws` package's all fit. */
export interface FeedSocket {
  onopen: Listener<unknown> | null
  onmessage: Listener<{ data: unknown }> | null
  onclose: Listener<{ code: number, reason: string }> | null
  onerror: Listener<unknown> | null
  close (code?: number, reason?: string): void
}

export type WebSocketConstructor = new (url: string) => FeedSocket

/**
 * `open`: events flow (after a first connection, refetch state over HTTP: nothing before it is sent);
 * `reconnecting`: the socket closed or could not open, another try is scheduled; `closed`: close() ran.
 */
export type FeedStatus = 'open' | 'reconnecting' | 'closed'

export type FeedStatusHandler = (status: FeedStatus) => void

export interface ReconnectOptions {
  initialDelayMs: number
  maxDelayMs: number
}

export interface EventFeedOptions {
  /** The feed's URL, with the token, and `since` when resuming after the event with that id. */
  url: (since: number | undefined) => Promise<string>
  /** Undefined where the platform has none and none was given: subscribing then throws. */
  WebSocket: WebSocketConstructor | undefined
  reconnect: ReconnectOptions
  /** Gets what a handler threw (with the event, for an event handler); the other handlers run anyway. */
  onHandlerError: (error: unknown, envelope: FeedEnvelope | undefined) => void
}

type AnyHandler = (data: unknown, envelope: FeedEnvelope) => void

export class EventFeed {
  readonly #options: EventFeedOptions
  readonly #handlers = new Map<FeedEventType, Set<AnyHandler>>()
  readonly #statusHandlers = new Set<FeedStatusHandler>()
  #started = false
  #closed = false
  #socket: FeedSocket | undefined
  #retryTimer: ReturnType<typeof setTimeout> | undefined
  /** Connections in a row that failed or closed before opening: the backoff's exponent. */
  #failures = 0
  /** The id of the newest event delivered: where to resume, and below which an event is a repeat. */
  #lastId: number | undefined

  constructor (options: EventFeedOptions) {
    this.#options = options
  }

  on<K extends FeedEventType>(type: K, handler: FeedHandler<K>): () => void {
    this.#checkOpen()
    if (this.#options.WebSocket === undefined) {
      throw new TypeError('No WebSocket on this platform: pass the WebSocket option (on Node 20, the `ws` package\'s)')
    }
    // A wrapper per subscription, so the same function subscribed twice is unsubscribed once at a time.
    const entry: AnyHandler = (data, envelope) => { (handler as AnyHandler)(data, envelope) }
    const handlers = this.#handlers.get(type) ?? new Set()
    this.#handlers.set(type, handlers.add(entry))
    if (!this.#started) {
      this.#started = true
      void this.#connect()
    }
    return () => { handlers.delete(entry) }
  }

  /** Follows the connection (opened by the first `on`); answers the unsubscribe. */
  onStatus (handler: FeedStatusHandler): () => void {
    this.#checkOpen()
    const entry: FeedStatusHandler = (status) => { handler(status) }
    this.#statusHandlers.add(entry)
    return () => { this.#statusHandlers.delete(entry) }
  }

  /** Closes the socket and stops reconnecting; handlers get nothing more but the `closed` status. */
  close (): void {
    if (this.#closed) return
    this.#closed = true
    this.#handlers.clear()
    clearTimeout(this.#retryTimer)
    const socket = this.#socket
    this.#socket = undefined
    socket?.close(1000, 'client closed')
    this.#report('closed')
    this.#statusHandlers.clear()
  }

  #checkOpen (): void {
    if (this.#closed) throw new Error('The transfer client is closed: create a new one to subscribe again')
  }

  async #connect (): Promise<void> {
    let socket: FeedSocket
    try {
      const url = await this.#options.url(this.#lastId)
      if (this.#closed) return
      socket = new (this.#options.WebSocket as WebSocketConstructor)(url)
    } catch {
      // getToken failed: tried again like a refused connection.
      this.#retry()
      return
    }
    this.#socket = socket
    socket.onopen = () => {
      this.#failures = 0
      this.#report('open')
    }
    socket.onmessage = (event) => { this.#receive(event.data) }
    // The close that follows an error says all; a listener also keeps `ws` from throwing it.
    socket.onerror = () => {}
    socket.onclose = (event) => {
      if (this.#socket !== socket) return
      this.#socket = undefined
      // This identity already holds the server's maximum of sockets (other tabs, a leak): trying again
      // soon would be refused again, so wait the longest delay, whatever the opened socket reset.
      if (event.code === TOO_MANY_SOCKETS_CLOSE_CODE) this.#failures = CROWDED_FAILURES
      this.#retry()
    }
  }

  #retry (): void {
    if (this.#closed) return
    const delay = backoffDelay(this.#failures++, { ...this.#options.reconnect, jitter: RECONNECT_JITTER })
    this.#retryTimer = setTimeout(() => { void this.#connect() }, delay)
    this.#report('reconnecting')
  }

  #report (status: FeedStatus): void {
    for (const handler of [...this.#statusHandlers]) this.#run(() => { handler(status) }, undefined)
  }

  #receive (data: unknown): void {
    const envelope = parseEnvelope(data)
    if (envelope === undefined) return
    if (envelope.type === 'feed:store') {
      // A notice about this server's link to the shared state, not an event of the log: no id of its own.
      this.#dispatch(envelope)
      return
    }
    if (envelope.type === 'feed:gap') {
      // The events that follow the notice start at oldestAvailable, numbered anew if the server restarted.
      this.#lastId = envelope.data.oldestAvailable - 1
    } else if (this.#lastId !== undefined && envelope.id <= this.#lastId) {
      return
    } else {
      this.#lastId = envelope.id
    }
    this.#dispatch(envelope)
  }

  #dispatch (envelope: FeedEnvelope): void {
    for (const handler of [...this.#handlers.get(envelope.type) ?? []]) this.#run(() => { handler(envelope.data, envelope) }, envelope)
  }

  #run (call: () => void, envelope: FeedEnvelope | undefined): void {
    try {
      call()
    } catch (error) {
      this.#options.onHandlerError(error, envelope)
    }
  }
}

/**
 * Spread over the upper half of the capped delay: after a server restart every softphone reconnects
 * at once, and a wide spread keeps them from arriving together.
 */
const RECONNECT_JITTER = [0.5, 1] as const

/** An envelope, or undefined for anything else (binary frames, other JSON). */
function parseEnvelope (data: unknown): FeedEnvelope | undefined {
  if (typeof data !== 'string') return undefined
  let message: unknown
  try {
    message = JSON.parse(data)
  } catch {
    return undefined
  }
  if (typeof message !== 'object' || message === null) return undefined
  const { id, type, data: payload } = message as Record<string, unknown>
  if (!Number.isSafeInteger(id) || typeof type !== 'string' || typeof payload !== 'object' || payload === null) return undefined
  if (type === 'feed:gap' && !Number.isSafeInteger((payload as { oldestAvailable?: unknown }).oldestAvailable)) return undefined
  if (type === 'feed:hello' && !Number.isSafeInteger((payload as { lastId?: unknown }).lastId)) return undefined
  return message as FeedEnvelope
}
