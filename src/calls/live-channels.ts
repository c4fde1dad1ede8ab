/**
 * The channels and bridges Asterisk has now, kept up to date from AMI events (or replaced by an ARI
 * snapshot), indexed by uniqueid, by name (the other half of a Local pair) and by agent extension, so
 * one agent's channels are found without looking at anyone else's; and the walks through bridges and
 * Local pairs the calls are worked out from (calls/call-registry.ts). Pure: no I/O, no timers.
 *
 * Every event *sets* a fact (a state, a bridge, a hold flag) instead of changing one relatively, so
 * applying an event twice, or replaying events over a snapshot that already reflects them, ends in the
 * same state: that is what lets the monitor replay the events it buffered during a rebuild.
 */
import type { PbxEvent } from '../asterisk/ami-events.js'
import type { PbxBridge, PbxChannel } from '../asterisk/ari-client.js'
import { extensionOf, localCounterpart, parseChannelName } from '../asterisk/channel-name.js'
import type { CallSnapshot } from '../asterisk/pbx.js'

export interface LiveChannel {
  /** Shaped as ARI reports it, so `snapshot()` feeds the topology code (`findAgentCall`) unchanged. */
  channel: PbxChannel
  /** Asterisk's linkedid; ARI does not report it, so after a snapshot it is '' until an event names it. */
  linkedId: string
  /** Set by Hold, cleared by Unhold; ARI does not report it. */
  held: boolean
  /** The agent extension this channel is a leg of; undefined for Local channels and other technologies. */
  extension: string | undefined
  /** For a half of a Local channel, the other half's name (worked out once: every walk asks). */
  counterpart: string | undefined
  bridgeId: string | undefined
  /** When the call started (see `startedAt`), worked out once. */
  startedAt: string
}

interface LiveBridge {
  technology: string
  bridgeType: string
  /** Uniqueids of the channels in the bridge. */
  members: Set<string>
}

/** Local pairs chained more deeply than this are treated as a loop (as in transfers/call-topology.ts). */
const MAX_LOCAL_HOPS = 4

/** The creation time Asterisk writes into a uniqueid (`[system-]<epoch seconds>.<counter>`). */
function uniqueIdTime (uniqueId: string): string | undefined {
  const seconds = /(?:^|-)(\d{9,})\.\d+$/.exec(uniqueId)?.[1]
  return seconds === undefined ? undefined : new Date(Number(seconds) * 1000).toISOString()
}

/**
 * When the call started. Taken from the uniqueid whenever it parses, for channels seen in events and in
 * snapshots alike: a call rebuilt from ARI must equal the one built from events, or every rebuild would
 * report every call as changed.
 */
function startedAt (uniqueId: string, createdAt: string): string {
  const created = new Date(createdAt)
  return uniqueIdTime(uniqueId) ?? (Number.isNaN(created.getTime()) ? createdAt : created.toISOString())
}

/** The channel an event is about, for the events that change what the registry knows. */
export function subjectOf (event: PbxEvent): string | undefined {
  switch (event.type) {
    case 'newChannel':
    case 'newState':
    case 'hold':
    case 'unhold':
    case 'hangup':
    case 'bridgeEnter':
    case 'bridgeLeave':
    case 'newConnectedLine':
      return event.uniqueId
    default:
      return undefined
  }
}

/**
 * Events that change only their own channel's facts (state, hold, connected line, linkedid): they can
 * change the call of that channel when it is an agent's leg, and no other call. A peer shows in a call
 * by its name only, and whether an agent consults depends on its bridge's members, not on their state.
 */
export function changesOnlyItsChannel (event: PbxEvent): boolean {
  return event.type === 'newState' || event.type === 'hold' || event.type === 'unhold' || event.type === 'newConnectedLine'
}

export interface LiveChannelsOptions {
  /** Technology of the agents' phones: `PJSIP/101-…` is a leg of extension 101 (default PJSIP). */
  technology?: string
  /** Start time of a channel whose uniqueid carries none (ARI apps may choose their own ids). */
  now?: () => Date
}

export class LiveChannels {
  readonly #technology: string
  readonly #now: () => Date
  /** By uniqueid (= ARI channel id). */
  readonly #channels = new Map<string, LiveChannel>()
  /** Channel name -> uniqueid: finds the other half of a Local pair. */
  readonly #byName = new Map<string, string>()
  /** Agent extension -> uniqueids of its legs: an agent's calls never look at other agents' channels. */
  readonly #byExtension = new Map<string, Set<string>>()
  readonly #bridges = new Map<string, LiveBridge>()
  /** Scratch space of the walks (`walk`), reused: the registry is fed every event of the PBX. */
  readonly #toWalk: string[] = []

  constructor (options: LiveChannelsOptions = {}) {
    this.#technology = (options.technology ?? 'PJSIP').toLowerCase()
    this.#now = options.now ?? (() => new Date())
  }

  get size (): number {
    return this.#channels.size
  }

