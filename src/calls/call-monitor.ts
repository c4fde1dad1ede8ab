/**
 * Keeps a CallRegistry in step with the PBX and publishes what changes. The registry is built from an
 * ARI snapshot at start and again after every AMI reconnect (events were lost while AMI was down), and
 * updated by every AMI event in between. Events that arrive while a snapshot request is in flight are
 * buffered and replayed over it in order, so none is lost and the state does not drift.
 * Lookups answer from memory: no request lists every channel in Asterisk.
 */
import { EventEmitter } from 'node:events'
import type { PbxEvent } from '../asterisk/ami-events.js'
import { backoffDelay, type BackoffOptions } from '../asterisk/backoff.js'
import { silentLogger, type Logger } from '../asterisk/logger.js'
import type { CallSnapshot, Pbx } from '../asterisk/pbx.js'
import type { Call, CallStatus } from '../feed/event-schemas.js'
import { CallRegistry, type CallChange } from './call-registry.js'

/** An agent's calls after they changed (none when the agent's last call ended). */
export interface AgentCalls {
  extension: string
  calls: Call[]
}

export interface CallMonitorEvents {
  /** One call appeared, changed or ended. */
  'call:status': [CallStatus]
  /** The set or the states of one agent's calls changed; follows that agent's `call:status` events. */
  'agent:calls': [AgentCalls]
}

/** What the monitor needs of the PBX: its events, its connection state and snapshots. */
export type CallSource = Pick<Pbx, 'events' | 'connectionState' | 'snapshot'>

export interface CallMonitorOptions {
  /** Technology of the agents' phones (default PJSIP). */
  technology?: string
  logger?: Logger
  /** Delays between attempts when a snapshot fails (ARI down); default 1 s doubling up to 30 s. */
  retry?: BackoffOptions
}

export class CallMonitor extends EventEmitter<CallMonitorEvents> {
  readonly #pbx: CallSource
  readonly #registry: CallRegistry
  readonly #log: Logger
  readonly #retry: BackoffOptions
  #running = false
  #amiConnected = false
  /** Set while a snapshot request is in flight: the events received meanwhile, to replay over it. */
  #buffer: PbxEvent[] | undefined
  /** A reconnect happened during the snapshot in flight, which may predate it: take another one. */
  #rebuildAgain = false
  #built = false
  #failedAttempts = 0
  #retryTimer: NodeJS.Timeout | undefined

  constructor (pbx: CallSource, options: CallMonitorOptions = {}) {
    super()
    this.#pbx = pbx
    this.#registry = new CallRegistry({ technology: options.technology ?? 'PJSIP' })
    this.#log = options.logger ?? silentLogger
    this.#retry = options.retry ?? { initialDelayMs: 1000, maxDelayMs: 30_000 }
  }

  /**
   * Subscribes to the PBX's events and builds the calls from a snapshot. Rejects when that first
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
    this.#buffer = undefined
    this.#rebuildAgain = false
  }

  /**
   * Whether the calls reflect the PBX: built from a snapshot, AMI connected, and no rebuild pending.
   * Until then lookups answer with the last known state.
   */
  get inSync (): boolean {
    return this.#running && this.#built && this.#amiConnected && this.#buffer === undefined && this.#retryTimer === undefined
  }

  callsOf (extension: string): Call[] {
    return this.#registry.callsOf(extension)
  }

  allCalls (): Call[] {
    return this.#registry.allCalls()
  }

  /** Only the channels and bridges one extension's calls involve, for `findAgentCall`. */
  snapshotOf (extension: string): CallSnapshot {
    return this.#registry.snapshotOf(extension)
  }

  snapshot (): CallSnapshot {
    return this.#registry.snapshot()
  }

  get channelCount (): number {
    return this.#registry.channelCount
  }

  readonly #onEvent = (event: PbxEvent): void => {
    if (this.#buffer !== undefined) this.#buffer.push(event)
    else this.#publish(this.#registry.apply(event))
  }

  readonly #onConnection = ({ ami }: { ami: boolean }): void => {
    const reconnected = ami && !this.#amiConnected
    this.#amiConnected = ami
    if (reconnected) this.#rebuild().catch(() => { /* logged, and retried, by #rebuild */ })
  }

  async #rebuild (): Promise<void> {
    if (this.#buffer !== undefined) {
      this.#rebuildAgain = true
      return
    }
    clearTimeout(this.#retryTimer)
    this.#retryTimer = undefined
    const buffer: PbxEvent[] = []
    this.#buffer = buffer
    let snapshot: CallSnapshot
    try {
      snapshot = await this.#pbx.snapshot()
    } catch (error) {
      if (this.#buffer !== buffer) return // stopped meanwhile
      this.#buffer = undefined
      this.#rebuildAgain = false
      // Keep the last known calls, moved on by what happened meanwhile, until a snapshot succeeds.
      this.#publish(buffer.flatMap((event) => this.#registry.apply(event)))
      this.#scheduleRetry(error)
      throw error
    }
    if (this.#buffer !== buffer) return
    this.#buffer = undefined
    this.#built = true
    this.#failedAttempts = 0
    this.#publish(this.#registry.reset(snapshot, buffer))
    this.#log.info({ channels: this.#registry.channelCount, replayed: buffer.length }, 'calls rebuilt from an ARI snapshot')
    if (this.#rebuildAgain) {
      this.#rebuildAgain = false
      await this.#rebuild()
    }
  }

  #scheduleRetry (error: unknown): void {
    const delay = backoffDelay(this.#failedAttempts++, this.#retry)
    this.#log.warn({ err: error, delay }, 'ARI snapshot for the call monitor failed; retrying')
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined
      this.#rebuild().catch(() => { /* logged, and retried, by #rebuild */ })
    }, delay)
    this.#retryTimer.unref()
  }

  #publish (changes: CallChange[]): void {
    for (const { extension, uniqueId, call } of changes) {
      const status: CallStatus = call === undefined ? { extension, uniqueId, ended: true } : { extension, uniqueId, call, ended: false }
      this.emit('call:status', status)
    }
    for (const extension of new Set(changes.map((change) => change.extension))) {
      this.emit('agent:calls', { extension, calls: this.#registry.callsOf(extension) })
    }
  }
}
