/**
 * Recognises transfers the phones make by themselves (the transfer key, a SIP REFER), which reach the
 * plugin only as Asterisk events:
 * - blind: Asterisk publishes `BlindTransfer` (unlike our AMI Redirect, which publishes nothing);
 * - attended: no event marks the start, so it is recognised as Asterisk does it: the agent's channel
 *   is put on `Hold`, then a `Local/<target>@<context>-…;1` channel appears for the consultation. The
 *   consultation is made by the agent's channel, so it shares its linkedid: a Local channel of another
 *   call (a queue dialing a member through Local, another agent's call) is never taken for it;
 * - an `AttendedTransfer` from a channel nobody tracked (one that started before the plugin did).
 */
import type { PbxEvent } from '../asterisk/ami-events.js'
import { extensionOf, parseChannelName } from '../asterisk/channel-name.js'
import type { TransferInput } from './state.js'
import type { TransferType } from '../domain/transfer.js'

export interface PhoneTransfer {
  type: TransferType
  extension: string
  targetExtension: string
  channels: { agent: string, peer: string, consultation?: string }
  /** The inputs that bring a new transfer to where the phone's transfer already is. */
  inputs: TransferInput[]
}

export interface PhoneTransferDetectorOptions {
  technology: string
  /** Whether a channel is already part of a transfer the plugin follows. */
  isTracked: (channel: string) => boolean
  /** Whether a Local channel is the consultation of an attended transfer the plugin is starting. */
  isOwnConsultation: (localChannel: string) => boolean
  /** The party bridged with an agent channel now (asked when the agent is put on hold). */
  peerOf: (agentChannel: string) => Promise<string | undefined>
  onTransfer: (transfer: PhoneTransfer) => void
}

/** How long after the agent's Hold the consultation channel may appear (Asterisk collects the digits). */
const HOLD_WINDOW_MS = 5000

interface HeldAgent {
  extension: string
  /** The call the agent's channel belongs to: its consultation channel is created in the same call. */
  linkedId: string
  heldAt: number
  /** Order of the holds (a channel held again without an unhold keeps its first place). */
  order: number
  peer: Promise<string | undefined>
  /** The peer once known: by the time the consultation channel appears it nearly always is. */
  knownPeer?: string
}

export class PhoneTransferDetector {
  readonly #options: PhoneTransferDetectorOptions
  readonly #held = new Map<string, HeldAgent>()
  /**
   * The same agents by the call they are in (linkedid; '' when Asterisk did not name it): a consultation
   * channel looks at the agents of its own call, not at every agent on hold on the PBX.
   */
  readonly #heldByCall = new Map<string, Map<string, HeldAgent>>()
  #holds = 0

  constructor (options: PhoneTransferDetectorOptions) {
    this.#options = options
  }

  observe (event: PbxEvent): void {
    switch (event.type) {
      case 'blindTransfer':
        this.#blind(event)
        break
      case 'hold':
        this.#hold(event.channel, event.linkedId)
        break
      case 'unhold':
      case 'hangup':
        this.#release(event.channel)
        break
      case 'newChannel':
        this.#consultation(event.channel, event.linkedId)
        break
      case 'attendedTransfer':
        this.#attendedDone(event)
        break
      default:
    }
  }

  stop (): void {
    this.#held.clear()
    this.#heldByCall.clear()
  }

  #release (channel: string): void {
    const held = this.#held.get(channel)
    if (held === undefined) return
    this.#held.delete(channel)
    const call = this.#heldByCall.get(held.linkedId)
    call?.delete(channel)
    if (call?.size === 0) this.#heldByCall.delete(held.linkedId)
  }

  #blind (event: Extract<PbxEvent, { type: 'blindTransfer' }>): void {
    const extension = extensionOf(event.transferer, this.#options.technology)
    if (event.result !== 'Success' || extension === undefined || event.transferee === undefined) return
    if (this.#options.isTracked(event.transferer) || this.#options.isTracked(event.transferee)) return
    this.#options.onTransfer({
      type: 'blind',
      extension,
      targetExtension: event.exten,
      channels: { agent: event.transferer, peer: event.transferee },
      inputs: [{ type: 'redirect_accepted' }]
    })
  }

  #hold (channel: string, linkedId: string): void {
    const extension = extensionOf(channel, this.#options.technology)
    if (extension === undefined || this.#options.isTracked(channel)) return
    const order = this.#held.get(channel)?.order ?? ++this.#holds
    this.#release(channel)
    const held: HeldAgent = { extension, linkedId, heldAt: Date.now(), order, peer: this.#options.peerOf(channel).catch(() => undefined) }
    void held.peer.then((peer) => { if (peer !== undefined) held.knownPeer = peer })
    this.#held.set(channel, held)
    let call = this.#heldByCall.get(linkedId)
    if (call === undefined) this.#heldByCall.set(linkedId, call = new Map())
    call.set(channel, held)
  }

  /**
   * A consultation channel: paired with the agent most recently put on hold, within the window, whose
   * call it belongs to (same linkedid, when Asterisk names both).
   */
  #consultation (channel: string, linkedId: string): void {
    const parsed = parseChannelName(channel)
    if (parsed?.localHalf !== 1 || this.#options.isOwnConsultation(channel)) return
    const agent = this.#latestHeld(linkedId)
    if (agent === undefined) return
    const [agentChannel, held] = agent
    this.#release(agentChannel)
    const report = (peer: string | undefined): void => {
      if (peer === undefined || this.#options.isTracked(agentChannel)) return
      this.#options.onTransfer({
        type: 'attended',
        extension: held.extension,
        targetExtension: parsed.resource.split('@')[0] as string,
        channels: { agent: agentChannel, peer, consultation: channel },
        inputs: [{ type: 'consultation_started' }]
      })
    }
    // Synchronously when possible, so the events right after (the dial to the target) find the transfer.
    if (held.knownPeer !== undefined) report(held.knownPeer)
    else held.peer.then(report).catch(() => { /* the transfer is not reported: as if the agent had no peer */ })
  }

  /**
   * The agent put on hold last, within the window, in the call `linkedId` or in an unnamed call; any
   * agent when the consultation's own call is unnamed (Asterisk 22 always names it).
   */
  #latestHeld (linkedId: string): [string, HeldAgent] | undefined {
    const candidates = linkedId === '' ? [this.#held] : [this.#heldByCall.get(linkedId), this.#heldByCall.get('')]
    const now = Date.now()
    let latest: [string, HeldAgent] | undefined
    for (const agents of candidates) {
      for (const entry of agents ?? []) {
        if (now - entry[1].heldAt < HOLD_WINDOW_MS && (latest === undefined || entry[1].order > latest[1].order)) latest = entry
      }
    }
    return latest
  }

  #attendedDone (event: Extract<PbxEvent, { type: 'attendedTransfer' }>): void {
    const extension = extensionOf(event.transferer, this.#options.technology)
    if (event.result !== 'Success' || extension === undefined || event.transferee === undefined) return
    if (this.#options.isTracked(event.transferer)) return
    const target = event.target === undefined ? undefined : parseChannelName(event.target)
    this.#options.onTransfer({
      type: 'attended',
      extension,
      targetExtension: target?.resource.split('@')[0] ?? '',
      channels: { agent: event.transferer, peer: event.transferee },
      inputs: [{ type: 'consultation_started' }, { type: 'completed' }]
    })
  }
}
