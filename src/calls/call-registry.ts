/**
 * The agents' calls, worked out from the channels and bridges Asterisk has now (calls/live-channels.ts)
 * and kept, so that one agent's calls are answered without working any out. Pure (no I/O, no timers;
 * the clock is injected): the call monitor feeds it events and ARI snapshots, and every event sequence
 * is unit-tested. An event works out again only the calls it may change.
 */
import type { PbxEvent } from '../asterisk/ami-events.js'
import type { CallSnapshot } from '../asterisk/pbx.js'
import type { Call, CallState } from '../domain/call.js'
import { changesOnlyItsChannel, LiveChannels, subjectOf, type LiveChannel, type LiveChannelsOptions } from './live-channels.js'

/** One agent call that appeared, changed or ended. */
export interface CallChange {
  extension: string
  /** The agent channel's uniqueid: names the call even once it ended. */
  uniqueId: string
  /** The call now; undefined when it ended. */
  call?: Call
}

/** Technology of the agents' phones, and the clock (see LiveChannelsOptions). */
export type CallRegistryOptions = LiveChannelsOptions

export class CallRegistry {
  readonly #live: LiveChannels
  /**
   * Each agent channel's call as last worked out (by uniqueid): an event works out again only the calls
   * it may change, and `callsOf` answers without working out any.
   */
  readonly #calls = new Map<string, Call>()
  /** Agent extension -> how many of its calls are in each state: what its availability needs, in O(1). */
  readonly #states = new Map<string, Map<CallState, number>>()
  /** Scratch space of the walks, reused: the registry is fed every event of the PBX. */
  readonly #walked = new Set<string>()
  readonly #candidates = new Set<string>()

  constructor (options: CallRegistryOptions = {}) {
    this.#live = new LiveChannels(options)
  }

  get channelCount (): number {
    return this.#live.size
  }

  /** The uniqueid and linkedid of a live channel, by name (see `LiveChannels.idsOf`). */
  idsOf (name: string): { uniqueId: string, linkedId: string } | undefined {
    return this.#live.idsOf(name)
  }

  /** Updates the state from one event and returns the agent calls it changed (none for a replay). */
  apply (event: PbxEvent): CallChange[] {
    const subject = subjectOf(event)
    if (subject === undefined) return []
    if (changesOnlyItsChannel(event)) return this.#applyToItsChannel(subject, event)
    // A call can only change if the event's channel is, before or after the event, linked to it
    // through bridges and Local pairs: compare the agent calls of those neighbourhoods only.
    const candidates = this.#candidates
    candidates.clear()
    this.#addAgentChannelsAround(subject, candidates)
    this.#live.mutate(event)
    this.#addAgentChannelsAround(subject, candidates)
    const changes: CallChange[] = []
    for (const id of candidates) this.#updateOne(id, changes)
    return changes
  }

