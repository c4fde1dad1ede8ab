/**
 * Keeps a CallRegistry in step with the PBX and publishes what changes. The registry is built from an
 * ARI snapshot at start and again after every AMI reconnect (events were lost while AMI was down), and
 * updated by every AMI event in between. Events that arrive while a snapshot request is in flight are
 * buffered and replayed over it in order, so none is lost and the state does not drift (SnapshotSync).
 * Lookups answer from memory: no request lists every channel in Asterisk.
 */
import { EventEmitter } from 'node:events'
import type { PbxEvent } from '../asterisk/ami-events.js'
import type { BackoffOptions } from '../client/backoff.js'
import { silentLogger, type Logger } from '../support/logger.js'
import type { CallSnapshot, Pbx } from '../asterisk/pbx.js'
import { SnapshotSync } from '../support/snapshot-sync.js'
import type { Call, CallState, CallStatus } from '../domain/call.js'
import { CallRegistry, type CallChange } from './call-registry.js'

/** An agent's calls after they changed (none when the agent's last call ended). */
export interface AgentCalls {
  extension: string
  calls: Call[]
}

/** The states of an agent's calls after they changed, each once (none when the agent's last call ended). */
export interface AgentCallStates {
  extension: string
  states: CallState[]
}

export interface CallMonitorEvents {
  /** One call appeared, changed or ended. */
  'call:status': [CallStatus]
  /**
   * The set or the states of one agent's calls changed; follows that agent's `call:status` events.
   * It lists all the agent's calls, so it costs O(its calls) per event: it is emitted only while
   * someone listens (an endpoint shared by many calls, a trunk, would make every event costly).
   */
  'agent:calls': [AgentCalls]
  /** The same moment as `agent:calls`, with only the states of the calls: O(1), always emitted. */
  'agent:call-states': [AgentCallStates]
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
  readonly #registry: CallRegistry
  readonly #log: Logger
  readonly #sync: SnapshotSync<CallSnapshot, PbxEvent>

  constructor (pbx: CallSource, options: CallMonitorOptions = {}) {
    super()
    this.#registry = new CallRegistry({ technology: options.technology ?? 'PJSIP' })
    this.#log = options.logger ?? silentLogger
    this.#sync = new SnapshotSync({
      pbx,
      takeSnapshot: async () => await pbx.snapshot(),
      apply: (events) => { this.#publish(events.length === 1 ? this.#registry.apply(events[0] as PbxEvent) : events.flatMap((event) => this.#registry.apply(event))) },
      reset: (snapshot, buffered) => { this.#reset(snapshot, buffered) },
      retry: options.retry,
      logger: this.#log,
      what: 'ARI snapshot for the call monitor'
    })
  }

  /**
   * Subscribes to the PBX's events and builds the calls from a snapshot. Rejects when that first
   * snapshot fails, and keeps retrying in the background until it succeeds or `stop()`.
   */
  async start (): Promise<void> {
    await this.#sync.start()
  }

  stop (): void {
    this.#sync.stop()
  }

  /**
   * Whether the calls reflect the PBX: built from a snapshot, AMI connected, and no rebuild pending.
   * Until then lookups answer with the last known state.
   */
  get inSync (): boolean {
    return this.#sync.inSync
  }

  /** True once the calls are in sync (at once if they are), false if not within `timeoutMs`. */
  async whenInSync (timeoutMs: number): Promise<boolean> {
    return await this.#sync.whenInSync(timeoutMs)
  }

  callsOf (extension: string): Call[] {
    return this.#registry.callsOf(extension)
  }

  allCalls (): Call[] {
    return this.#registry.allCalls()
  }

  /** Whether it knows a channel of the extension's, without building anything. */
  hasCallOf (extension: string): boolean {
    return this.#registry.hasCallOf(extension)
  }

  /** Only the channels and bridges one extension's calls involve, for `findAgentCall`. */
  snapshotOf (extension: string): CallSnapshot {
    return this.#registry.snapshotOf(extension)
  }

  snapshot (): CallSnapshot {
    return this.#registry.snapshot()
  }

  /** The named channels and everything bridged with them (through Local pairs), from memory. */
  snapshotAround (names: readonly string[]): CallSnapshot {
    return this.#registry.snapshotAround(names)
  }

  get channelCount (): number {
    return this.#registry.channelCount
  }

  /** A live channel's uniqueid and linkedid (`''` while unknown), by name: what transfer records carry. */
  idsOf (name: string): { uniqueId: string, linkedId: string } | undefined {
    return this.#registry.idsOf(name)
  }

  #reset (snapshot: CallSnapshot, buffered: PbxEvent[]): void {
    this.#publish(this.#registry.reset(snapshot, buffered))
    this.#log.info({ channels: this.#registry.channelCount, replayed: buffered.length }, 'calls rebuilt from an ARI snapshot')
  }

  #publish (changes: CallChange[]): void {
    // Most events change no agent's call: nothing to publish, and nothing to allocate for it.
    if (changes.length === 0) return
    for (const { extension, uniqueId, call } of changes) {
      const status: CallStatus = call === undefined ? { extension, uniqueId, ended: true } : { extension, uniqueId, call, ended: false }
      this.emit('call:status', status)
    }
    const listsCalls = this.listenerCount('agent:calls') > 0
    for (const extension of new Set(changes.map((change) => change.extension))) {
      this.emit('agent:call-states', { extension, states: this.#registry.callStatesOf(extension) })
      if (listsCalls) this.emit('agent:calls', { extension, calls: this.#registry.callsOf(extension) })
    }
  }
}
