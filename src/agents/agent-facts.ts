/**
 * What Asterisk last said about each agent's phone: registration, device state, queue pauses, calls.
 * Built from a snapshot (ARI endpoints, AMI DeviceStateList and QueueStatus) and moved on by events;
 * no I/O, so the service around it decides when to take snapshots and what to publish.
 * Keyed by extension: every lookup and update is O(1) (queue pauses: O(the agent's memberships)).
 */
import { extensionOf } from '../asterisk/channel-name.js'
import type { DeviceState, PbxEvent, QueueMember } from '../asterisk/ami-events.js'
import type { PbxEndpoint } from '../asterisk/ari-client.js'
import type { CallState } from '../domain/call.js'
import type { AgentFacts, QueuePause, Registration } from './availability.js'

export interface PresenceSnapshot {
  endpoints: readonly PbxEndpoint[]
  devices: readonly DeviceState[]
  members: readonly QueueMember[]
}

interface Entry {
  registration?: Registration
  deviceState?: string
  calls: readonly CallState[]
  /** Paused memberships by `queue` + interface: one agent may be a member twice through Local channels. */
  pauses: Map<string, QueuePause>
}

/** The events that say something about an agent's presence; the rest (calls) come from the call monitor. */
export type PresenceEvent = Extract<PbxEvent, { type: 'deviceStateChange' | 'peerStatus' | `queueMember${string}` }>

const PRESENCE_EVENTS: ReadonlySet<string> = new Set<PresenceEvent['type']>([
  'deviceStateChange', 'peerStatus', 'queueMemberAdded', 'queueMemberRemoved', 'queueMemberPause', 'queueMemberStatus'
])

export function isPresenceEvent (event: PbxEvent): event is PresenceEvent {
  return PRESENCE_EVENTS.has(event.type)
}

/** ARI says `online`, `offline` or `unknown`; the last tells nothing. */
function registrationOf (endpoint: PbxEndpoint): Registration | undefined {
  return endpoint.state === 'online' || endpoint.state === 'offline' ? endpoint.state : undefined
}

const memberKey = (member: QueueMember): string => `${member.queue}\u0000${member.interface}`

export class AgentFactsStore {
  readonly #technology: string
  #entries = new Map<string, Entry>()

  /** `technology`: of the agents' phones (PJSIP): `PJSIP/101` is agent 101's device. */
  constructor (technology: string) {
    this.#technology = technology.toLowerCase()
  }

  /** Replaces what the snapshot covers; the calls stay, they come from the call monitor. */
  reset ({ endpoints, devices, members }: PresenceSnapshot): void {
    const previous = this.#entries
    this.#entries = new Map()
    for (const [extension, { calls }] of previous) {
      if (calls.length > 0) this.#entry(extension).calls = calls
    }
    for (const endpoint of endpoints) {
      if (endpoint.technology.toLowerCase() !== this.#technology) continue
      const registration = registrationOf(endpoint)
      if (registration !== undefined) this.#entry(endpoint.resource).registration = registration
    }
    for (const device of devices) this.#apply({ type: 'deviceStateChange', ...device })
    for (const member of members) this.#apply({ type: 'queueMemberStatus', ...member })
  }

  /** How many endpoints the store holds facts about: bounded by the endpoints Asterisk reports, not by calls. */
  get size (): number {
    return this.#entries.size
  }

  /** Applies one event; answers the extension whose facts it may have changed. */
  apply (event: PresenceEvent): string | undefined {
    return this.#apply(event)
  }

  setCalls (extension: string, calls: readonly CallState[]): void {
    const entry = calls.length === 0 ? this.#entries.get(extension) : this.#entry(extension)
    if (entry === undefined) return
    entry.calls = calls
    // An endpoint whose last call ended and about which Asterisk said nothing else (a customer's, a
    // trunk's) leaves no entry behind: the store holds what it knows, not every endpoint ever seen.
    if (calls.length === 0 && entry.registration === undefined && entry.deviceState === undefined && entry.pauses.size === 0) {
      this.#entries.delete(extension)
    }
  }

  factsOf (extension: string): AgentFacts {
    const entry = this.#entries.get(extension)
    if (entry === undefined) return { calls: [], pauses: [] }
    return {
      ...(entry.registration === undefined ? {} : { registration: entry.registration }),
      ...(entry.deviceState === undefined ? {} : { deviceState: entry.deviceState }),
      calls: entry.calls,
      pauses: [...entry.pauses.values()]
    }
  }

  #apply (event: PresenceEvent): string | undefined {
    switch (event.type) {
      case 'deviceStateChange':
        return this.#update(event.device, (entry) => { entry.deviceState = event.state })
      case 'peerStatus':
        return this.#update(event.peer, (entry) => { entry.registration = event.registered ? 'online' : 'offline' })
      default:
        // The state interface is the agent's phone even when the queue dials it through a Local channel.
        return this.#update(event.stateInterface, (entry) => {
          if (event.type !== 'queueMemberRemoved' && event.paused) {
            entry.pauses.set(memberKey(event), { queue: event.queue, ...(event.pausedReason === '' ? {} : { reason: event.pausedReason }) })
          } else {
            entry.pauses.delete(memberKey(event))
          }
        })
    }
  }

  /** Runs `change` on the entry of `device` when it is a phone of the agents' technology. */
  #update (device: string, change: (entry: Entry) => void): string | undefined {
    const extension = extensionOf(device, this.#technology, 'device')
    if (extension === undefined) return undefined
    change(this.#entry(extension))
    return extension
  }

  #entry (extension: string): Entry {
    let entry = this.#entries.get(extension)
    if (entry === undefined) {
      entry = { calls: [], pauses: new Map() }
      this.#entries.set(extension, entry)
    }
    return entry
  }
}
