/**
 * What the transfer service is given and asked: its options (the PBX's parts it reads, the rules, the
 * shared store and the peers), a request, and what it answers and notices.
 */
import type { Call } from '../domain/call.js'
import { DEFAULT_SERVER } from '../domain/server.js'
import type { Transfer, TransferCaller, TransferStatus, TransferType } from '../domain/transfer.js'
import type { Identity } from '../identity.js'
import type { CallSnapshot, DialplanStep, Pbx } from '../asterisk/pbx.js'
import type { Logger } from '../support/logger.js'
import type { RemoteCommand } from '../store/command-bus.js'
import type { TransferStore } from '../store/transfer-store.js'
import type { Clock } from '../support/clock.js'
import type { TransferInput } from './state.js'
import type { TransferPolicy } from './transfer-policy.js'

/** How long each state that is not final may last before the transfer is checked and, if stuck, ended. */
export interface TransferDeadlines {
  /** Asked, its action not answered yet. */
  initiatedMs: number
  /** Blind: the customer on the way to the target (a queue may keep them waiting long). */
  redirectedMs: number
  /** Attended: the target rings. */
  consultingMs: number
  /** Attended: agent and target talk while the customer holds. */
  targetAnsweredMs: number
}

export const DEFAULT_DEADLINES: TransferDeadlines = {
  initiatedMs: 60_000,
  redirectedMs: 3_600_000,
  consultingMs: 600_000,
  targetAnsweredMs: 4 * 3_600_000
}

export interface TransferServiceOptions {
  transferContext: string
  channelTechnology: string
  /** How long to wait for the Hold and the dial that prove an attended transfer started. */
  consultationTimeoutMs: number
  /** How long complete/cancel wait for Asterisk to finish the transfer. */
  settleTimeoutMs?: number
  /** Rights, targets and business rules; without one, any extension the dialplan knows is a target. */
  policy?: TransferPolicy
  /** The live calls (the call monitor): lookups answer from memory when it is in sync, else from ARI. */
  calls?: CallLookup
  /** How often transfers in progress are checked against the PBX; 0 turns the timer off. */
  reconcileIntervalMs?: number
  deadlines?: Partial<TransferDeadlines>
  /** Transfers in progress at most: beyond, new ones are refused (a bound on memory). */
  maxActive?: number
  /** Quiet time Asterisk needs on an agent's channel before an Atxfer (see atxfer-pacing.ts). */
  atxferQuietMs?: number
  /** Transfer recall for blind transfers (`recall-dialplan.ts`); without it, a plain Redirect. */
  recall?: RecallRouting
  /** Write queue_log lines for transfers of calls that came through a queue (`queue-reports.ts`). */
  queueLog?: boolean
  /**
   * Keep the customer recorded through a transfer when the agent's leg is recorded (MixMonitor): a
   * recording of the customer's channel starts before a blind transfer's Redirect and at an attended
   * one's completion (`recording-follower.ts`). Default false.
   */
  followRecordings?: boolean
  /** Where transfers are shared with the other instances (default: this process's memory, no others). */
  store?: TransferStore
  /** Several instances: how to reach the owner of a transfer, and how often leases are renewed. */
  peers?: Peers
  /** The name of the Asterisk server in the pool (default `default`, a single Asterisk). */
  server?: string
  /** With several servers: the server an agent belongs to (where its endpoint lives), when no call of it is known. */
  agentServer?: (extension: string) => Promise<string | undefined> | string | undefined
  /** Time and timers (default the system clock): unit tests drive it. */
  clock?: Clock
  logger?: Logger
}

/** The other instances of the host app, when there are (a shared store on Redis). */
export interface Peers {
  /** Sends a request to the instance that owns a transfer; rejects with `OwnerGoneError` if it is gone. */
  send: (owner: string, command: RemoteCommand, timeoutMs: number) => Promise<unknown>
  /** How often this instance renews its leases and looks for transfers whose owner is gone. */
  leaseRenewMs: number
  /** Whether the shared store is reachable now: while it is not, there is nothing to renew or take over. */
  available?: () => boolean
  /**
   * A transfer's record as its owner last published it on the shared feed, while this instance's feed
   * holds it: a takeover goes on from it when it is newer than the stored one (`takeover-state.ts`).
   */
  lastPublished?: (id: string) => Transfer | undefined
  /** A transfer's record once its owner publishes its end on the shared feed (from now on; never, once `signal` aborts). */
  ended?: (id: string, signal: AbortSignal) => Promise<Transfer>
}

