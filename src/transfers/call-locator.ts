/**
 * Finds calls on one Asterisk: the agent's call for a request, and the channels and bridges around a
 * transfer for its checks. The call monitor's memory answers whenever it can (a look costs nothing);
 * while it is rebuilt after an AMI reconnect the rebuild is waited for; only while AMI stays down (no
 * events, so no memory) is ARI listed, the one source left (at 2,000 channels a listing takes 40 to
 * 360 ms and Asterisk works for it).
 */
import { extensionOf } from '../asterisk/channel-name.js'
import type { CallSnapshot, Pbx } from '../asterisk/pbx.js'
import type { Transfer } from '../domain/transfer.js'
import { CallNotBridgedError, NoActiveChannelError } from '../errors.js'
import type { Clock } from '../support/clock.js'
import { callerOf, findAgentCall, type AgentCall } from './call-topology.js'
import type { CallLookup, LocatedCall } from './service-options.js'

/** How long a lookup that memory cannot answer yet waits for the events on their way. */
const EVENTS_ON_THE_WAY_MS = 250
/** How long a lookup waits for the call monitor's rebuild (after an AMI reconnect) before asking ARI. */
const SYNC_WAIT_MS = 2000

export interface CallLocatorOptions {
  technology: string
  /** The live calls (the call monitor); without it every lookup asks ARI. */
  calls: CallLookup | undefined
  clock: Clock
}

/** A look at the PBX around some channels, and whether it came from memory (free) or from ARI. */
export interface Look {
  snapshot: CallSnapshot
  fromMemory: boolean
}

export class CallLocator {
  readonly #pbx: Pbx
  readonly #calls: CallLookup | undefined
  readonly #technology: string
  readonly #clock: Clock

  constructor (pbx: Pbx, options: CallLocatorOptions) {
    this.#pbx = pbx
    this.#calls = options.calls
    this.#technology = options.technology
    this.#clock = options.clock
  }

  /** The call monitor, when it is in sync (answers from memory); undefined otherwise. */
  get memory (): CallLookup | undefined {
    return this.#calls?.inSync === true ? this.#calls : undefined
  }

  /** The call monitor is not in sync (being rebuilt, or AMI down): what it lacks proves nothing. */
  get outOfSync (): boolean {
    return this.#calls?.inSync === false
  }

