/**
 * What a transfer does: find the agent's call, check the target, act through the PBX, then follow the
 * transfer through Asterisk's events until it is over, confirming outcomes on the PBX itself, and
 * publish every change.
 */
import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { AgentDirectory } from '../agents/agent-directory.js'
import type { PbxEvent } from '../asterisk/ami-events.js'
import { isLocalTo, parseChannelName } from '../asterisk/channel-name.js'
import { silentLogger, type Logger } from '../asterisk/logger.js'
import type { CallSnapshot, Pbx } from '../asterisk/pbx.js'
import {
  AsteriskTimeoutError,
  CallNotBridgedError,
  NoActiveChannelError,
  SameExtensionError,
  TransferInProgressError,
  TransferNotFoundError,
  TransferStateError,
  UnknownTargetError
} from '../errors.js'
import { bridgedParty, findAgentCall, type AgentCall } from './call-topology.js'
import { awaitConsultation } from './consultation-watch.js'
import { checkOutcome, needsCheck, type CheckedInput } from './outcome-check.js'
import { PhoneTransferDetector, type PhoneTransfer } from './phone-transfers.js'
import type { Identity } from '../identity.js'
import type { DialTarget } from './destinations.js'
import { canCancel, canComplete, isFinal, transition, type TransferInput, type TransferState } from './state.js'
import { EVENT_FOR_STATE, TransferEvents, type Transfer, type TransferType } from './transfer-events.js'
import { TransferPolicy } from './transfer-policy.js'
import { TransferRegistry } from './transfer-registry.js'
import { interpretEvent } from './tracker.js'

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
  logger?: Logger
}

/** What the service needs of the call monitor. */
export interface CallLookup {
  readonly inSync: boolean
  /** The channels and bridges of one extension's calls. */
  snapshotOf: (extension: string) => CallSnapshot
}

export interface TransferRequest {
  extension: string
  targetExtension: string
  transferType: TransferType
  requestedBy: string
  /** Who asks, when it is a client of the routes: its rights and the host's rules are checked. */
  identity?: Identity
}

export interface LocatedCall {
  agentChannel: string
  peerChannel: string
  bridgeId: string
}

/** How often, and how far apart, an outcome is checked on the PBX (Local channels may still be moving). */
const CONFIRM_ATTEMPTS = 6
const CONFIRM_INTERVAL_MS = 250

function failureReasonOf (error: unknown): 'timed_out' | 'asterisk_refused' {
  return (error as { code?: string }).code === 'XFER_ASTERISK_TIMEOUT' ? 'timed_out' : 'asterisk_refused'
}

export class TransferService {
  readonly events = new TransferEvents()
  readonly #pbx: Pbx
  readonly #options: TransferServiceOptions
  readonly #registry = new TransferRegistry()
  readonly #changes = new EventEmitter<{ changed: [Transfer] }>()
  /** Events seen while a transfer's action is in flight, replayed once its new state is known. */
  readonly #inFlight = new Map<string, PbxEvent[]>()
  /** Transfers with a complete or cancel under way: a second one is refused. */
  readonly #settling = new Set<string>()
  /** Transfers whose outcome is being checked on the bridges. */
  readonly #confirming = new Set<string>()
  /** Attended transfers whose agent left while the target rang: Asterisk handed the customer over. */
  readonly #handedOver = new Set<string>()
  readonly #phone: PhoneTransferDetector
  readonly #policy: TransferPolicy
  readonly #calls: CallLookup | undefined
  readonly #log: Logger
  /** Where each active transfer dials (a named destination may dial another context). */
  readonly #dialTargets = new Map<string, DialTarget>()
  readonly #onPbxEvent = (event: PbxEvent): void => { this.#handle(event) }

  constructor (pbx: Pbx, options: TransferServiceOptions) {
    this.#pbx = pbx
    this.#options = options
    this.#changes.setMaxListeners(0)
    this.#calls = options.calls
    this.#log = options.logger ?? silentLogger
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
  }

  stop (): void {
    this.#pbx.events.off('event', this.#onPbxEvent)
    this.#phone.stop()
  }