  /** The channel with this uniqueid. */
  get (id: string): LiveChannel | undefined {
    return this.#channels.get(id)
  }

  /** The uniqueid of the channel with this name. */
  idOf (name: string): string | undefined {
    return this.#byName.get(name)
  }

  /** The uniqueid and linkedid of the channel with this name (the linkedid '' while unknown). */
  idsOf (name: string): { uniqueId: string, linkedId: string } | undefined {
    const live = this.#channels.get(this.#byName.get(name) ?? '')
    return live === undefined ? undefined : { uniqueId: live.channel.id, linkedId: live.linkedId }
  }

  /** The uniqueids of one agent extension's channels (its legs). */
  agentChannelIdsOf (extension: string): ReadonlySet<string> | undefined {
    return this.#byExtension.get(extension)
  }

  /** The agent extensions with at least one leg. */
  extensions (): IterableIterator<string> {
    return this.#byExtension.keys()
  }

  /**
   * Replaces everything with an ARI snapshot. ARI does not report hold state, so every channel counts
   * as not held. It does not report linkedids either: a channel that was already known keeps its own
   * (a channel's linkedid never changes), others learn it from their next event.
   */
  replaceWith (snapshot: CallSnapshot): void {
    const linkedIds = new Map([...this.#channels].map(([id, live]) => [id, live.linkedId]))
    this.#channels.clear()
    this.#byName.clear()
    this.#byExtension.clear()
    this.#bridges.clear()
    for (const channel of snapshot.channels) {
      this.#addChannel({ ...channel, dialplan: { ...channel.dialplan } }, linkedIds.get(channel.id) ?? '')
    }
    for (const bridge of snapshot.bridges) {
      // The channel and bridge lists are two requests, not one atomic read: a member missing from the
      // channel list was created in between, and its BridgeEnter is among the events replayed next.
      for (const id of bridge.channelIds) {
        if (this.#channels.has(id)) this.#enterBridge(id, bridge.id, bridge)
      }
    }
  }

  /** Sets the facts one event tells. */
  mutate (event: PbxEvent): void {
    if (event.type === 'newChannel') {
      this.#onNewChannel(event)
      return
    }
    const live = this.#channels.get(subjectOf(event) ?? '')
    if (live === undefined) return
    if ('linkedId' in event && event.linkedId !== '') live.linkedId = event.linkedId
    switch (event.type) {
      case 'newState':
        // Answered is final: an older Newstate replayed over a snapshot must not make a call ring again.
        if (live.channel.state !== 'Up') live.channel.state = event.state
        break
      case 'hold':
      case 'unhold':
        live.held = event.type === 'hold'
        break
      case 'newConnectedLine':
        live.channel.connectedNumber = event.connectedNumber
        if (event.connectedName !== undefined) live.channel.connectedName = event.connectedName
        break
      case 'bridgeEnter':
        this.#enterBridge(event.uniqueId, event.bridgeId)
        break
      case 'bridgeLeave':
        // Only the bridge it left: a replayed BridgeLeave must not pull it out of the bridge it is in now.
        if (live.bridgeId === event.bridgeId) this.#leaveBridge(live)
        break
      case 'hangup':
        this.#removeChannel(live)
        break
    }
  }

  #onNewChannel (event: Extract<PbxEvent, { type: 'newChannel' }>): void {
    // A channel already known is a replay over a snapshot that is newer than the event: keep the newer facts.
    if (this.#channels.has(event.uniqueId)) return
    this.#addChannel({
      id: event.uniqueId,
      name: event.channel,
      state: event.state,
      callerNumber: event.callerNumber ?? '',
      ...(event.callerName === undefined ? {} : { callerName: event.callerName }),
      connectedNumber: event.connectedNumber ?? '',
      ...(event.connectedName === undefined ? {} : { connectedName: event.connectedName }),
      dialplan: { context: event.context, exten: event.exten },
      createdAt: uniqueIdTime(event.uniqueId) ?? this.#now().toISOString()
    }, event.linkedId)
  }

  #addChannel (channel: PbxChannel, linkedId: string): void {
    const extension = extensionOf(channel.name, this.#technology)
    this.#channels.set(channel.id, {
      channel,
      linkedId,
      held: false,
      extension,
      counterpart: localCounterpart(channel.name),
      bridgeId: undefined,
      startedAt: startedAt(channel.id, channel.createdAt)
    })
    this.#byName.set(channel.name, channel.id)
    if (extension === undefined) return
    const ids = this.#byExtension.get(extension) ?? new Set<string>()
    this.#byExtension.set(extension, ids.add(channel.id))
  }

  #removeChannel (live: LiveChannel): void {
    const { id, name } = live.channel
    this.#leaveBridge(live)
    this.#channels.delete(id)
    if (this.#byName.get(name) === id) this.#byName.delete(name)
    if (live.extension === undefined) return
    const ids = this.#byExtension.get(live.extension)
    ids?.delete(id)
    if (ids?.size === 0) this.#byExtension.delete(live.extension)
  }

  #enterBridge (id: string, bridgeId: string, known?: PbxBridge): void {
    const live = this.#channels.get(id) as LiveChannel
    if (live.bridgeId === bridgeId) return
    this.#leaveBridge(live)
    let bridge = this.#bridges.get(bridgeId)
    if (bridge === undefined) {
      // BridgeEnter does not say what kind of bridge it is; only snapshots do.
      bridge = { technology: known?.technology ?? '', bridgeType: known?.bridgeType ?? '', members: new Set() }
      this.#bridges.set(bridgeId, bridge)
    }
    bridge.members.add(id)
    live.bridgeId = bridgeId
  }

  #leaveBridge (live: LiveChannel): void {
    if (live.bridgeId === undefined) return
    const bridge = this.#bridges.get(live.bridgeId)
    bridge?.members.delete(live.channel.id)
    // An empty bridge is gone for our purposes; BridgeDestroy would say the same, later.
    if (bridge?.members.size === 0) this.#bridges.delete(live.bridgeId)
    live.bridgeId = undefined
  }

  /** The channel and everything reachable from it through bridges and Local pairs. */
  linkedChannels (start: string): Set<string> {
    const found = new Set<string>()
    this.walk(start, found)
    return found
  }

  /** Adds to `found` the channel and everything reachable from it through bridges and Local pairs. */
  walk (start: string, found: Set<string>): void {
    const queue = this.#toWalk
    queue.length = 0
    queue.push(start)
    for (let id = queue.pop(); id !== undefined; id = queue.pop()) {
      const live = this.#channels.get(id)
      if (live === undefined || found.has(id)) continue
      found.add(id)
      const counterpart = live.counterpart === undefined ? undefined : this.#byName.get(live.counterpart)
      if (counterpart !== undefined) queue.push(counterpart)
      const members = live.bridgeId === undefined ? undefined : this.#bridges.get(live.bridgeId)?.members
      if (members !== undefined) for (const member of members) queue.push(member)
    }
  }

  /** The uniqueids of every agent leg. */
  agentChannelIds (): Set<string> {
    return new Set([...this.#byExtension.values()].flatMap((ids) => [...ids]))
  }

  /**
   * The real party bridged with a channel, Local pairs followed to their far side; undefined unless
   * exactly one other party is bridged. The walk of `bridgedParty` (transfers/call-topology.ts) on the
   * registry's indexes instead of a snapshot: it runs for every event that touches a call.
   */
  peerOf (live: LiveChannel): LiveChannel | undefined {
    let near = live
    for (let hop = 0; hop <= MAX_LOCAL_HOPS; hop++) {
      const members = near.bridgeId === undefined ? undefined : this.#bridges.get(near.bridgeId)?.members
      if (members?.size !== 2) return undefined
      let other: LiveChannel | undefined
      for (const id of members) if (id !== near.channel.id) other = this.#channels.get(id)
      if (other === undefined) return undefined
      if (other.counterpart === undefined) return other
      const counterpart = this.#channels.get(this.#byName.get(other.counterpart) ?? '')
      if (counterpart === undefined) return undefined
      near = counterpart
    }
    return undefined
  }

  /**
   * An attended transfer on Asterisk 22 holds the agent's channel (Hold) and moves it into a new bridge
   * with `Local/<target>@<context>-…;1`, whose `;2` half dials the target. A held channel that is merely
   * on hold stays in the bridge with its caller instead.
   */
  isConsulting (live: LiveChannel): boolean {
    const members = live.bridgeId === undefined ? undefined : this.#bridges.get(live.bridgeId)?.members
    for (const id of members ?? []) {
      const member = this.#channels.get(id)
      if (member?.counterpart !== undefined && this.#byName.has(member.counterpart) && parseChannelName(member.channel.name)?.localHalf === 1) return true
    }
    return false
  }

  /** Every channel and bridge, shaped like `Pbx.snapshot()` (copies). */
  snapshot (): CallSnapshot {
    return this.snapshotOf(this.#channels.keys())
  }

  /** Copies: what callers get may be kept or changed without touching the registry. */
  snapshotOf (ids: Iterable<string>): CallSnapshot {
    const { channels, bridges } = this.#viewOf(ids)
    return { channels: channels.map((channel) => ({ ...channel, dialplan: { ...channel.dialplan } })), bridges }
  }

  /** The registry's own channel objects, for reading inside it (working out a call) without copying them. */
  #viewOf (ids: Iterable<string>): CallSnapshot {
    const channels: PbxChannel[] = []
    const bridgeIds = new Set<string>()
    for (const id of ids) {
      const live = this.#channels.get(id)
      if (live === undefined) continue
      channels.push(live.channel)
      if (live.bridgeId !== undefined) bridgeIds.add(live.bridgeId)
    }
    const bridges = [...bridgeIds].map((id): PbxBridge => {
      const { technology, bridgeType, members } = this.#bridges.get(id) as LiveBridge
      return { id, technology, bridgeType, channelIds: [...members] }
    })
    return { channels, bridges }
  }
}
