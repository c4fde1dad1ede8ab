/**
 * Keeps an in-memory state in step with Asterisk: built from a snapshot at start and again after every
 * AMI reconnect (the events sent while AMI was down are lost), and moved on by every AMI event in between.
 * Events that arrive while a snapshot request is in flight are buffered and replayed over it in order, so
 * none is lost and the state does not drift. A snapshot that fails is retried with capped backoff.
 * The state, and what changing it publishes, belong to the caller: `apply` and `reset`.
 */
import { backoffDelay, type BackoffOptions } from '../client/backoff.js'
import { silentLogger, type Logger } from './logger.js'

/** The source's two links: the one its events come on (`ami`) and the one snapshots are asked on (`ari`). */
export interface SourceLinks {
  ami: boolean
  ari: boolean
}

/** What the state follows (the PBX, for the call monitor and the agents' states): its events and links. */
export interface SnapshotSource {
  // `any`: an EventEmitter<T> types each listener by its event's name; this takes the PBX's whatever its map.
  events: {
    on: (name: 'event' | 'connection', listener: (value: any) => void) => unknown
    off: (name: 'event' | 'connection', listener: (value: any) => void) => unknown
  }
  connectionState: () => SourceLinks
}

// `All`: the source's events, of which `accepts` picks `E` (any: the accepted type is checked at `accepts`).
export interface SnapshotSyncOptions<S, E extends All, All = any> {
  /** The source's events and whether its event link is connected. */
  pbx: SnapshotSource
  /** The events the state follows; the others are neither applied nor buffered (default: all). */
  accepts?: (event: All) => event is E
  takeSnapshot: () => Promise<S>
  /** Moves the state on by events, in order: one live event, or those received during a snapshot that failed. */
  apply: (events: E[]) => void
  /** Replaces the state by a snapshot, moved on by the events received while it was taken. */
  reset: (snapshot: S, buffered: E[]) => void
  /** Delays between attempts when a snapshot fails; default 1 s doubling up to 30 s. */
  retry?: BackoffOptions
  logger?: Logger
  /** The snapshot, for the log: `<what> failed; retrying`. */
  what: string
}

export class SnapshotSync<S, E extends All, All = any> {
  readonly #pbx: SnapshotSource
  readonly #accepts: (event: All) => event is E
  readonly #takeSnapshot: () => Promise<S>
  readonly #apply: (events: E[]) => void
  readonly #reset: (snapshot: S, buffered: E[]) => void
  readonly #retry: BackoffOptions
  readonly #log: Logger
  readonly #what: string
  #running = false
  #amiConnected = false
  /** Set while a snapshot request is in flight: the events received meanwhile, to replay over it. */
  #buffer: E[] | undefined
  /** A reconnect happened during the snapshot in flight, which may predate it: take another one. */
  #rebuildAgain = false
  #built = false
  #failedAttempts = 0
  #retryTimer: NodeJS.Timeout | undefined
  /** Told when the state is in sync again (true), or when the sync stops (false). */
  readonly #syncWaiters = new Set<(inSync: boolean) => void>()

  constructor (options: SnapshotSyncOptions<S, E, All>) {
    this.#pbx = options.pbx
    this.#accepts = options.accepts ?? ((event): event is E => true)
    this.#takeSnapshot = options.takeSnapshot
    this.#apply = options.apply
    this.#reset = options.reset
    this.#retry = options.retry ?? { initialDelayMs: 1000, maxDelayMs: 30_000 }
    this.#log = options.logger ?? silentLogger
    this.#what = options.what
  }

  get running (): boolean {
    return this.#running
  }

  /**
   * Whether the state reflects the PBX: built from a snapshot, AMI connected, and no rebuild pending.
   * Until then the state is the last known one.
   */
  get inSync (): boolean {
    return this.#running && this.#built && this.#amiConnected && this.#buffer === undefined && this.#retryTimer === undefined
  }

