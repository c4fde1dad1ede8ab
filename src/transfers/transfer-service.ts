/**
 * What a transfer does: find the agent's call, check the target, act through the PBX, verify what
 * Asterisk cannot confirm by itself, and publish each step.
 */
import { randomUUID } from 'node:crypto'
import type { PbxEvent } from '../asterisk/ami-events.js'
import type { Pbx } from '../asterisk/pbx.js'
import {
  CallNotBridgedError,
  ConsultationNotStartedError,
  NoActiveChannelError,
  SameExtensionError,
  UnknownTargetError
} from '../errors.js'
import { findAgentCall, type AgentCall } from './call-topology.js'
import {
  advanceConsultation,
  describeMissing,
  initialProgress,
  isConsultationStarted,
  type ConsultationExpectation
} from './consultation.js'
import { TransferEvents, type TransferSummary, type TransferType } from './transfer-events.js'

export interface TransferServiceOptions {
  transferContext: string
  channelTechnology: string
  /** How long to wait for the Hold and the dial that prove an attended transfer started. */
  consultationTimeoutMs: number
}

export interface TransferRequest {
  extension: string
  targetExtension: string
  transferType: TransferType
  requestedBy: string
}

export interface LocatedCall {
  agentChannel: string
  peerChannel: string
  bridgeId: string
}

export class TransferService {
  readonly events = new TransferEvents()
  readonly #pbx: Pbx
  readonly #options: TransferServiceOptions

  constructor (pbx: Pbx, options: TransferServiceOptions) {
    this.#pbx = pbx
    this.#options = options
  }

  /** The agent's active, two-party call: its channel and the real party bridged to it. */
  async getChannelForExtension (extension: string): Promise<LocatedCall> {
    const call = findAgentCall(await this.#pbx.snapshot(), this.#options.channelTechnology, extension)
    if (call === undefined) throw new NoActiveChannelError(extension)
    return located(extension, call)
  }

  async execute (request: TransferRequest): Promise<TransferSummary> {
    const { extension, targetExtension } = request
    if (extension === targetExtension) throw new SameExtensionError(extension)
    const call = await this.#locateWithTarget(extension, targetExtension)
    const transfer: TransferSummary = {
      id: randomUUID(),
      type: request.transferType,
      status: 'initiated',
      extension,
      targetExtension,
      requestedBy: request.requestedBy,
      channels: { agent: call.agentChannel, peer: call.peerChannel },
      createdAt: new Date().toISOString()
    }
    this.events.emit('call:transfer_initiated', { ...transfer })
    try {
      return request.transferType === 'blind' ? await this.#blind(transfer) : await this.#attended(transfer)
    } catch (error) {
      const { code = 'XFER_INTERNAL', message } = error as Error & { code?: string }
      this.events.emit('call:ami_transfer_failed', { ...transfer, status: 'failed', error: { code, message } })
      throw error
    }
  }

  /** Looks up the call and the target at once; a missing call is reported before a missing target. */
  async #locateWithTarget (extension: string, target: string): Promise<LocatedCall> {
    const targetExists = this.#pbx.extensionExists(this.#options.transferContext, target)
    targetExists.catch(() => {})
    const call = await this.getChannelForExtension(extension)
    if (!(await targetExists)) throw new UnknownTargetError(target, this.#options.transferContext)
    return call
  }

  async #blind (transfer: TransferSummary): Promise<TransferSummary> {
    await this.#pbx.redirect(transfer.channels.peer, transfer.targetExtension, this.#options.transferContext)
    const done: TransferSummary = { ...transfer, status: 'redirected' }
    this.events.emit('call:ami_transfer_complete', { ...done })
    return done
  }

  async #attended (transfer: TransferSummary): Promise<TransferSummary> {
    const expected: ConsultationExpectation = {
      agentChannel: transfer.channels.agent,
      peerChannel: transfer.channels.peer,
      target: transfer.targetExtension,
      context: this.#options.transferContext,
      technology: this.#options.channelTechnology
    }
    // Listen before acting: the Hold can arrive before Atxfer's own response.
    const abandon = new AbortController()
    const started = this.#awaitConsultation(expected, abandon.signal)
    started.catch(() => {})
    try {
      await this.#pbx.attendedTransfer(transfer.channels.agent, transfer.targetExtension, this.#options.transferContext)
    } catch (error) {
      abandon.abort()
      throw error
    }
    const consultationChannel = await started
    const consulting: TransferSummary = { ...transfer, status: 'consulting' }
    this.events.emit('call:ami_attended_transfer_started', { ...consulting, consultationChannel })
    return consulting
  }

  /** Resolves with the consultation channel once the events prove the consultation started. */
  #awaitConsultation (expected: ConsultationExpectation, signal: AbortSignal): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      let progress = initialProgress
      const fail = (): void => reject(new ConsultationNotStartedError(expected.agentChannel, describeMissing(progress)))
      const stop = (): void => {
        clearTimeout(timer)
        this.#pbx.events.off('event', onEvent)
        signal.removeEventListener('abort', onAbort)
      }
      const onEvent = (event: PbxEvent): void => {
        progress = advanceConsultation(progress, event, expected)
        if (isConsultationStarted(progress)) {
          stop()
          resolve(progress.consultationChannel as string)
        } else if (progress.failure !== undefined) {
          stop()
          fail()
        }
      }
      const onAbort = (): void => { stop(); fail() }
      const timer = setTimeout(onAbort, this.#options.consultationTimeoutMs)
      signal.addEventListener('abort', onAbort)
      this.#pbx.events.on('event', onEvent)
    })
  }
}

function located (extension: string, call: AgentCall): LocatedCall {
  if (call.peer === undefined || call.bridgeId === undefined) {
    throw new CallNotBridgedError(extension, call.noPeerReason ?? 'not bridged')
  }
  return { agentChannel: call.agent.name, peerChannel: call.peer.name, bridgeId: call.bridgeId }
}
