/**
 * What a transfer does: find the agent's call, check the target, act through the PBX, then follow the
 * transfer through Asterisk's events until it is over, confirming outcomes on the PBX itself, and
 * publish every change. Each transfer in progress is one `ActiveTransfer` in the registry; this file
 * drives it. What it has become while the plugin could not see is settled by reconciliation (after
 * every reconnect, on a timer and at each state's deadline), and an attended transfer survives a
 * restart of the host app through a record on the agent's channel (`channel-record.ts`).
 */
import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { AgentDirectory } from '../agents/agent-directory.js'
import type { PbxEvent } from '../asterisk/ami-events.js'
import { extensionOf, isLocalTo, localCounterpart, parseChannelName } from '../asterisk/channel-name.js'
import { silentLogger, type Logger } from '../support/logger.js'
import type { CallSnapshot, DialplanStep, Pbx } from '../asterisk/pbx.js'
import type { Call } from '../domain/call.js'
import { isFinal, type TransferCaller, type TransferStatus as TransferState, type Transfer, type TransferType } from '../domain/transfer.js'
import {
  AsteriskTimeoutError,
  CallNotBridgedError,
  NoActiveChannelError,
  SameExtensionError,
  StoreUnavailableError,
  TransferInProgressError,
  TransferNotFoundError,
  TooManyTransfersError,
  TransferStateError,
  UnknownTargetError
} from '../errors.js'
import type { Identity } from '../identity.js'
import { OwnerGoneError, type RemoteCommand } from '../store/command-bus.js'
import { MemoryTransferStore } from '../store/memory-transfer-store.js'
import type { StoredTransfer, TransferStore } from '../store/transfer-store.js'
import type { ActiveTransfer } from './active-transfer.js'
import { AtxferPacing } from './atxfer-pacing.js'
import { bridgedLocal, bridgeMates, bridgedParty, callerOf, findAgentCall, type AgentCall } from './call-topology.js'
import { CHANNEL_RECORD_VARIABLE, decodeChannelRecord, encodeChannelRecord, type ChannelRecord } from './channel-record.js'
import { awaitConsultation } from './consultation-watch.js'
import { cancelConsultation, completeConsultation, controlSettled, pressControl, type ConsultationControl } from './consultation-controls.js'
import { checkOutcome, needsCheck, type CheckedInput } from './outcome-check.js'
import { PhoneTransferDetector, type PhoneTransfer } from './phone-transfers.js'
import { AGENT_VARIABLE, RECALL_STEPS, TARGET_VARIABLE, usesRecall } from './recall-dialplan.js'
import { reconcile } from './reconciliation.js'
import { canCancel, canComplete, canSwap, canThreeWay, transition, type TransferInput } from './state.js'
import { talkingToAfter } from './talking-to.js'
import { eventFor, TransferEvents } from './transfer-events.js'
import { TransferPolicy } from './transfer-policy.js'
import { channelsOf, TransferRegistry } from './transfer-registry.js'
import { abortInput, interpretEvent } from './tracker.js'
import type { DialTarget } from '../domain/destination.js'

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
  /** Where transfers are shared with the other instances (default: this process's memory, no others). */
  store?: TransferStore
  /** Several instances: how to reach the owner of a transfer, and how often leases are renewed. */
  peers?: Peers
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
  /** The named channels and everything bridged with them. */
  snapshotAround?: (names: readonly string[]) => CallSnapshot
  /** Every agent call (to find consultations left by a previous run of the host app). */
  allCalls?: () => Call[]
  /** Every channel and bridge it knows (once, at a restore: a consultation swapped away from). */
  snapshot?: () => CallSnapshot
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
  reconciled: [{ transferId: string, status: TransferState, input: TransferInput['type'] }]
}

export interface LocatedCall {
  agentChannel: string
  peerChannel: string
  bridgeId: string
  /** The party on the other end as Asterisk names it, when it does. */
  caller?: TransferCaller
}

/** How often, and how far apart, an outcome is checked on the PBX (Local channels may still be moving). */
const CONFIRM_ATTEMPTS = 6
const CONFIRM_INTERVAL_MS = 250
/**
 * From the monitor's memory a look costs nothing, and what it shows changes only with an event: look
 * again after the next event (the bridge that shows the outcome usually comes a moment after the event
 * that reported it), at least this often, for as long in all.
 */
const MEMORY_CONFIRM_INTERVAL_MS = 20
/** How long a lookup that memory cannot answer yet waits for the events on their way. */
const EVENTS_ON_THE_WAY_MS = 250
/** How long a lookup waits for the call monitor's rebuild (after an AMI reconnect) before asking ARI. */
const SYNC_WAIT_MS = 2000
/**
 * How long the consultation's channel must outlive the agent's Unhold, while the target rings, to be a
 * swap rather than an abort: Asterisk hangs it up in the same instant as it moves the agent back when
 * it aborts, so this is a margin for a busy machine, and the delay before such a swap is reported.
 */
const SWAP_WHILE_RINGING_MS = 500

const DEADLINE_OF: { readonly [S in TransferState]?: keyof TransferDeadlines } = {
  initiated: 'initiatedMs',
  redirected: 'redirectedMs',
  consulting: 'consultingMs',
  target_answered: 'targetAnsweredMs',
  three_way: 'targetAnsweredMs',
  // The customer rings the agent, then goes to the fallback: like a blind transfer on its way.
  recalling: 'redirectedMs'
}

/** How often, and how far apart, Asterisk's start time is asked before giving up. */
const STARTED_AT_ATTEMPTS = 4
const STARTED_AT_RETRY_MS = 500

/** Far beyond any call center's simultaneous transfers; a bound on memory, not a business rule. */
const DEFAULT_MAX_ACTIVE = 10_000

function failureReasonOf (error: unknown): 'timed_out' | 'asterisk_refused' {
  return (error as { code?: string }).code === 'XFER_ASTERISK_TIMEOUT' ? 'timed_out' : 'asterisk_refused'
}

export class TransferService {
  readonly events = new TransferEvents()
  readonly notices = new EventEmitter<TransferNotices>()
  readonly #pbx: Pbx
  readonly #options: TransferServiceOptions
  readonly #deadlines: TransferDeadlines
  readonly #maxActive: number
  readonly #registry = new TransferRegistry()
  readonly #store: TransferStore
  readonly #changes = new EventEmitter<{ changed: [Transfer] }>()
  readonly #phone: PhoneTransferDetector
  readonly #pacing: AtxferPacing
  readonly #policy: TransferPolicy
  readonly #calls: CallLookup | undefined
  readonly #log: Logger
  readonly #onPbxEvent = (event: PbxEvent): void => { this.#handle(event) }
  readonly #onConnection = (state: { ami: boolean, ari: boolean }): void => { this.#onConnectionChange(state) }
  #reconcileTimer: NodeJS.Timeout | undefined
  /** Asterisk's start time as last seen: another one after a reconnect means it restarted. */
  #asteriskStartedAt: string | undefined
  /**
   * When the link was last lost before a restart of Asterisk was found: a transfer created before it had
   * its calls on the Asterisk that died. Kept, because the pass that found the restart may not settle
   * every transfer (a look at the PBX failed, an action was in flight), and a later pass or deadline must
   * still say asterisk_restarted rather than call_ended.
   */
  #restartedBefore: number | undefined
  /** When the link to Asterisk was last lost. */
  #linkLostAt: number | undefined
  #wasConnected = true
  /** Transfers whose action (Redirect, Atxfer) is in flight: they see every event until it answers. */
  readonly #actionsInFlight = new Set<ActiveTransfer>()
  #reconciling: Promise<void> | undefined
  #leaseTimer: NodeJS.Timeout | undefined
  #leasing: Promise<void> | undefined