  get (id: string): Transfer | undefined {
    return this.#registry.get(id)
  }

  active (): Transfer[] {
    return this.#registry.active()
  }

  /** The transfer in progress that involves this channel, if any. */
  activeOnChannel (channel: string): Transfer | undefined {
    return this.#registry.activeByChannel(channel)[0]
  }

  /** The agent's active, two-party call: its channel and the real party bridged to it. */
  async getChannelForExtension (extension: string): Promise<LocatedCall> {
    return this.#locateFromMemory(extension) ?? this.#locate(extension, await this.#pbx.snapshot())
  }

  /**
   * The call from the monitor's memory, when it is in sync and knows a bridged call. Otherwise (a call
   * whose events are still on their way, say) undefined, and ARI, the source of truth, is asked.
   */
  #locateFromMemory (extension: string): LocatedCall | undefined {
    if (this.#calls?.inSync !== true) return undefined
    const call = findAgentCall(this.#calls.snapshotOf(extension), this.#options.channelTechnology, extension)
    return call?.peer === undefined || call.bridgeId === undefined ? undefined : located(extension, call)
  }

  #locate (extension: string, snapshot: CallSnapshot): LocatedCall {
    const call = findAgentCall(snapshot, this.#options.channelTechnology, extension)
    if (call === undefined) throw new NoActiveChannelError(extension)
    return located(extension, call)
  }

  /** The calls around a channel: from the monitor's memory when it is in sync, else asked of ARI. */
  async #snapshotFor (channel: string): Promise<CallSnapshot> {
    const extension = parseChannelName(channel)?.resource
    return this.#calls?.inSync === true && extension !== undefined ? this.#calls.snapshotOf(extension) : await this.#pbx.snapshot()
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
    const transfer = newTransfer({
      type: request.transferType,
      origin: 'plugin',
      extension,
      targetExtension,
      requestedBy: request.requestedBy,
      channels: { agent: call.agentChannel, peer: call.peerChannel },
      ...(target.destination === undefined ? {} : { destination: target.destination })
    })
    this.#dialTargets.set(transfer.id, target)
    this.#publish(transfer)
    this.#inFlight.set(transfer.id, [])
    try {
      const input = transfer.type === 'blind' ? await this.#redirect(transfer) : await this.#startConsultation(transfer)
      return this.#apply(transfer.id, input)
    } catch (error) {
      const { code = 'XFER_INTERNAL', message } = error as Error & { code?: string }
      this.#apply(transfer.id, { type: 'action_failed', reason: failureReasonOf(error) }, { error: { code, message } })
      throw error
    } finally {
      this.#replayInFlight(transfer.id)
    }
  }

  /**
   * Completes an attended transfer once the target answered: the agent leaves, the customer stays
   * with the target. Before the answer it is refused (cancel, or wait for `target_answered`).
   */
  async complete (id: string, identity?: Identity): Promise<Transfer> {
    return await this.#settle(id, identity, canComplete, async (transfer) => { await this.#pbx.hangup(transfer.channels.agent) })
  }

  /** Cancels an attended transfer: the consultation ends, the agent is back with the customer. */
  async cancel (id: string, identity?: Identity): Promise<Transfer> {
    return await this.#settle(id, identity, canCancel, async (transfer) => { await this.#pbx.cancelAttendedTransfer(transfer.channels.agent) })
  }

  async #settle (id: string, identity: Identity | undefined, allowed: (state: TransferState) => boolean, act: (transfer: Transfer) => Promise<void>): Promise<Transfer> {
    const transfer = this.#registry.get(id)
    if (transfer === undefined) throw new TransferNotFoundError(id)
    if (identity !== undefined) this.#policy.assertMayAct(identity, transfer.extension)
    if (transfer.type !== 'attended' || !allowed(transfer.status)) throw new TransferStateError(id, describeState(transfer))
    if (this.#settling.has(id)) throw new TransferStateError(id, 'already being completed or cancelled')
    this.#settling.add(id)
    try {
      const abandon = new AbortController()
      const finished = this.#waitForFinal(id, abandon.signal)
      finished.catch(() => {})
      try {
        await act(transfer)
      } catch (error) {
        abandon.abort()
        throw error
      }
      return await finished
    } finally {
      this.#settling.delete(id)
    }
  }