  /** The agent's active, two-party call: its channel and the real party bridged with it. */
  async agentCall (extension: string): Promise<LocatedCall> {
    const now = this.agentCallFromMemory(extension)
    if (now !== undefined) return now
    if (this.#calls === undefined || !(await this.inSyncSoon())) return located(extension, findAgentCall(await this.#pbx.snapshot(), this.#technology, extension))
    // A call whose events are still on their way (its bridge formed a moment ago): looked at again
    // after each event, for a short while; then memory's answer stands (no call, or not bridged).
    const deadline = this.#clock.now() + EVENTS_ON_THE_WAY_MS
    for (;;) {
      const call = findAgentCall(this.#calls.snapshotOf(extension), this.#technology, extension)
      if (call?.peer !== undefined && call.bridgeId !== undefined) return located(extension, call)
      const left = deadline - this.#clock.now()
      if (left <= 0) return located(extension, call)
      await this.nextEventOr(left)
      if (!this.#calls.inSync) return await this.agentCall(extension)
    }
  }

  /** Whether the call monitor, in sync, knows a channel of the agent's (a call on this server). */
  knowsCallOf (extension: string): boolean {
    const memory = this.memory
    if (memory === undefined) return false
    // Asked of every server of a pool on each request: the index answers without building a snapshot.
    return memory.hasCallOf?.(extension) ?? findAgentCall(memory.snapshotOf(extension), this.#technology, extension) !== undefined
  }

  /** The call from the monitor's memory, when it is in sync and knows a bridged call; otherwise undefined. */
  agentCallFromMemory (extension: string): LocatedCall | undefined {
    const memory = this.memory
    if (memory === undefined) return undefined
    const call = findAgentCall(memory.snapshotOf(extension), this.#technology, extension)
    return call?.peer === undefined || call.bridgeId === undefined ? undefined : located(extension, call)
  }

  /**
   * Whether the call monitor answers for the PBX: in sync now, or again within SYNC_WAIT_MS (after an
   * AMI reconnect it is rebuilt from one snapshot, which readers wait for rather than take their own).
   * While AMI is down there is no rebuild to wait for.
   */
  async inSyncSoon (): Promise<boolean> {
    const calls = this.#calls
    if (calls === undefined) return false
    if (calls.inSync) return true
    if (!this.#pbx.connectionState().ami) return false
    return (await calls.whenInSync?.(SYNC_WAIT_MS)) ?? false
  }

  /** The calls around a channel: from the monitor's memory (waiting for a rebuild under way), else asked of ARI. */
  async around (channel: string): Promise<CallSnapshot> {
    const extension = extensionOf(channel, this.#technology)
    return extension !== undefined && this.#calls !== undefined && await this.inSyncSoon() ? this.#calls.snapshotOf(extension) : await this.#pbx.snapshot()
  }

  /** One extension's calls: from memory (waiting for a rebuild under way), else asked of ARI. */
  async callsOf (extension: string): Promise<CallSnapshot> {
    return this.#calls !== undefined && await this.inSyncSoon() ? this.#calls.snapshotOf(extension) : await this.#pbx.snapshot()
  }

  /** The PBX around a transfer's channels: from memory (waiting for a rebuild under way), else from ARI. */
  async aroundTransfer (transfer: Pick<Transfer, 'channels'>): Promise<Look> {
    const { agent, peer, consultation, target } = transfer.channels
    return await this.aroundChannels([agent, peer, consultation, target].filter((name): name is string => name !== undefined))
  }

  /** The named channels and what they are bridged with: from memory (waiting for a rebuild under way), else from ARI. */
  async aroundChannels (names: readonly string[]): Promise<Look> {
    const calls = this.#calls
    if (calls?.snapshotAround !== undefined && await this.inSyncSoon()) return { snapshot: calls.snapshotAround(names), fromMemory: true }
    return { snapshot: await this.#pbx.snapshot(), fromMemory: false }
  }

  /** Resolves once the next PBX event has been applied by every listener (the call monitor), or after `ms`. */
  async nextEventOr (ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const done = (): void => {
        cancelTimer()
        this.#forget(waiter)
        resolve()
      }
      const waiter = (): void => { setImmediate(done) }
      const cancelTimer = this.#clock.after(ms, done)
      // One listener for every waiter: a busy server has many outcomes checked at once, and a listener
      // each would pass the emitter's warning threshold (a "possible leak" that is none).
      if (this.#nextEventWaiters.size === 0) this.#pbx.events.on('event', this.#wakeWaiters)
      this.#nextEventWaiters.add(waiter)
    })
  }

  readonly #nextEventWaiters = new Set<() => void>()

  readonly #wakeWaiters = (): void => {
    const waiters = [...this.#nextEventWaiters]
    for (const waiter of waiters) this.#forget(waiter)
    for (const waiter of waiters) waiter()
  }

  #forget (waiter: () => void): void {
    if (!this.#nextEventWaiters.delete(waiter)) return
    if (this.#nextEventWaiters.size === 0) this.#pbx.events.off('event', this.#wakeWaiters)
  }
}

function located (extension: string, call: AgentCall | undefined): LocatedCall {
  if (call === undefined) throw new NoActiveChannelError(extension)
  if (call.peer === undefined || call.bridgeId === undefined) {
    throw new CallNotBridgedError(extension, call.noPeerReason ?? 'not bridged')
  }
  const caller = callerOf(call.agent, call.peer)
  return { agentChannel: call.agent.name, peerChannel: call.peer.name, bridgeId: call.bridgeId, ...(caller === undefined ? {} : { caller }) }
}