  /**
   * Resolves true once the state is in sync: at once if it is, or when the snapshot under way lands. False
   * at once when none is under way (AMI down, a failed one waiting for its retry), and false when it
   * fails, the sync stops, or `timeoutMs` passes: a reader waits for the one rebuild under way instead of
   * asking the PBX itself, and never for a retry that may be long in coming.
   */
  async whenInSync (timeoutMs: number): Promise<boolean> {
    if (this.inSync) return true
    if (!this.#running || this.#buffer === undefined) return false
    return await new Promise((resolve) => {
      const done = (inSync: boolean): void => {
        clearTimeout(timer)
        this.#syncWaiters.delete(done)
        resolve(inSync)
      }
      const timer = setTimeout(() => { done(this.inSync) }, timeoutMs)
      this.#syncWaiters.add(done)
    })
  }

  /**
   * Subscribes to the PBX's events and builds the state from a snapshot. Rejects when that first
   * snapshot fails, and keeps retrying in the background until it succeeds or `stop()`.
   */
  async start (): Promise<void> {
    if (this.#running) return
    this.#running = true
    this.#amiConnected = this.#pbx.connectionState().ami
    this.#pbx.events.on('event', this.#onEvent)
    this.#pbx.events.on('connection', this.#onConnection)
    await this.#rebuild()
  }

  stop (): void {
    this.#running = false
    this.#pbx.events.off('event', this.#onEvent)
    this.#pbx.events.off('connection', this.#onConnection)
    clearTimeout(this.#retryTimer)
    this.#retryTimer = undefined
    this.#buffer = undefined
    this.#rebuildAgain = false
    this.#tellWaiters()
  }

  readonly #onEvent = (event: All): void => {
    if (!this.#accepts(event)) return
    if (this.#buffer !== undefined) this.#buffer.push(event)
    else this.#apply([event])
  }

  readonly #onConnection = ({ ami, ari }: SourceLinks): void => {
    const reconnected = ami && !this.#amiConnected
    this.#amiConnected = ami
    // A snapshot that failed (ARI was down) waits for its retry, up to `retry.maxDelayMs`: with both
    // connections back, take it now.
    const waitingForAri = ami && ari && this.#retryTimer !== undefined
    if (reconnected || waitingForAri) this.#rebuild().catch(() => { /* logged, and retried, by #rebuild */ })
  }

  async #rebuild (): Promise<void> {
    if (this.#buffer !== undefined) {
      this.#rebuildAgain = true
      return
    }
    clearTimeout(this.#retryTimer)
    this.#retryTimer = undefined
    const buffer: E[] = []
    this.#buffer = buffer
    let snapshot: S
    try {
      snapshot = await this.#takeSnapshot()
    } catch (error) {
      if (this.#buffer !== buffer) return // stopped meanwhile
      this.#buffer = undefined
      this.#rebuildAgain = false
      // Keep the last known state, moved on by what happened meanwhile, until a snapshot succeeds.
      this.#apply(buffer)
      this.#scheduleRetry(error)
      this.#tellWaiters()
      throw error
    }
    if (this.#buffer !== buffer) return
    this.#buffer = undefined
    this.#built = true
    this.#failedAttempts = 0
    this.#reset(snapshot, buffer)
    if (this.#rebuildAgain) {
      this.#rebuildAgain = false
      await this.#rebuild()
      return
    }
    this.#tellWaiters()
  }

  /** Tells the readers waiting for the rebuild how it ended: in sync, or not (failed, stopped). */
  #tellWaiters (): void {
    const inSync = this.inSync
    for (const waiter of [...this.#syncWaiters]) waiter(inSync)
  }

  #scheduleRetry (error: unknown): void {
    const delay = backoffDelay(this.#failedAttempts++, this.#retry)
    this.#log.warn({ err: error, delay }, `${this.#what} failed; retrying`)
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined
      this.#rebuild().catch(() => { /* logged, and retried, by #rebuild */ })
    }, delay)
    this.#retryTimer.unref()
  }
}