  #applyToItsChannel (subject: string, event: PbxEvent): CallChange[] {
    const live = this.#live.get(subject)
    this.#live.mutate(event)
    const changes: CallChange[] = []
    if (live?.extension !== undefined) this.#updateOne(subject, changes)
    return changes
  }

  /**
   * Replaces everything with an ARI snapshot, then applies `replay` (the events received while the
   * snapshot was requested, in order), and returns the agent calls that differ from before.
   */
  reset (snapshot: CallSnapshot, replay: PbxEvent[] = []): CallChange[] {
    const before = [...this.#calls.keys()]
    this.#live.replaceWith(snapshot)
    for (const event of replay) this.#live.mutate(event)
    return this.#update(new Set([...before, ...this.#live.agentChannelIds()]))
  }

  /** The calls of one agent extension (usually one); looks only at that extension's channels. */
  callsOf (extension: string): Call[] {
    const ids = this.#live.agentChannelIdsOf(extension)
    if (ids === undefined) return []
    return [...ids].map((id) => this.#calls.get(id) as Call)
  }

  /**
   * The states the agent's calls are in, each once (none when it has no call): O(1) however many calls
   * the extension has (a trunk's endpoint may carry thousands).
   */
  callStatesOf (extension: string): CallState[] {
    return [...this.#states.get(extension)?.keys() ?? []]
  }

  allCalls (): Call[] {
    return [...this.#live.extensions()].flatMap((extension) => this.callsOf(extension))
  }

  /** Every channel and bridge, shaped like `Pbx.snapshot()`. */
  snapshot (): CallSnapshot {
    return this.#live.snapshot()
  }

  /** Whether the extension has a leg: what `findAgentCall` on `snapshotOf` would find one of. */
  hasCallOf (extension: string): boolean {
    return this.#live.agentChannelIdsOf(extension) !== undefined
  }

  /**
   * Only what one extension's calls involve (its channels and everything bridged with them, through
   * Local pairs): enough for `findAgentCall` and `bridgedParty`, without copying every channel.
   */
  snapshotOf (extension: string): CallSnapshot {
    const ids = new Set<string>()
    for (const id of this.#live.agentChannelIdsOf(extension) ?? []) {
      if (!ids.has(id)) for (const linked of this.#live.linkedChannels(id)) ids.add(linked)
    }
    return this.#live.snapshotOf(ids)
  }

  /**
   * What the named channels are part of: each with everything bridged with it, through Local pairs.
   * Enough to check a transfer's outcome on the bridges from memory, whatever the PBX's size.
   */
  snapshotAround (names: readonly string[]): CallSnapshot {
    const ids = new Set<string>()
    for (const name of names) {
      const id = this.#live.idOf(name)
      if (id !== undefined && !ids.has(id)) for (const linked of this.#live.linkedChannels(id)) ids.add(linked)
    }
    return this.#live.snapshotOf(ids)
  }

  /** Adds to `into` the agent channels linked to `start` (itself included) through bridges and Local pairs. */
  #addAgentChannelsAround (start: string, into: Set<string>): void {
    const walked = this.#walked
    walked.clear()
    this.#live.walk(start, walked)
    for (const id of walked) if (this.#live.get(id)?.extension !== undefined) into.add(id)
  }

  /**
   * Works out again the calls of these agent channels, keeps them, and returns those that changed.
   * Only the calls an event may have changed are worked out: the others are kept as they were.
   */
  #update (ids: Iterable<string>): CallChange[] {
    const changes: CallChange[] = []
    for (const id of ids) this.#updateOne(id, changes)
    return changes
  }

  /** Works out again the call of one agent channel, keeps it, and adds it to `changes` if it changed. */
  #updateOne (id: string, changes: CallChange[]): void {
    const was = this.#calls.get(id)
    const live = this.#live.get(id)
    const now = live?.extension === undefined ? undefined : this.#callOf(live, was)
    if (now === was) return
    if (now?.state !== was?.state) {
      if (was !== undefined) this.#countState(was, -1)
      if (now !== undefined) this.#countState(now, 1)
    }
    if (now === undefined) this.#calls.delete(id)
    else this.#calls.set(id, now)
    const change: CallChange = { extension: (now ?? was as Call).extension, uniqueId: id }
    if (now !== undefined) change.call = now
    changes.push(change)
  }

  #countState ({ extension, state }: Call, delta: 1 | -1): void {
    let counts = this.#states.get(extension)
    if (counts === undefined) this.#states.set(extension, counts = new Map())
    const count = (counts.get(state) ?? 0) + delta
    if (count > 0) counts.set(state, count)
    else counts.delete(state)
    if (counts.size === 0) this.#states.delete(extension)
  }

  /** The call of an agent channel now: `was` itself when nothing in it changed. */
  #callOf (live: LiveChannel, was: Call | undefined): Call {
    const { channel } = live
    const extension = live.extension as string
    const state = this.#stateOf(live)
    const peerName = this.#live.peerOf(live)?.channel.name
    // The agent's connected line is Asterisk's own answer to "whose number is on the other end"; it
    // follows answers and transfers (NewConnectedLine), where the peer channel's caller id may not.
    const number = channel.connectedNumber
    const samePeer = was?.peer === undefined ? peerName === undefined : was.peer.channel === peerName && was.peer.number === number
    if (was !== undefined && samePeer && was.state === state && was.linkedId === live.linkedId && was.extension === extension &&
      was.channel === channel.name && was.uniqueId === channel.id && was.startedAt === live.startedAt) return was
    const call: Call = { extension, channel: channel.name, uniqueId: channel.id, linkedId: live.linkedId, state, startedAt: live.startedAt }
    if (peerName !== undefined) call.peer = samePeer && was?.peer !== undefined ? was.peer : Object.freeze({ channel: peerName, number })
    // Shared by every reader until the call changes: nobody may change it in place.
    return Object.freeze(call)
  }

  #stateOf (live: LiveChannel): CallState {
    if (live.channel.state !== 'Up') return 'ringing'
    if (!live.held) return 'up'
    return this.#live.isConsulting(live) ? 'in_consultation' : 'on_hold'
  }
}
