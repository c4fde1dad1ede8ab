/**
 * Every agent's state, kept live: built from Asterisk at start and again after every AMI reconnect (the
 * events sent while AMI was down are lost), and moved on by events in between, never by polling:
 * - `PeerStatus`: the endpoint registered (`Reachable`) or not (`Unreachable`);
 * - `DeviceStateChange`: the phone's device state (NOT_INUSE, INUSE, RINGING, UNAVAILABLE...);
 * - `QueueMemberAdded` / `Removed` / `Pause` / `Status`: queue memberships and their pause;
 * - the call monitor's `agent:call-states`: the states of the agent's calls.
 * Events received while a snapshot is in flight are buffered and replayed over it in order, as the call
 * monitor does (both through SnapshotSync), so none is lost. `agent:status` is emitted when an agent's
 * state or reason changes, never for the first build (there is nothing it changed from: clients read the
 * list over HTTP first).
 */
import { EventEmitter } from 'node:events'
import type { BackoffOptions } from '../client/backoff.js'
import { silentLogger, type Logger } from '../support/logger.js'
import type { Pbx } from '../asterisk/pbx.js'
import { SnapshotSync } from '../support/snapshot-sync.js'
import type { AgentCallStates } from '../calls/call-monitor.js'
import type { AgentStatus } from '../domain/agent-state.js'
import type { Call, CallState } from '../domain/call.js'
import { AgentFactsStore, isPresenceEvent, type PresenceEvent, type PresenceSnapshot } from './agent-facts.js'
import type { Agent, AgentDirectory } from './agent-directory.js'
import { availability } from './availability.js'

export interface AgentStatusEvents {
  'agent:status': [AgentStatus]
}

/** What the service needs of the PBX: its events and the three lists it builds from. */
export type PresenceSource = Pick<Pbx, 'events' | 'connectionState' | 'endpoints' | 'deviceStates' | 'queueMembers'>

/** The call monitor as this service uses it: the calls it knows, and the states of each agent's calls as they change. */
export interface AgentCallSource {
  on (event: 'agent:call-states', listener: (states: AgentCallStates) => void): unknown
  off (event: 'agent:call-states', listener: (states: AgentCallStates) => void): unknown
  allCalls (): Call[]
}

export interface AgentStatusOptions {
  /** Technology of the agents' phones (default PJSIP). */
  technology?: string
  logger?: Logger
  /** Delays between attempts when a build fails (ARI or AMI down); default 1 s doubling up to 30 s. */
  retry?: BackoffOptions
}

export class AgentStatusService extends EventEmitter<AgentStatusEvents> {
  readonly #pbx: PresenceSource
  readonly #calls: AgentCallSource
  readonly #directory: Pick<AgentDirectory, 'list'>
  readonly #facts: AgentFactsStore
  readonly #log: Logger
  readonly #sync: SnapshotSync<[PresenceSnapshot, readonly Agent[]], PresenceEvent>
  /**
   * The directory's agents as of the last build, with the status last published (or built) for each.
   * None before the first build: it is the baseline, nothing is published until it is there.
   */
  #statuses: Map<string, AgentStatus> | undefined

  constructor (pbx: PresenceSource, calls: AgentCallSource, directory: Pick<AgentDirectory, 'list'>, options: AgentStatusOptions = {}) {
    super()
    this.#pbx = pbx
    this.#calls = calls
    this.#directory = directory
    this.#facts = new AgentFactsStore(options.technology ?? 'PJSIP')
    this.#log = options.logger ?? silentLogger
    this.#sync = new SnapshotSync({
      pbx,
      accepts: isPresenceEvent,
      takeSnapshot: async () => await Promise.all([this.#snapshot(), this.#directory.list()]),
      apply: (events) => { for (const event of events) this.#publish(this.#facts.apply(event)) },
      reset: ([snapshot, agents], buffered) => { this.#reset(snapshot, agents, buffered) },
      retry: options.retry,
      logger: this.#log,
      what: 'building the agent states'
    })
  }

  /**
   * Subscribes to the PBX's and the monitor's events and builds every agent's state. Rejects when that
   * first build fails, and keeps retrying in the background until it succeeds or `stop()`.
   */
  async start (): Promise<void> {
    if (this.#sync.running) return
    this.#calls.on('agent:call-states', this.#onCalls)
    // The monitor may have found calls before this service listened: take them as they are now.
    const byAgent = new Map<string, CallState[]>()
    for (const { extension, state } of this.#calls.allCalls()) byAgent.set(extension, [...byAgent.get(extension) ?? [], state])
    for (const [extension, states] of byAgent) this.#facts.setCalls(extension, states)
    await this.#sync.start()
  }

  stop (): void {
    this.#sync.stop()
    this.#calls.off('agent:call-states', this.#onCalls)
  }

  /**
   * Whether the states reflect the PBX: built, AMI connected, and no build pending. Until then lookups
   * answer with the last known states (before any build: offline, "unknown to Asterisk").
   */
  get inSync (): boolean {
    return this.#sync.inSync
  }

  /** Every followed agent's state now (none before the first build). */
  all (): AgentStatus[] {
    return [...this.#statuses?.values() ?? []]
  }

  /** Whether the extension is one of the agents this server's last build followed (its directory's). */
  follows (extension: string): boolean {
    return this.#statuses?.has(extension) === true
  }

  /** The agent's state now, from memory: O(1). Also answers for extensions the last build did not list. */
  statusOf (extension: string): AgentStatus {
    return this.#statuses?.get(extension) ?? this.#evaluate(extension)
  }

  readonly #onCalls = ({ extension, states }: AgentCallStates): void => {
    this.#facts.setCalls(extension, states)
    this.#publish(extension)
  }

  #reset (snapshot: PresenceSnapshot, agents: readonly Agent[], buffered: PresenceEvent[]): void {
    this.#facts.reset(snapshot)
    for (const event of buffered) this.#facts.apply(event)
    this.#track(agents)
    this.#log.info({ agents: agents.length, replayed: buffered.length }, 'agent states built from Asterisk')
  }

  async #snapshot (): Promise<PresenceSnapshot> {
    const [endpoints, devices, members] = await Promise.all([this.#pbx.endpoints(), this.#pbx.deviceStates(), this.#pbx.queueMembers()])
    return { endpoints, devices, members }
  }

  /** Follows exactly the directory's agents from now on, publishing what changed since the last build. */
  #track (agents: readonly Agent[]): void {
    const previous = this.#statuses
    const statuses = new Map<string, AgentStatus>()
    this.#statuses = statuses
    for (const { extension } of agents) {
      const status = this.#evaluate(extension)
      statuses.set(extension, status)
      if (previous !== undefined && !sameStatus(previous.get(extension), status)) this.emit('agent:status', status)
    }
  }

  /** Publishes the agent's status if it is a followed agent and its state or reason changed. */
  #publish (extension: string | undefined): void {
    if (extension === undefined || this.#statuses === undefined) return
    const previous = this.#statuses.get(extension)
    if (previous === undefined) return
    const status = this.#evaluate(extension)
    if (sameStatus(previous, status)) return
    this.#statuses.set(extension, status)
    this.emit('agent:status', status)
  }

  #evaluate (extension: string): AgentStatus {
    return { extension, ...availability(this.#facts.factsOf(extension)) }
  }
}

function sameStatus (a: AgentStatus | undefined, b: AgentStatus): boolean {
  return a !== undefined && a.state === b.state && a.reason === b.reason
}