  constructor (pbx: Pbx, options: TransferServiceOptions) {
    this.#pbx = pbx
    this.#options = options
    this.#store = options.store ?? new MemoryTransferStore('local')
    this.#deadlines = { ...DEFAULT_DEADLINES, ...options.deadlines }
    this.#maxActive = options.maxActive ?? DEFAULT_MAX_ACTIVE
    this.#changes.setMaxListeners(0)
    this.#calls = options.calls
    this.#log = options.logger ?? silentLogger
    this.#pacing = new AtxferPacing(options.atxferQuietMs)
    this.#policy = options.policy ?? new TransferPolicy(
      new AgentDirectory([], pbx, options.channelTechnology),
      { destinations: {}, transferContext: options.transferContext, allowFreeDialing: true },
      undefined,
      silentLogger
    )
    this.#phone = new PhoneTransferDetector({
      technology: options.channelTechnology,
      isTracked: (channel) => this.#registry.activeByChannel(channel).length > 0,
      isOwnConsultation: (localChannel) => this.#isOwnConsultation(localChannel),
      peerOf: async (agentChannel) => bridgedParty(await this.#snapshotFor(agentChannel), agentChannel)?.name,
      onTransfer: (transfer) => this.#adoptPhoneTransfer(transfer)
    })
  }

  /** Starts following Asterisk's events (transfers in progress and the phones' own transfers). */
  start (): void {
    this.#pbx.events.on('event', this.#onPbxEvent)
    this.#pbx.events.on('connection', this.#onConnection)
    this.#wasConnected = this.#connected()
    this.#readStartedAt().then((startedAt) => { this.#asteriskStartedAt ??= startedAt }, () => {})
    const interval = this.#options.reconcileIntervalMs ?? 0
    if (interval > 0) {
      this.#reconcileTimer = setInterval(() => { this.reconcileAll('timer').catch(this.#reportFailure('reconciling transfers')) }, interval)
      this.#reconcileTimer.unref()
    }
    const peers = this.#options.peers
    if (peers !== undefined) {
      this.#leaseTimer = setInterval(() => { this.keepLeases().catch(this.#reportFailure('renewing transfer leases')) }, peers.leaseRenewMs)
      this.#leaseTimer.unref()
    }
  }

  /**
   * Stops following Asterisk. The transfers in progress are handed back (their leases released), so
   * that another instance takes them over at once rather than after a lease.
   */
  async stop (): Promise<void> {
    this.#pbx.events.off('event', this.#onPbxEvent)
    this.#pbx.events.off('connection', this.#onConnection)
    clearInterval(this.#reconcileTimer)
    clearInterval(this.#leaseTimer)
    this.#phone.stop()
    const owned = this.#registry.inProgress()
    for (const transfer of owned) transfer.dispose()
    await this.#store.release(owned.map((transfer) => transfer.id)).catch(() => {})
  }

  /** A transfer this instance owns, or finished here recently. */
  get (id: string): Transfer | undefined {
    return this.#registry.get(id)
  }

  /** A transfer, whichever instance owns it. */
  async find (id: string): Promise<Transfer | undefined> {
    const local = this.#registry.get(id)
    if (local !== undefined) return local
    return (await this.#shared(async () => await this.#store.get(id)))?.stored.record
  }

  /** Every transfer in progress, whichever instance owns it. */
  async list (): Promise<Transfer[]> {
    if (this.#options.peers === undefined) return this.#registry.active()
    return await this.#shared(async () => await this.#store.active())
  }

  active (): Transfer[] {
    return this.#registry.active()
  }

  /** The transfer in progress that involves this channel, if any. */
  activeOnChannel (channel: string): Transfer | undefined {
    return this.#registry.activeByChannel(channel)[0]?.record
  }

  /** The agent's active, two-party call: its channel and the real party bridged with it. */
  async getChannelForExtension (extension: string): Promise<LocatedCall> {
    const now = this.#locateFromMemory(extension)
    if (now !== undefined) return now
    // The monitor mirrors every channel and bridge: it answers, not a listing of the whole PBX (at
    // 2,000 channels ARI takes 40 to 360 ms for one and Asterisk works for it). Out of sync, it is
    // rebuilt from one snapshot after a reconnect; that rebuild is waited for. Only while AMI stays
    // down (no events, so no memory) is ARI listed, the one source left.
    if (this.#calls === undefined || !(await this.#inSyncSoon())) return this.#locate(extension, await this.#pbx.snapshot())
    // A call whose events are still on their way (its bridge formed a moment ago): looked at again
    // after each event, for a short while; then memory's answer stands (no call, or not bridged).
    const deadline = performance.now() + EVENTS_ON_THE_WAY_MS
    for (;;) {
      const call = findAgentCall(this.#calls.snapshotOf(extension), this.#options.channelTechnology, extension)
      if (call?.peer !== undefined && call.bridgeId !== undefined) return located(extension, call)
      const left = deadline - performance.now()
      if (left <= 0) {
        if (call === undefined) throw new NoActiveChannelError(extension)
        return located(extension, call)
      }
      await this.#nextEventOr(left)
      if (!this.#calls.inSync) return await this.getChannelForExtension(extension)
    }
  }

  /** The call from the monitor's memory, when it is in sync and knows a bridged call; otherwise undefined. */
  #locateFromMemory (extension: string): LocatedCall | undefined {
    if (this.#calls?.inSync !== true) return undefined
    const call = findAgentCall(this.#calls.snapshotOf(extension), this.#options.channelTechnology, extension)
    return call?.peer === undefined || call.bridgeId === undefined ? undefined : located(extension, call)
  }

  /**
   * Whether the call monitor answers for the PBX: in sync now, or again within SYNC_WAIT_MS (after an
   * AMI reconnect it is rebuilt from one snapshot, which readers wait for rather than take their own).
   * While AMI is down there is no rebuild to wait for.
   */
  async #inSyncSoon (): Promise<boolean> {
    const calls = this.#calls
    if (calls === undefined) return false
    if (calls.inSync) return true
    if (!this.#pbx.connectionState().ami) return false
    return (await calls.whenInSync?.(SYNC_WAIT_MS)) ?? false
  }

  #locate (extension: string, snapshot: CallSnapshot): LocatedCall {
    const call = findAgentCall(snapshot, this.#options.channelTechnology, extension)
    if (call === undefined) throw new NoActiveChannelError(extension)
    return located(extension, call)
  }

  /** The calls around a channel: from the monitor's memory (waiting for a rebuild under way), else asked of ARI. */
  async #snapshotFor (channel: string): Promise<CallSnapshot> {
    const extension = extensionOf(channel, this.#options.channelTechnology)
    return extension !== undefined && this.#calls !== undefined && await this.#inSyncSoon() ? this.#calls.snapshotOf(extension) : await this.#pbx.snapshot()
  }

  /** The PBX around a transfer's channels: from memory (waiting for a rebuild under way), else from ARI. */
  async #snapshotAround (transfer: Pick<Transfer, 'channels'>): Promise<{ snapshot: CallSnapshot, fromMemory: boolean }> {
    const around = this.#calls?.snapshotAround
    if (around !== undefined && this.#calls !== undefined && await this.#inSyncSoon()) {
      const { agent, peer, consultation, target } = transfer.channels
      const names = [agent, peer, consultation, target].filter((name): name is string => name !== undefined)
      return { snapshot: around.call(this.#calls, names), fromMemory: true }
    }
    return { snapshot: await this.#pbx.snapshot(), fromMemory: false }
  }

  async execute (request: TransferRequest): Promise<Transfer> {
    const { extension, targetExtension } = request
    if (extension === targetExtension) throw new SameExtensionError(extension)
    const target = await this.#policy.admit(request)
    await this.#checkCallAndTarget(extension, targetExtension, target)
    // Looked up, checked and registered in one synchronous step when the monitor is in sync, so the
    // call is as it is now (not as a snapshot from before an await) and concurrent requests for one call
    // cannot both pass.
    const call = this.#locateFromMemory(extension) ?? await this.getChannelForExtension(extension)
    const busy = this.#registry.activeByChannel(call.peerChannel)[0] ?? this.#registry.activeByChannel(call.agentChannel)[0]
    if (busy !== undefined) throw Object.assign(new TransferInProgressError(busy.id), { transferId: busy.id })
    if (this.#registry.activeCount >= this.#maxActive) throw new TooManyTransfersError(this.#maxActive)
    const record = newTransfer({
      type: request.transferType,
      origin: 'plugin',
      extension,
      targetExtension,
      requestedBy: request.requestedBy,
      channels: { agent: call.agentChannel, peer: call.peerChannel },
      ...(target.destination === undefined ? {} : { destination: target.destination }),
      ...(request.note === undefined ? {} : { note: request.note }),
      ...(call.caller === undefined ? {} : { caller: call.caller })
    })
    // The call is taken in the shared store first: of two instances asked for one call, one wins.
    const claimed = await this.#shared(async () => await this.#store.open({ record, dialTarget: target, tracking: { ...NEW_TRACKING } }, channelsOf(record), this.#maxActive))
    if (!claimed.ok) {
      if ('busyWith' in claimed) throw Object.assign(new TransferInProgressError(claimed.busyWith), { transferId: claimed.busyWith })
      throw new TooManyTransfersError(this.#maxActive)
    }
    const transfer = this.#open(record, target)
    transfer.beginAction()
    this.#actionsInFlight.add(transfer)
    try {
      const input = transfer.record.type === 'blind' ? await this.#redirect(transfer) : await this.#startConsultation(transfer)
      return this.#apply(transfer, input)
    } catch (error) {
      const { code = 'XFER_INTERNAL', message } = error as Error & { code?: string }
      this.#apply(transfer, { type: 'action_failed', reason: failureReasonOf(error) }, { error: { code, message } })
      throw error
    } finally {
      this.#actionsInFlight.delete(transfer)
      for (const event of transfer.endAction()) this.#track(transfer, event)
    }
  }

  /**
   * Completes an attended transfer once the target answered: the agent leaves, the customer stays
   * with the target. Before the answer it is refused (cancel, or wait for `target_answered`).
   */
  async complete (id: string, identity?: Identity): Promise<Transfer> {
    return await this.#settle(id, identity, canComplete, async (transfer) => { await completeConsultation(this.#pbx, transfer) }, 'complete')
  }

  /** Cancels an attended transfer: the consultation ends, the agent is back with the customer. */
  async cancel (id: string, identity?: Identity): Promise<Transfer> {
    return await this.#settle(id, identity, canCancel, async (transfer) => {
      // The abort that follows is then a cancel, whatever else happens around it (see tracker.ts).
      const active = this.#registry.activeById(transfer.id)
      if (active !== undefined) active.cancelRequested = true
      try {
        await cancelConsultation(this.#pbx, transfer)
      } catch (error) {
        if (active !== undefined) active.cancelRequested = false
        throw error
      }
      this.#persist(active)
    }, 'cancel')
  }

  /**
   * A transfer this instance does not own: its owner acts (it alone follows the calls), asked through
   * the peers; a transfer whose owner is gone is taken over and acted on here (undefined: go on
   * locally). Refusals that need no owner (unknown, not allowed, not in a state for it) are made here.
   */
  async #elsewhere (id: string, identity: Identity | undefined, allowed: (state: TransferState) => boolean, action: string): Promise<Transfer | undefined> {
    const peers = this.#options.peers
    if (peers === undefined) return undefined
    const found = await this.#shared(async () => await this.#store.get(id))
    if (found === undefined) throw new TransferNotFoundError(id)
    const { record } = found.stored
    if (identity !== undefined) this.#policy.assertMayAct(identity, record.extension)
    if (isFinal(record.status) || record.type !== 'attended' || !allowed(record.status)) throw new TransferStateError(id, describeState(record))
    // Recorded as this instance's but not followed here (it lost track of it): taken back like a gone owner's.
    let goneOwner = found.owner === this.#store.instanceId ? found.owner : undefined
    if (found.owner !== undefined && found.owner !== this.#store.instanceId) {
      try {
        return await peers.send(found.owner, { action, transferId: id, ...(identity === undefined ? {} : { identity }) }, this.#settleTimeoutMs() + this.#options.consultationTimeoutMs) as Transfer
      } catch (error) {
        if (!(error instanceof OwnerGoneError)) throw error
        this.#log.warn({ transferId: id, owner: found.owner }, 'the instance that owned the transfer is gone; taking it over')
        goneOwner = found.owner
      }
    }
    const taken = await this.#shared(async () => await this.#store.takeOver(id, goneOwner))
    if (taken === undefined) {
      // Another instance was faster, or the owner's lease has not run out yet: it is not ours to act on.
      throw Object.assign(new StoreUnavailableError(`transfer ${id} is being taken over by another instance`), { transferId: id })
    }
    await this.#adopt(taken)
    return undefined
  }

  /** Answers a request another instance sent for a transfer this one owns. */
  async handleRemote (command: RemoteCommand): Promise<Transfer> {
    switch (command.action) {
      case 'complete': return await this.complete(command.transferId, command.identity)
      case 'cancel': return await this.cancel(command.transferId, command.identity)
      case 'swap': return await this.swap(command.transferId, command.identity)
      case 'three_way': return await this.threeWay(command.transferId, command.identity)
      default: throw new TransferStateError(command.transferId, `unknown action ${command.action}`)
    }
  }

  /**
   * Records every transfer this instance owns in the shared store again: after Redis comes back, which
   * may have lost its data (a restart without persistence), so the other instances know them again.
   */
  recordAll (): void {
    for (const transfer of this.#registry.inProgress()) this.#persist(transfer)
  }

  /** Renews this instance's leases and takes over the transfers whose owner is gone. */
  async keepLeases (): Promise<void> {
    if (this.#leasing !== undefined) return await this.#leasing
    this.#leasing = this.#keepLeases().finally(() => { this.#leasing = undefined })
    return await this.#leasing
  }

  async #keepLeases (): Promise<void> {
    if (this.#options.peers?.available?.() === false) return
    const owned = this.#registry.inProgress().map((transfer) => ({ id: transfer.id, channels: channelsOf(transfer.record) }))
    for (const id of await this.#store.renew(owned)) this.#lose(id)
    // Taken over only by an instance that sees the PBX: it must check the transfer's calls first.
    if (!this.#connected()) return
    for (const id of await this.#store.orphans()) {
      const stored = await this.#store.takeOver(id)
      if (stored !== undefined) await this.#adopt(stored)
    }
  }

  /** Another instance owns it now (this one lost its lease): it stops following it, without a word. */
  #lose (id: string): void {
    this.#log.warn({ transferId: id }, 'another instance took this transfer over; no longer followed here')
    this.#registry.discard(id)
  }

  /**
   * Goes on with a transfer another instance owned: registered here under its id, with what its owner
   * knew, checked against the PBX (what happened while nobody followed it is applied), then followed.
   * Not announced again: clients saw its state from the previous owner.
   */
  async #adopt (stored: StoredTransfer): Promise<void> {
    const existing = this.#registry.activeById(stored.record.id)
    if (existing !== undefined) return
    const transfer = this.#registry.save(stored.record, stored.dialTarget)
    if (transfer === undefined) return
    transfer.resume(stored.tracking)
    this.#armDeadline(transfer)
    this.#log.info({ transferId: transfer.id, status: transfer.record.status }, 'transfer taken over from an instance that is gone')
    await this.#reconcileOne(transfer, false).catch((error: unknown) => {
      this.#log.warn({ err: error, transferId: transfer.id }, 'checking a transfer taken over failed')
    })
  }

  /** Runs a step on the shared store; its failure (Redis unreachable) is the client's 503, nothing done. */
  async #shared<T> (step: () => Promise<T>): Promise<T> {
    try {
      return await step()
    } catch (error) {
      if ((error as { code?: string }).code?.startsWith('XFER_') === true) throw error
      throw new StoreUnavailableError((error as Error).message)
    }
  }

  /** Records the transfer's latest state for the other instances (queued while Redis is down). */
  #persist (transfer: ActiveTransfer | undefined): void {
    if (transfer === undefined) return
    const stored = transfer.stored()
    this.#store.save(stored, channelsOf(stored.record)).then((saved) => {
      if (!saved && !isFinal(stored.record.status)) this.#lose(stored.record.id)
    }, (error: unknown) => { this.#log.warn({ err: error, transferId: stored.record.id }, 'a transfer could not be recorded in the shared store') })
  }

  #settleTimeoutMs (): number {
    return this.#options.settleTimeoutMs ?? Math.max(this.#options.consultationTimeoutMs, 5000)
  }

  /** Swaps the agent between the customer and the target, once the target answered (`consultation-controls.ts`). */
  async swap (id: string, identity?: Identity): Promise<Transfer> {
    return await this.#control(id, identity, 'swap', canSwap)
  }

  /** Brings customer, agent and target into one call, once the target answered. */
  async threeWay (id: string, identity?: Identity): Promise<Transfer> {
    return await this.#control(id, identity, 'three_way', canThreeWay)
  }

  async #control (id: string, identity: Identity | undefined, control: ConsultationControl, allowed: (state: TransferState) => boolean): Promise<Transfer> {
    return await this.#settle(id, identity, allowed, async (transfer) => { await pressControl(this.#pbx, transfer.channels.agent, control) },
      control, (before, now) => controlSettled(control, before, now))
  }

  /**
   * Acts on a transfer in consultation and waits until it `settled` (by default: it is over). Refused
   * without acting when the transfer is not in a state `allowed`, or another action on it is under way;
   * a transfer another instance owns is acted on there (`action` names it).
   */
  async #settle (id: string, identity: Identity | undefined, allowed: (state: TransferState) => boolean, act: (transfer: Transfer) => Promise<void>, action: string,
    settled: (before: Transfer, now: Transfer) => boolean = (_, now) => isFinal(now.status)): Promise<Transfer> {
    if (this.#registry.get(id) === undefined) {
      const remote = await this.#elsewhere(id, identity, allowed, action)
      if (remote !== undefined) return remote
    }
    const record = this.#registry.get(id)
    if (record === undefined) throw new TransferNotFoundError(id)
    if (identity !== undefined) this.#policy.assertMayAct(identity, record.extension)
    const transfer = this.#registry.activeById(id)
    if (transfer === undefined || record.type !== 'attended' || !allowed(record.status)) throw new TransferStateError(id, describeState(record))
    if (transfer.settling) throw new TransferStateError(id, 'already being completed, cancelled, swapped or joined')
    transfer.settling = true
    try {
      const abandon = new AbortController()
      const finished = this.#waitFor(id, (now) => settled(record, now), abandon.signal)
      finished.catch(() => {})
      try {
        await act(record)
      } catch (error) {
        abandon.abort()
        throw error
      }
      return await finished
    } finally {
      transfer.settling = false
    }
  }

  /** Resolves when the transfer is `done`; `signal` stops waiting (the action itself failed). */
  #waitFor (id: string, done: (transfer: Transfer) => boolean, signal: AbortSignal): Promise<Transfer> {
    const timeoutMs = this.#settleTimeoutMs()
    return new Promise((resolve, reject) => {
      const stop = (): void => {
        clearTimeout(timer)
        this.#changes.off('changed', onChange)
        signal.removeEventListener('abort', onAbort)
      }
      const onChange = (transfer: Transfer): void => {
        if (transfer.id !== id || !done(transfer)) return
        stop()
        resolve(transfer)
      }
      const onAbort = (): void => {
        stop()
        reject(new AsteriskTimeoutError(`the end of transfer ${id} (abandoned)`, 0))
      }
      const timer = setTimeout(() => {
        stop()
        reject(new AsteriskTimeoutError(`the end of transfer ${id}`, timeoutMs))
      }, timeoutMs)
      this.#changes.on('changed', onChange)
      signal.addEventListener('abort', onAbort)
    })
  }

  /** Whether a Local channel is the consultation of one of our own attended transfers being started. */
  #isOwnConsultation (localChannel: string): boolean {
    for (const transfer of this.#actionsInFlight) {
      const { exten, context } = transfer.dialTarget
      if (transfer.record.type === 'attended' && isLocalTo(localChannel, exten, context)) return true
    }
    return false
  }

  /** Checks the call and the target at once; a missing call is reported before a missing target. */
  async #checkCallAndTarget (extension: string, targetExtension: string, target: DialTarget): Promise<void> {
    const targetExists = this.#pbx.extensionExists(target.context, target.exten)
    targetExists.catch(() => {})
    await this.getChannelForExtension(extension)
    if (!(await targetExists)) throw new UnknownTargetError(targetExtension, target.context)
  }

  async #redirect (transfer: ActiveTransfer): Promise<TransferInput> {
    const { exten, context } = transfer.dialTarget
    const { peer } = transfer.record.channels
    const recall = this.#options.recall
    if (recall === undefined || !usesRecall(transfer.dialTarget, this.#options.transferContext)) {
      await this.#pbx.redirect(peer, exten, context)
      return { type: 'redirect_accepted' }
    }
    // The customer dials the target from the recall context, which brings them back when it fails. It
    // reads two variables, and the context may have been dropped by a reload nobody announced: both are
    // written in front of the Redirect, which Asterisk runs after them, in one round trip.
    const variables = { [TARGET_VARIABLE]: exten, [AGENT_VARIABLE]: transfer.record.extension }
    const lines = recall.linesInFront?.()
    // Until Asterisk has taken the lines once, check the context first (the variables go along: they are
    // read by nothing else, so a plain Redirect after a failed check leaves nothing wrong behind).
    const ready = lines !== undefined || (await Promise.all([
      recall.ensure(),
      ...Object.entries(variables).map(async ([name, value]) => { await this.#pbx.setVariable(peer, name, value) })
    ]))[0]
    if (!ready) {
      await this.#pbx.redirect(peer, exten, context)
      return { type: 'redirect_accepted' }
    }
    transfer.recall = recall.fallback === undefined ? { context: recall.context } : { context: recall.context, fallback: recall.fallback }
    if (lines === undefined) {
      await this.#pbx.redirect(peer, RECALL_STEPS.transfer, recall.context)
    } else {
      const { setupRefused } = await this.#pbx.redirectAfterSetup(peer, RECALL_STEPS.transfer, recall.context, { variables, dialplan: lines })
      if (setupRefused !== undefined) recall.refusedInFront?.(setupRefused)
    }
    return { type: 'redirect_accepted' }
  }

  async #startConsultation (transfer: ActiveTransfer): Promise<TransferInput> {
    const { exten, context } = transfer.dialTarget
    const { agent, peer } = transfer.record.channels
    // Left on the agent's channel first: a restart of the host app during the consultation finds it.
    await this.#pbx.setVariable(agent, CHANNEL_RECORD_VARIABLE, encodeChannelRecord({ ...transfer.record, peer }))
    const quiet = this.#pacing.delayFor(agent)
    if (quiet > 0) await sleep(quiet)
    const consultation = awaitConsultation(this.#pbx.events, {
      agentChannel: agent,
      peerChannel: peer,
      target: exten,
      context,
      technology: this.#options.channelTechnology
    }, this.#options.consultationTimeoutMs)
    try {
      await this.#pbx.attendedTransfer(agent, exten, context)
    } catch (error) {
      consultation.abandon()
      throw error
    }
    const channel = await consultation.started
    this.#save(transfer, { ...transfer.record, channels: { ...transfer.record.channels, consultation: channel } })
    return { type: 'consultation_started' }
  }

  #handle (event: PbxEvent): void {
    this.#pacing.observe(event)
    for (const transfer of this.#concernedBy(event)) {
      if (!transfer.buffer(event)) this.#track(transfer, event)
    }
    this.#phone.observe(event)
  }

  #concernedBy (event: PbxEvent): Iterable<ActiveTransfer> {
    const channels = 'channel' in event && event.channel !== undefined ? [event.channel] : []
    if (event.type === 'attendedTransfer') channels.push(event.transferer)
    // The common case, no action in flight and one channel: the registry's answer (never changed here) as is,
    // without a Set per event.
    if (this.#actionsInFlight.size === 0 && channels.length <= 1) return channels[0] === undefined ? [] : this.#registry.activeByChannel(channels[0])
    // A transfer whose action is in flight keeps every event, to replay it once the action answered
    // (which channels matter may only be known then: the consultation's).
    const concerned = new Set(this.#actionsInFlight)
    for (const channel of channels) for (const transfer of this.#registry.activeByChannel(channel)) concerned.add(transfer)
    return concerned
  }

  #track (transfer: ActiveTransfer, event: PbxEvent): void {
    if (transfer.disposed) return
    const outcome = interpretEvent(transfer.tracked(), event)
    if (outcome === undefined) return
    const { record } = transfer
    if (outcome.handedOver === true) {
      transfer.handedOver = true
      this.#log.info({ transferId: record.id, target: record.targetExtension }, 'agent left before the target answered: the customer now waits for the target')
    }
    if (outcome.reached === true) transfer.reached = true
    if (outcome.targetHungUp === true) transfer.targetHungUp = true
    if (outcome.agentHeld !== undefined) transfer.agentHeld = outcome.agentHeld
    if (outcome.firstToLeave !== undefined) transfer.firstToLeave = outcome.firstToLeave ?? undefined
    const known = record.channels.target
    // A Local leg (the recall context's dial) gives way to the real leg behind it.
    if (outcome.channels?.target !== undefined && (known === undefined || localCounterpart(known) !== undefined || outcome.input?.type === 'target_answered')) {
      this.#save(transfer, { ...record, channels: { ...record.channels, target: outcome.channels.target } })
    }
    if (outcome.aborted === true) {
      if (!transfer.confirming) void (outcome.mayBeSwap === true ? this.#abortOrSwap(transfer) : this.#confirmAbort(transfer))
      return
    }
    const input = outcome.input
    if (input === undefined) return
    // What follows an outcome (the consultation's channels hanging up after a cancel) is its
    // consequence, not news; only the customer hanging up can still change its meaning.
    if (transfer.confirming && input.type !== 'customer_hung_up') return
    if (needsCheck(record.type, input)) {
      // Runs on after the event that started it: a failure here has nobody to reject to, so it is logged.
      this.#confirmThenApply(transfer, input).catch((error: unknown) => { this.#log.error({ err: error, transferId: record.id }, 'confirming a transfer outcome failed') })
    } else this.#apply(transfer, input)
  }

  /**
   * Before declaring an outcome, look at the PBX (`outcome-check.ts`): the bridges must show it.
   * Local channels may still be settling, so a few looks are allowed. A customer who is gone turns
   * the outcome into abandoned, whatever Asterisk's events said.
   */
  async #confirmThenApply (transfer: ActiveTransfer, input: CheckedInput): Promise<void> {
    transfer.confirming = true
    try {
      await this.#confirmOutcome(transfer, input)
    } catch (error) {
      this.#log.error({ err: error, transferId: transfer.id }, 'checking a transfer outcome failed')
    } finally {
      transfer.confirming = false
    }
  }

  /**
   * Asterisk ended a consultation: once the bridges show the agent back with the customer, say why
   * (`abortInput`: a cancel, the target's no-answer timeout, or the target hanging up). Judged then,
   * not at the first event: the target's Hangup may come just after the agent's Unhold.
   */
  async #confirmAbort (transfer: ActiveTransfer): Promise<void> {
    transfer.confirming = true
    try {
      await this.#confirmOutcome(transfer, { type: 'cancelled' }, () => abortInput(transfer.tracked(), Date.now()), 'interval')
    } catch (error) {
      this.#log.error({ err: error, transferId: transfer.id }, 'checking an aborted consultation failed')
    } finally {
      transfer.confirming = false
    }
  }

  /**
   * The agent was unheld while the target rang: Asterisk aborted the consultation (its Local channel
   * hangs up in the same instant) or the agent's phone swapped to the customer while the target keeps
   * ringing (the Local channel stays). Looked at until the consultation's channel is gone (an abort,
   * judged as any) or has outlived the move by SWAP_WHILE_RINGING_MS with the agent back with the
   * customer (a swap). Events go on being applied meanwhile: the target may answer in between.
   */
  async #abortOrSwap (transfer: ActiveTransfer): Promise<void> {
    const decideAt = Date.now() + SWAP_WHILE_RINGING_MS
    let swapped = false
    // Without the call monitor in sync a look is a full listing of ARI: fewer of them.
    let pause = MEMORY_CONFIRM_INTERVAL_MS
    for (;;) {
      await sleep(pause)
      if (transfer.disposed || transfer.confirming) return
      const look = await this.#snapshotAround(transfer.record).catch(() => undefined)
      pause = look?.fromMemory === false ? CONFIRM_INTERVAL_MS : MEMORY_CONFIRM_INTERVAL_MS
      const { consultation } = transfer.record.channels
      if (look === undefined || consultation === undefined || !look.snapshot.channels.some((channel) => channel.name === consultation)) break
      if (Date.now() >= decideAt) {
        swapped = checkOutcome(transfer.record.channels, { type: 'swapped', talkingTo: 'customer' }, look.snapshot) === 'confirmed'
        break
      }
    }
    if (transfer.disposed || transfer.confirming) return
    if (swapped) {
      this.#log.info({ transferId: transfer.id }, 'the agent\'s phone swapped to the customer while the target rings')
      this.#apply(transfer, { type: 'swapped', talkingTo: 'customer' })
    } else {
      await this.#confirmAbort(transfer)
    }
  }

  /**
   * `pace`: from memory, look again after the next event (fast), or every 20 ms (an abort: the
   * target's Hangup that says why may come just after the bridges show the agent back, and is waited for).
   */
  async #confirmOutcome (transfer: ActiveTransfer, input: CheckedInput, meaning: () => TransferInput = () => input, pace: 'next_event' | 'interval' = 'next_event'): Promise<void> {
    const deadline = Date.now() + CONFIRM_ATTEMPTS * CONFIRM_INTERVAL_MS
    for (let attempt = 0; ; attempt++) {
      // Let every listener of the event that brought the outcome (the call monitor) apply it first.
      if (attempt === 0) await new Promise((resolve) => setImmediate(resolve))
      if (transfer.disposed) return
      const look = await this.#snapshotAround(transfer.record).catch(() => undefined)
      const check = look === undefined ? 'not_yet' : checkOutcome(transfer.record.channels, input, look.snapshot)
      if (check !== 'not_yet') {
        if (check === 'confirmed' && look !== undefined && (input.type === 'target_answered' || input.type === 'completed')) this.#learnLegBehindLocal(transfer, look.snapshot)
        this.#apply(transfer, check === 'confirmed' ? meaning() : { type: 'customer_hung_up' })
        return
      }
      const fromMemory = look?.fromMemory === true
      if (fromMemory ? Date.now() >= deadline : attempt + 1 >= CONFIRM_ATTEMPTS) break
      await (!fromMemory ? sleep(CONFIRM_INTERVAL_MS) : pace === 'interval' ? sleep(MEMORY_CONFIRM_INTERVAL_MS) : this.#nextEventOr(MEMORY_CONFIRM_INTERVAL_MS))
    }
    // A swap the bridges never showed did not happen: the agent's phone held and resumed the call.
    if (input.type === 'swapped') return
    // Asterisk reported the outcome but the bridges never showed it (a queue, an unusual dialplan):
    // trust Asterisk's word, but say so.
    this.#log.warn({ transferId: transfer.id, input: input.type }, 'transfer outcome reported by Asterisk but not seen on the bridges')
    this.#apply(transfer, meaning())
  }

  /**
   * A Local half kept as the target (the far half's dial reached the plugin before the customer's own
   * DialBegin named the half) gives way, once the answer is confirmed, to the leg the bridges show
   * behind it: clients are told the phone that took the call, not a Local channel.
   */
  #learnLegBehindLocal (transfer: ActiveTransfer, snapshot: CallSnapshot): void {
    const { channels } = transfer.record
    if (channels.target === undefined || localCounterpart(channels.target) === undefined) return
    const behind = bridgedParty(snapshot, channels.peer)?.name
    if (behind === undefined || behind === channels.agent || localCounterpart(behind) !== undefined) return
    this.#save(transfer, { ...transfer.record, channels: { ...channels, target: behind } })
  }

  /** Resolves once the next PBX event has been applied by every listener (the call monitor), or after `ms`. */
  #nextEventOr (ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        this.#pbx.events.off('event', onEvent)
        resolve()
      }
      const onEvent = (): void => {
        this.#pbx.events.off('event', onEvent)
        setImmediate(done)
      }
      const timer = setTimeout(done, ms)
      this.#pbx.events.on('event', onEvent)
    })
  }

  #apply (transfer: ActiveTransfer, input: TransferInput, extra: { error?: Transfer['error'] } = {}): Transfer {
    const { record } = transfer
    if (transfer.disposed) return record
    const current = record.failureReason === undefined ? { state: record.status } : { state: record.status, reason: record.failureReason }
    const next = transition(current, input)
    if (next === undefined) return record
    const updated: Transfer = { ...record, status: next.state, updatedAt: new Date().toISOString() }
    if (next.reason !== undefined) updated.failureReason = next.reason
    if (extra.error !== undefined) updated.error = extra.error
    if (input.type === 'recalled') updated.recall = input.recall
    const talkingTo = talkingToAfter(record.type, record.talkingTo, input, next.state)
    if (talkingTo === undefined) delete updated.talkingTo
    else updated.talkingTo = talkingTo
    if (updated.status === 'consulting' && transfer.consultingSince === undefined) this.#startConsultingClock(transfer)
    this.#save(transfer, updated)
    this.#announce(updated, input)
    return updated
  }

  /**
   * An unanswered consultation is aborted by Asterisk after the agent channel's atxfernoanswertimeout
   * (features.conf, or set per channel): read it, to tell that abort from a cancel (`abortInput`).
   */
  #startConsultingClock (transfer: ActiveTransfer): void {
    transfer.consultingSince = Date.now()
    this.#pbx.getVariable(transfer.record.channels.agent, 'FEATURE(atxfernoanswertimeout)').then((value) => {
      const seconds = Number.parseFloat(value)
      if (Number.isFinite(seconds) && seconds > 0) transfer.noAnswerTimeoutMs = seconds * 1000
    }, () => {})
  }

  /** A new transfer in progress: registered, given its first deadline and announced. */
  #open (record: Transfer, target: DialTarget): ActiveTransfer {
    const transfer = this.#registry.save(record, target) as ActiveTransfer
    this.#armDeadline(transfer)
    this.#announce(record)
    return transfer
  }

  /** Stores a changed record; a new state gets its own deadline, a final one disposes the transfer. */
  #save (transfer: ActiveTransfer, record: Transfer): void {
    const stateChanged = record.status !== transfer.record.status
    this.#registry.save(record)
    this.#persist(transfer)
    if (isFinal(record.status)) this.#forgetOnChannel(record)
    else if (stateChanged) this.#armDeadline(transfer)
  }

  #announce (record: Transfer, input?: TransferInput): void {
    this.events.emit(eventFor(record.status, input), record)
    this.#changes.emit('changed', record)
  }

  /** A finished attended transfer's record is taken off the agent's channel (best effort: it may be gone). */
  #forgetOnChannel (record: Transfer): void {
    if (record.type !== 'attended' || record.origin !== 'plugin' || record.status === 'failed') return
    this.#pbx.setVariable(record.channels.agent, CHANNEL_RECORD_VARIABLE, '').catch(() => {})
  }

  #armDeadline (transfer: ActiveTransfer): void {
    const key = DEADLINE_OF[transfer.record.status]
    if (key === undefined) return
    const state = transfer.record.status
    transfer.armDeadline(this.#deadlines[key], () => { this.#onDeadline(transfer, state).catch(this.#reportFailure('ending a transfer past its deadline')) })
  }

  /** A state outlived its deadline: ask the PBX what became of it; if nothing says, end it. */
  async #onDeadline (transfer: ActiveTransfer, state: TransferState): Promise<void> {
    if (transfer.disposed || transfer.record.status !== state) return
    await this.#reconcileOne(transfer, false).catch(() => {})
    if (transfer.disposed || transfer.record.status !== state) return
    this.#log.warn({ transferId: transfer.id, state }, 'transfer outlived its deadline; ended')
    this.#apply(transfer, { type: 'lost', reason: 'deadline_exceeded' })
  }

  /** For work started by a timer or an event: a failure is logged, never an unhandled rejection. */
  #reportFailure (what: string): (error: unknown) => void {
    return (error) => { this.#log.error({ err: error }, `${what} failed`) }
  }

  #connected (): boolean {
    const { ami, ari } = this.#pbx.connectionState()
    return ami && ari
  }

  #onConnectionChange (state: { ami: boolean, ari: boolean }): void {
    const connected = state.ami && state.ari
    if (!connected && this.#wasConnected) this.#linkLostAt = Date.now()
    if (connected && !this.#wasConnected) this.reconcileAll('reconnect').catch(this.#reportFailure('reconciling transfers after a reconnect'))
    this.#wasConnected = connected
  }

  /**
   * Checks every transfer in progress against the PBX and applies what it shows (`reconciliation.ts`).
   * After a reconnect it first learns whether Asterisk restarted, and looks at ARI itself (the call
   * monitor is being rebuilt); on the timer it answers from the monitor's memory when in sync.
   */
  async reconcileAll (why: 'reconnect' | 'timer' = 'timer'): Promise<void> {
    const running = this.#reconciling
    if (running !== undefined) {
      // A timer pass that began before the link dropped cannot know Asterisk restarted: a reconnect
      // runs its own pass after it, rather than taking that pass's answer.
      if (why === 'timer') return await running
      await running.catch(() => {})
      return await this.reconcileAll(why)
    }
    this.#reconciling = this.#reconcileAll(why).finally(() => { this.#reconciling = undefined })
    return await this.#reconciling
  }

  async #reconcileAll (why: 'reconnect' | 'timer'): Promise<void> {
    // The timer looks only at a PBX it fully sees: while a link is down or the calls are being rebuilt,
    // a missing channel proves nothing, and the reconnect's own pass (which knows whether Asterisk
    // restarted) comes next.
    if (why === 'timer' && (!this.#connected() || this.#calls?.inSync === false)) return
    const restarted = why === 'reconnect' && await this.#asteriskRestarted()
    if (why === 'reconnect') await this.restore().catch((error: unknown) => { this.#log.warn({ err: error }, 'restoring consultations from Asterisk failed') })
    const transfers = this.#registry.inProgress().filter((transfer) => !transfer.actionInFlight && !transfer.confirming)
    if (transfers.length === 0) return
    // After a reconnect the call monitor is rebuilt from a fresh snapshot: each transfer is checked
    // against it, as soon as it is there. A listing of its own only if it does not come.
    const fresh = why === 'reconnect' && !(await this.#inSyncSoon()) ? await this.#pbx.snapshot().catch(() => undefined) : undefined
    for (const transfer of transfers) {
      await this.#reconcileOne(transfer, restarted, fresh).catch((error: unknown) => {
        this.#log.warn({ err: error, transferId: transfer.id }, 'reconciling a transfer failed')
      })
    }
  }

  async #reconcileOne (transfer: ActiveTransfer, restarted: boolean, fresh?: CallSnapshot): Promise<void> {
    const snapshot = fresh ?? (await this.#snapshotAround(transfer.record)).snapshot
    if (transfer.disposed) return
    const input = reconcile(transfer.tracked(), snapshot, { restarted: restarted || this.#predatesRestart(transfer) })
    if (input === undefined) return
    this.#log.info({ transferId: transfer.id, status: transfer.record.status, input: input.type }, 'transfer reconciled with the PBX')
    this.notices.emit('reconciled', { transferId: transfer.id, status: transfer.record.status, input: input.type })
    this.#apply(transfer, input)
  }

  async #asteriskRestarted (): Promise<boolean> {
    const startedAt = await this.#readStartedAt()
    if (startedAt === undefined) return false
    const restarted = this.#asteriskStartedAt !== undefined && startedAt !== this.#asteriskStartedAt
    this.#asteriskStartedAt = startedAt
    if (restarted) this.#restartedBefore = this.#linkLostAt ?? Date.now()
    return restarted
  }

  /** Whether the transfer began on an Asterisk that has restarted since. */
  #predatesRestart (transfer: ActiveTransfer): boolean {
    return this.#restartedBefore !== undefined && Date.parse(transfer.record.createdAt) <= this.#restartedBefore
  }

  /**
   * Asterisk's start time (AMI CoreStatus), asked a few times: just after a reconnect an Asterisk still
   * starting may not answer yet, and without it a restart would be taken for calls that ended.
   */
  async #readStartedAt (): Promise<string | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#pbx.startedAt()
      } catch (error) {
        if (attempt >= STARTED_AT_ATTEMPTS) {
          this.#log.warn({ err: error }, 'Asterisk\'s start time could not be read: a restart may be reported as calls ended')
          return undefined
        }
        await sleep(STARTED_AT_RETRY_MS)
      }
    }
  }

  /**
   * Finds the attended transfers a previous run of the host app left on agents' channels (a
   * consultation in progress while it restarted) and follows them again under their ids, so they can
   * still be completed or cancelled. Asks only the channels of agents in a consultation.
   */
  async restore (): Promise<Transfer[]> {
    const lookup = this.#calls
    const calls = lookup?.inSync === true ? lookup.allCalls?.() ?? [] : []
    const restored: Transfer[] = []
    for (const call of calls) {
      // In a consultation the agent's channel shares a bridge with a Local half; in a three-way, with
      // two others. (Not its hold state: a monitor built from ARI after a restart does not know who is
      // on hold.)
      const around = lookup?.snapshotOf(call.extension)
      if (around === undefined || (bridgedLocal(around, call.channel) === undefined && bridgeMates(around, call.channel).length < 2)) continue
      if (this.#registry.activeByChannel(call.channel).length > 0) continue
      const value = await this.#pbx.getVariable(call.channel, CHANNEL_RECORD_VARIABLE).catch(() => '')
      const saved = decodeChannelRecord(value)
      if (saved === undefined || this.#registry.get(saved.id) !== undefined) continue
      const transfer = await this.#rebuild(call.channel, saved)
      if (transfer !== undefined) restored.push(transfer)
    }
    return [...restored, ...await this.#restoreSwappedAway(calls)]
  }

  /**
   * A consultation the agent swapped away from (back with the customer, the target held) looks like an
   * ordinary call from the agent's side; what gives it away is the consultation's near half, alone in
   * its bridge while it waits for the agent. Only when such a half exists are agents' channels asked,
   * and only those of agents talking with one other party.
   */
  async #restoreSwappedAway (calls: readonly Call[]): Promise<Transfer[]> {
    const lookup = this.#calls
    const everything = lookup?.snapshot?.()
    if (lookup === undefined || everything === undefined) return []
    const waiting = loneConsultationHalves(everything)
    if (waiting.length === 0) return []
    // Every agent whose record could own each half, first: a record left behind by a transfer that ended
    // while no host followed it could claim another agent's half. A half two records could own is left.
    const owners = new Map<string, Array<{ channel: string, saved: ChannelRecord }>>()
    for (const call of calls) {
      if (this.#registry.activeByChannel(call.channel).length > 0) continue
      const mates = bridgeMates(lookup.snapshotOf(call.extension), call.channel)
      if (mates.length !== 1) continue
      const saved = decodeChannelRecord(await this.#pbx.getVariable(call.channel, CHANNEL_RECORD_VARIABLE).catch(() => ''))
      if (saved === undefined || saved.peer !== mates[0]?.name || this.#registry.get(saved.id) !== undefined) continue
      const { exten, context } = this.#policy.targetFor(saved.destination ?? saved.targetExtension)
      for (const half of waiting.filter((name) => isLocalTo(name, exten, context))) {
        owners.set(half, [...(owners.get(half) ?? []), { channel: call.channel, saved }])
      }
    }
    const restored: Transfer[] = []
    for (const [half, candidates] of owners) {
      const [owner] = candidates
      if (candidates.length !== 1 || owner === undefined) {
        this.#log.warn({ half, agents: candidates.map((candidate) => candidate.channel) }, 'a held consultation several agents\' records could own: not followed again')
        continue
      }
      const transfer = await this.#rebuild(owner.channel, owner.saved, swappedAwayFrom(everything, half))
      if (transfer !== undefined) restored.push(transfer)
    }
    return restored
  }

  async #rebuild (agentChannel: string, saved: ChannelRecord, known?: FoundConsultation): Promise<Transfer | undefined> {
    const extension = extensionOf(agentChannel, this.#options.channelTechnology)
    if (extension !== saved.extension) return undefined
    const { snapshot } = await this.#snapshotAround({ channels: { agent: agentChannel, peer: saved.peer } })
    // A three-way first: its bridge holds a Local half too, until Asterisk optimises the pair away.
    const found: FoundConsultation | undefined = known ?? threeWayOf(snapshot, agentChannel, saved.peer) ?? consultationOf(snapshot, agentChannel, saved.peer)
    if (found === undefined) return undefined
    const target = this.#policy.targetFor(saved.destination ?? saved.targetExtension)
    const { peer, ...fields } = saved
    const record: Transfer = {
      ...fields,
      type: 'attended',
      status: found.status,
      origin: 'plugin',
      channels: { agent: agentChannel, peer, ...found.channels },
      updatedAt: new Date().toISOString()
    }
    if (found.status === 'three_way') record.talkingTo = 'both'
    if (found.talkingTo !== undefined) record.talkingTo = found.talkingTo
    // Another instance of the host app may follow it already: then its call is taken.
    const claimed = await this.#store.open({ record, dialTarget: target, tracking: { ...NEW_TRACKING } }, channelsOf(record), this.#maxActive)
    if (!claimed.ok) return undefined
    const transfer = this.#open(record, target)
    await this.#reconcileOne(transfer, false)
    this.#log.info({ transferId: record.id, agent: agentChannel, status: record.status }, 'consultation found on the agent\'s channel after a restart; followed again')
    return transfer.record
  }

  /**
   * A transfer the phone started by itself (transfer key, SIP REFER): reported like ours. Every
   * instance sees it; the one that takes its call in the shared store reports it, and a call another
   * instance already transfers (its Atxfer looks like the phone's own) is left to that instance. Events
   * that come meanwhile are kept and replayed.
   */
  #adoptPhoneTransfer (phone: PhoneTransfer): void {
    if (this.#registry.activeCount >= this.#maxActive) {
      this.#log.warn({ extension: phone.extension, max: this.#maxActive }, 'phone transfer not followed: too many transfers in progress')
      return
    }
    const record = newTransfer({
      type: phone.type,
      origin: 'phone',
      extension: phone.extension,
      targetExtension: phone.targetExtension,
      requestedBy: phone.extension,
      channels: phone.channels
    })
    const dialTarget: DialTarget = { exten: phone.targetExtension, context: this.#options.transferContext, kind: 'free' }
    const claim = this.#store.open({ record, dialTarget, tracking: { ...NEW_TRACKING } }, channelsOf(record), this.#maxActive)
    if (this.#options.peers === undefined) {
      // One instance: its store is this process's memory, in step with the registry (the channels are
      // not tracked), so the transfer is followed at once, before the next event.
      claim.catch(() => {})
      const transfer = this.#open(record, dialTarget)
      for (const input of phone.inputs) this.#apply(transfer, input)
      return
    }
    const pending = this.#registry.save(record, dialTarget) as ActiveTransfer
    pending.beginAction()
    claim.then((claimed) => {
      if (!claimed.ok) {
        this.#registry.discard(record.id)
        this.#log.debug({ extension: phone.extension, claimed }, 'phone transfer followed by another instance')
        return
      }
      this.#armDeadline(pending)
      this.#announce(record)
      for (const input of phone.inputs) this.#apply(pending, input)
      for (const event of pending.endAction()) this.#track(pending, event)
    }, (error: unknown) => {
      this.#registry.discard(record.id)
      this.#log.warn({ err: error, extension: phone.extension }, 'phone transfer not followed: the shared store is not reachable')
    })
  }
}

/** The state, for a refusal: why the transfer cannot be completed or cancelled now. */
function describeState (transfer: Transfer): string {
  if (transfer.type !== 'attended') return `${transfer.type} and ${transfer.status}`
  if (transfer.status === 'consulting') return `consulting: ${transfer.targetExtension} has not answered yet (cancel, or complete once it answers)`
  return `attended and ${transfer.status}`
}

const NEW_TRACKING = { handedOver: false, reached: false, cancelRequested: false, targetHungUp: false } as const

function newTransfer (fields: Omit<Transfer, 'id' | 'status' | 'createdAt' | 'updatedAt'>): Transfer {
  const now = new Date().toISOString()
  return { id: randomUUID(), status: 'initiated', ...fields, createdAt: now, updatedAt: now }
}

function located (extension: string, call: AgentCall): LocatedCall {
  if (call.peer === undefined || call.bridgeId === undefined) {
    throw new CallNotBridgedError(extension, call.noPeerReason ?? 'not bridged')
  }
  const caller = callerOf(call.agent, call.peer)
  return { agentChannel: call.agent.name, peerChannel: call.peer.name, bridgeId: call.bridgeId, ...(caller === undefined ? {} : { caller }) }
}

/** A consultation or three-way found on the bridges after a restart. */
interface FoundConsultation {
  status: 'consulting' | 'target_answered' | 'three_way'
  channels: { consultation?: string, target?: string }
  talkingTo?: 'customer'
}

/** Near halves of consultations (Local ;1) alone in their bridge: held while their agent is elsewhere. */
function loneConsultationHalves (snapshot: CallSnapshot): string[] {
  const nameOf = new Map(snapshot.channels.map((channel) => [channel.id, channel.name]))
  return snapshot.bridges
    .filter((bridge) => bridge.channelIds.length === 1)
    .map((bridge) => nameOf.get(bridge.channelIds[0] as string))
    .filter((name): name is string => name !== undefined && parseChannelName(name)?.localHalf === 1 &&
      snapshot.channels.some((channel) => channel.name === localCounterpart(name)))
}

/** A consultation the agent swapped away from: the target answered when its leg is bridged with the far half. */
function swappedAwayFrom (snapshot: CallSnapshot, half: string): FoundConsultation {
  const far = localCounterpart(half) as string
  const target = bridgedParty(snapshot, far)?.name
  return target === undefined
    ? { status: 'consulting', channels: { consultation: half }, talkingTo: 'customer' }
    : { status: 'target_answered', channels: { consultation: half, target }, talkingTo: 'customer' }
}

/** A consultation: the agent talks with the consultation's near half; the customer holds, in a bridge of its own. */
function consultationOf (snapshot: CallSnapshot, agent: string, peer: string): { status: 'consulting', channels: { consultation: string } } | undefined {
  const consultation = bridgedLocal(snapshot, agent)
  const customerHere = snapshot.channels.some((channel) => channel.name === peer)
  if (consultation === undefined || !customerHere || bridgedParty(snapshot, peer)?.name === agent) return undefined
  return { status: 'consulting', channels: { consultation } }
}

/**
 * A three-way: customer and agent in one bridge with a third party, the target's leg or the
 * consultation's near half (until Asterisk optimises the Local pair away; the target is then behind it).
 */
function threeWayOf (snapshot: CallSnapshot, agent: string, peer: string): { status: 'three_way', channels: { consultation?: string, target?: string } } | undefined {
  const mates = bridgeMates(snapshot, agent)
  const third = mates.find((channel) => channel.name !== peer)
  if (mates.length !== 2 || third === undefined || !mates.some((channel) => channel.name === peer)) return undefined
  const far = localCounterpart(third.name)
  if (far === undefined) return { status: 'three_way', channels: { target: third.name } }
  const target = bridgedParty(snapshot, far)?.name
  return { status: 'three_way', channels: target === undefined ? { consultation: third.name } : { consultation: third.name, target } }
}