  /** Resolves when the transfer is over; `signal` stops waiting (the action itself failed). */
  #waitForFinal (id: string, signal: AbortSignal): Promise<Transfer> {
    const timeoutMs = this.#options.settleTimeoutMs ?? Math.max(this.#options.consultationTimeoutMs, 5000)
    return new Promise((resolve, reject) => {
      const stop = (): void => {
        clearTimeout(timer)
        this.#changes.off('changed', onChange)
        signal.removeEventListener('abort', onAbort)
      }
      const onChange = (transfer: Transfer): void => {
        if (transfer.id !== id || !isFinal(transfer.status)) return
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
    for (const id of this.#inFlight.keys()) {
      const transfer = this.#registry.get(id)
      if (transfer?.type !== 'attended') continue
      const { exten, context } = this.#dialTarget(transfer)
      if (isLocalTo(localChannel, exten, context)) return true
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

  #dialTarget (transfer: Transfer): DialTarget {
    return this.#dialTargets.get(transfer.id) ?? { exten: transfer.targetExtension, context: this.#options.transferContext, kind: 'free' }
  }

  async #redirect (transfer: Transfer): Promise<TransferInput> {
    const { exten, context } = this.#dialTarget(transfer)
    await this.#pbx.redirect(transfer.channels.peer, exten, context)
    return { type: 'redirect_accepted' }
  }

  async #startConsultation (transfer: Transfer): Promise<TransferInput> {
    const { exten, context } = this.#dialTarget(transfer)
    const consultation = awaitConsultation(this.#pbx.events, {
      agentChannel: transfer.channels.agent,
      peerChannel: transfer.channels.peer,
      target: exten,
      context,
      technology: this.#options.channelTechnology
    }, this.#options.consultationTimeoutMs)
    try {
      await this.#pbx.attendedTransfer(transfer.channels.agent, exten, context)
    } catch (error) {
      consultation.abandon()
      throw error
    }
    const channel = await consultation.started
    this.#registry.save({ ...transfer, channels: { ...transfer.channels, consultation: channel } })
    return { type: 'consultation_started' }
  }

  #handle (event: PbxEvent): void {
    for (const buffer of this.#inFlight.values()) buffer.push(event)
    for (const transfer of this.#concernedBy(event)) {
      if (!this.#inFlight.has(transfer.id)) this.#track(transfer.id, event)
    }
    this.#phone.observe(event)
  }

  #replayInFlight (id: string): void {
    const buffered = this.#inFlight.get(id) ?? []
    this.#inFlight.delete(id)
    for (const event of buffered) this.#track(id, event)
  }

  #concernedBy (event: PbxEvent): Transfer[] {
    const channels = 'channel' in event && event.channel !== undefined ? [event.channel] : []
    if (event.type === 'attendedTransfer') channels.push(event.transferer)
    return [...new Set(channels.flatMap((channel) => this.#registry.activeByChannel(channel)))]
  }

  #track (id: string, event: PbxEvent): void {
    const transfer = this.#registry.get(id)
    if (transfer === undefined || isFinal(transfer.status)) return
    // A queue rings several members: one member not answering does not fail the transfer.
    const outcome = interpretEvent({
      ...transfer,
      multiLeg: this.#dialTarget(transfer).kind === 'queue',
      handedOver: this.#handedOver.has(id)
    }, event)
    if (outcome === undefined) return
    if (outcome.handedOver === true) {
      this.#handedOver.add(id)
      this.#log.info({ transferId: id, target: transfer.targetExtension }, 'agent left before the target answered: the customer now waits for the target')
    }
    if (outcome.channels?.target !== undefined && (transfer.channels.target === undefined || outcome.input?.type === 'target_answered')) {
      this.#registry.save({ ...transfer, channels: { ...transfer.channels, target: outcome.channels.target } })
    }
    const input = outcome.input
    if (input === undefined) return
    // What follows an outcome (the consultation's channels hanging up after a cancel) is its
    // consequence, not news; only the customer hanging up can still change its meaning.
    if (this.#confirming.has(id) && input.type !== 'customer_hung_up') return
    if (needsCheck(transfer.type, input)) void this.#confirmThenApply(id, input)
    else this.#apply(id, input)
  }

  /**
   * Before declaring an outcome, look at the PBX (`outcome-check.ts`): the bridges must show it.
   * Local channels may still be settling, so a few looks are allowed. A customer who is gone turns
   * the outcome into abandoned, whatever Asterisk's events said.
   */
  async #confirmThenApply (id: string, input: CheckedInput): Promise<void> {
    this.#confirming.add(id)
    try {
      await this.#confirmOutcome(id, input)
    } finally {
      this.#confirming.delete(id)
    }
  }

  async #confirmOutcome (id: string, input: CheckedInput): Promise<void> {
    for (let attempt = 0; attempt < CONFIRM_ATTEMPTS; attempt++) {
      const transfer = this.#registry.get(id)
      if (transfer === undefined || isFinal(transfer.status)) return
      const snapshot = await this.#pbx.snapshot().catch(() => undefined)
      const check = snapshot === undefined ? 'not_yet' : checkOutcome(transfer.channels, input, snapshot)
      if (check !== 'not_yet') {
        this.#apply(id, check === 'confirmed' ? input : { type: 'customer_hung_up' })
        return
      }
      await sleep(CONFIRM_INTERVAL_MS)
    }
    // Asterisk reported the outcome but the bridges never showed it (a queue, an unusual dialplan):
    // trust Asterisk's word, but say so.
    this.#log.warn({ transferId: id, input: input.type }, 'transfer outcome reported by Asterisk but not seen on the bridges')
    this.#apply(id, input)
  }

  #apply (id: string, input: TransferInput, extra: { error?: Transfer['error'] } = {}): Transfer {
    const transfer = this.#registry.get(id) as Transfer
    const next = transition({ state: transfer.status }, input)
    if (next === undefined) return transfer
    const updated: Transfer = { ...transfer, status: next.state, updatedAt: new Date().toISOString() }
    if (next.reason !== undefined) updated.failureReason = next.reason
    if (extra.error !== undefined) updated.error = extra.error
    this.#publish(updated)
    return updated
  }

