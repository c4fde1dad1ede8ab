/**
 * Whether an agent can take a transfer now, and why not. Pure: the service gathers what Asterisk says
 * of the agent (its endpoint's registration, its device's state, its calls, its queue pauses) and this
 * rule decides, so every combination is unit-tested.
 *
 * Precedence, first match wins:
 *   1. offline           the phone cannot ring: endpoint not registered, device UNAVAILABLE or INVALID,
 *                        or Asterisk knows nothing of it. Nothing else matters then.
 *   2. in_consultation   3. on_hold   4. on_call   5. ringing
 *                        busy with a call; the most engaged state wins, so that a consultation or a
 *                        customer waiting on hold is not hidden behind a plainer "on a call". Both the
 *                        call monitor's calls and the device state count: the device also sees calls
 *                        the monitor does not attribute to the agent (another technology, a call placed
 *                        before the monitor's snapshot caught up).
 *   6. paused            idle but paused in at least one of its queues: the agent said "not now".
 *   7. available
 */
import type { AgentState } from '../domain/agent-state.js'
import type { CallState } from '../domain/call.js'

/** The endpoint as ARI or a PeerStatus event last described it; undefined when Asterisk said nothing. */
export type Registration = 'online' | 'offline'

/** One queue in which the agent is paused; `reason` as given to QueuePause, if any. */
export interface QueuePause {
  queue: string
  reason?: string
}

export interface AgentFacts {
  registration?: Registration
  /** Asterisk's device state of the agent's phone: NOT_INUSE, INUSE, BUSY, RINGING, RINGINUSE, ONHOLD... */
  deviceState?: string
  /** The states of the agent's calls, as the call monitor tracks them. */
  calls: readonly CallState[]
  pauses: readonly QueuePause[]
}

export interface Availability {
  state: AgentState
  /** Why the agent cannot take a transfer; absent when available. */
  reason?: string
}

type BusyState = 'in_consultation' | 'on_hold' | 'on_call' | 'ringing'

/** Most engaged first: the order of precedence among the busy states. */
const BUSY_ORDER: readonly BusyState[] = ['in_consultation', 'on_hold', 'on_call', 'ringing']

const BUSY_REASON: Readonly<Record<BusyState, string>> = {
  in_consultation: 'in a consultation call',
  on_hold: 'has a call on hold',
  on_call: 'on a call',
  ringing: 'phone ringing'
}

const CALL_BUSY: Readonly<Record<CallState, BusyState>> = {
  in_consultation: 'in_consultation',
  on_hold: 'on_hold',
  up: 'on_call',
  ringing: 'ringing'
}

/** Device states that mean "busy" (RINGINUSE: a second call rings while the agent talks). */
const DEVICE_BUSY: ReadonlyMap<string, BusyState> = new Map([
  ['ONHOLD', 'on_hold'],
  ['INUSE', 'on_call'],
  ['BUSY', 'on_call'],
  ['RINGINUSE', 'on_call'],
  ['RINGING', 'ringing']
])

const NOT_REGISTERED = 'not registered'

/**
 * Device states that mean the phone cannot ring, and how to say it. A PJSIP device is UNAVAILABLE
 * exactly when its endpoint has no reachable contact, the fact PeerStatus reports a moment earlier
 * (Asterisk 22 sends `PeerStatus` then `DeviceStateChange`, in both directions): the same reason for
 * both, so the second event does not publish a status that only reworded the first.
 */
const DEVICE_OFFLINE: ReadonlyMap<string, string> = new Map([
  ['UNAVAILABLE', NOT_REGISTERED],
  ['INVALID', 'no such device']
])

function offlineReason ({ registration, deviceState }: AgentFacts): string | undefined {
  if (registration === 'offline') return NOT_REGISTERED
  const device = deviceState?.toUpperCase()
  const unavailable = device === undefined ? undefined : DEVICE_OFFLINE.get(device)
  if (unavailable !== undefined) return unavailable
  // Available needs a positive sign of life: a registration, or a device state other than UNKNOWN.
  if (registration === undefined && (device === undefined || device === 'UNKNOWN')) return 'unknown to Asterisk'
  return undefined
}

function busyState ({ calls, deviceState }: AgentFacts): BusyState | undefined {
  const busy = new Set<BusyState>(calls.map((call) => CALL_BUSY[call]))
  const fromDevice = DEVICE_BUSY.get(deviceState?.toUpperCase() ?? '')
  if (fromDevice !== undefined) busy.add(fromDevice)
  return BUSY_ORDER.find((state) => busy.has(state))
}

/** `paused in queue sales (lunch)`, `paused in queues sales (lunch), support`: sorted, one per queue. */
function pauseReason (pauses: readonly QueuePause[]): string {
  const byQueue = new Map<string, string | undefined>()
  for (const { queue, reason } of pauses) byQueue.set(queue, byQueue.get(queue) ?? (reason === '' ? undefined : reason))
  const queues = [...byQueue.keys()].sort()
  const named = queues.map((queue) => {
    const reason = byQueue.get(queue)
    return reason === undefined ? queue : `${queue} (${reason})`
  })
  return `paused in ${queues.length === 1 ? 'queue' : 'queues'} ${named.join(', ')}`
}

export function availability (facts: AgentFacts): Availability {
  const offline = offlineReason(facts)
  if (offline !== undefined) return { state: 'offline', reason: offline }
  const busy = busyState(facts)
  if (busy !== undefined) return { state: busy, reason: BUSY_REASON[busy] }
  if (facts.pauses.length > 0) return { state: 'paused', reason: pauseReason(facts.pauses) }
  return { state: 'available' }
}