/** Where blind transfers with recall are sent, and whether that dialplan is in Asterisk now. */
export interface RecallRouting {
  context: string
  /** The fallback destination's name (for the record). */
  fallback?: string
  /** Whether the recall dialplan is in Asterisk (added again if it was dropped); false: plain Redirect. */
  ensure: () => Promise<boolean>
  /** Its lines, to write in front of the Redirect, once Asterisk is known to take them (undefined: `ensure`). */
  linesInFront?: () => readonly DialplanStep[] | undefined
  /** A line written in front of a Redirect was refused. */
  refusedInFront?: (error: Error) => void
}

/** What the service needs of the call monitor. */
export interface CallLookup {
  readonly inSync: boolean
  /** True once in sync (at once if it is), false if not within `timeoutMs`. */
  whenInSync?: (timeoutMs: number) => Promise<boolean>
  /** The channels and bridges of one extension's calls. */
  snapshotOf: (extension: string) => CallSnapshot
  /** Whether it knows a channel of the extension's (O(1): a pool asks each server's on every request). */
  hasCallOf?: (extension: string) => boolean
  /** The named channels and everything bridged with them. */
  snapshotAround?: (names: readonly string[]) => CallSnapshot
  /** Every agent call (to find consultations left by a previous run of the host app). */
  allCalls?: () => Call[]
  /** Every channel and bridge it knows (once, at a restore: a consultation swapped away from). */
  snapshot?: () => CallSnapshot
  /** A live channel's uniqueid and linkedid (`''` while unknown), by name: the ids transfer records carry. */
  idsOf?: (name: string) => { uniqueId: string, linkedId: string } | undefined
}

export interface TransferRequest {
  extension: string
  targetExtension: string
  transferType: TransferType
  requestedBy: string
  /** Who asks, when it is a client of the routes: its rights and the host's rules are checked. */
  identity?: Identity
  /** For the target's screen; kept with the transfer, never sent to Asterisk. */
  note?: string
}

/** What the service notices besides a transfer's changes (for operators: metrics, alerts). */
export interface TransferNotices {
  /** A check against the PBX corrected a transfer: the input it applied (`lost`, `customer_hung_up`, `delivered`...). */
  /** A transfer corrected by a check against its server (`server`) of what that PBX showed. */
  reconciled: [{ transferId: string, status: TransferStatus, input: TransferInput['type'], server: string }]
}

export interface LocatedCall {
  /** The server the call is on (its name in the pool). */
  server?: string
  agentChannel: string
  peerChannel: string
  bridgeId: string
  /** The party on the other end as Asterisk names it, when it does. */
  caller?: TransferCaller
}

/** One Asterisk server of a pool, as the service is given it. */
export interface PoolServer {
  /** Its name in the pool (`domain/server.ts`). */
  name: string
  pbx: Pbx
  /** Its call monitor; without it lookups ask its ARI. */
  calls?: CallLookup
  /** Where its blind transfers with recall go; without it, a plain Redirect. */
  recall?: RecallRouting
  /** The context its targets are dialed in (default the service's `transferContext`). */
  transferContext?: string
}

/** The servers a service is given: one Asterisk (with the options' `server`, `calls` and `recall`), or a pool. */
export function poolOf (servers: Pbx | readonly PoolServer[], options: TransferServiceOptions): readonly [PoolServer, ...PoolServer[]] {
  if (!Array.isArray(servers)) {
    const { server = DEFAULT_SERVER, calls, recall } = options
    return [{ name: server, pbx: servers as Pbx, ...(calls === undefined ? {} : { calls }), ...(recall === undefined ? {} : { recall }) }]
  }
  const [first, ...rest] = servers as readonly PoolServer[]
  if (first === undefined) throw new Error('a transfer service needs at least one Asterisk server')
  return [first, ...rest]
}