  #publish (transfer: Transfer): void {
    this.#registry.save(transfer)
    if (isFinal(transfer.status)) {
      this.#dialTargets.delete(transfer.id)
      this.#handedOver.delete(transfer.id)
    }
    this.events.emit(EVENT_FOR_STATE[transfer.status], transfer)
    this.#changes.emit('changed', transfer)
  }

  /** A transfer the phone started by itself (transfer key, SIP REFER): reported like ours. */
  #adoptPhoneTransfer (phone: PhoneTransfer): void {
    const transfer = newTransfer({
      type: phone.type,
      origin: 'phone',
      extension: phone.extension,
      targetExtension: phone.targetExtension,
      requestedBy: phone.extension,
      channels: phone.channels
    })
    this.#publish(transfer)
    for (const input of phone.inputs) this.#apply(transfer.id, input)
  }
}

/** The state, for a refusal: why the transfer cannot be completed or cancelled now. */
function describeState (transfer: Transfer): string {
  if (transfer.type !== 'attended') return `${transfer.type} and ${transfer.status}`
  if (transfer.status === 'consulting') return `consulting: ${transfer.targetExtension} has not answered yet (cancel, or complete once it answers)`
  return `attended and ${transfer.status}`
}

function newTransfer (fields: Omit<Transfer, 'id' | 'status' | 'createdAt' | 'updatedAt'>): Transfer {
  const now = new Date().toISOString()
  return { id: randomUUID(), status: 'initiated', ...fields, createdAt: now, updatedAt: now }
}

function located (extension: string, call: AgentCall): LocatedCall {
  if (call.peer === undefined || call.bridgeId === undefined) {
    throw new CallNotBridgedError(extension, call.noPeerReason ?? 'not bridged')
  }
  return { agentChannel: call.agent.name, peerChannel: call.peer.name, bridgeId: call.bridgeId }
}
