/**
 * Follows the transfers the phones of one Asterisk make by themselves (the transfer key, a SIP REFER),
 * recognised by `phone-transfers.ts`, and reports them like the plugin's own. Every instance sees them;
 * the one that takes the call in the shared store reports it, and a call another instance already
 * transfers (its Atxfer looks like the phone's own) is left to that instance. Events that come while
 * the claim is pending are kept and replayed.
 */
import type { PbxEvent } from '../asterisk/ami-events.js'
import type { Logger } from '../support/logger.js'
import { freshTracking } from '../domain/tracking.js'
import type { CallLocator } from './call-locator.js'
import { bridgedParty } from './call-topology.js'
import type { DialTarget } from '../domain/destination.js'
import type { ActiveTransfer } from './active-transfer.js'
import type { EventRouter } from './event-router.js'
import { PhoneTransferDetector, type PhoneTransfer } from './phone-transfers.js'
import type { TransferLedger } from './transfer-ledger.js'

export interface AdopterOptions {
  server: string
  technology: string
  transferContext: string
  /** Several instances share the store: a phone's transfer is followed once its claim is granted. */
  distributed: boolean
  /**
   * With several servers: the server an extension belongs to. The phone's transfer names the target's
   * server from its start, as the plugin's own do, when that is another one (`across.server`).
   */
  serverOf?: (extension: string) => Promise<string | undefined>
}

export class PhoneTransferAdopter {
  readonly #options: AdopterOptions
  readonly #ledger: TransferLedger
  readonly #router: EventRouter
  readonly #log: Logger
  readonly #detector: PhoneTransferDetector

  constructor (options: AdopterOptions, parts: { ledger: TransferLedger, router: EventRouter, locator: CallLocator }, logger: Logger) {
    this.#options = options
    this.#ledger = parts.ledger
    this.#router = parts.router
    this.#log = logger
    this.#detector = new PhoneTransferDetector({
      technology: options.technology,
      isTracked: (channel) => this.#ledger.activeOn(options.server, channel).length > 0,
      isOwnConsultation: (localChannel) => parts.router.isOwnConsultation(localChannel),
      peerOf: async (agentChannel) => bridgedParty(await parts.locator.around(agentChannel), agentChannel)?.name,
      onTransfer: (transfer) => { this.#adopt(transfer) }
    })
  }

  observe (event: PbxEvent): void {
    this.#detector.observe(event)
  }

  stop (): void {
    this.#detector.stop()
  }

  #adopt (phone: PhoneTransfer): void {
    const ledger = this.#ledger
    if (ledger.full) {
      this.#log.warn({ extension: phone.extension, max: ledger.maxActive }, 'phone transfer not followed: too many transfers in progress')
      return
    }
    const record = ledger.newRecord({
      type: phone.type,
      origin: 'phone',
      server: this.#options.server,
      extension: phone.extension,
      targetExtension: phone.targetExtension,
      requestedBy: phone.extension,
      channels: phone.channels
    })
    const dialTarget: DialTarget = { exten: phone.targetExtension, context: this.#options.transferContext, kind: 'free' }
    const claim = ledger.claim(record, dialTarget, freshTracking())
    if (!this.#options.distributed) {
      // One instance: its store is this process's memory, in step with the ledger (the channels are
      // not tracked), so the transfer is followed at once, before the next event.
      claim.catch(() => {})
      const transfer = ledger.open(record, dialTarget)
      for (const input of phone.inputs) ledger.apply(transfer, input)
      this.#nameTargetServer(transfer)
      return
    }
    const pending = ledger.hold(record, dialTarget)
    if (pending === undefined) return
    const action = this.#router.beginAction(pending, { everyEvent: false })
    claim.then((claimed) => {
      if (!claimed.ok) {
        ledger.discard(record.id)
        action.end()
        this.#log.debug({ extension: phone.extension, claimed }, 'phone transfer followed by another instance')
        return
      }
      ledger.publish(pending)
      for (const input of phone.inputs) ledger.apply(pending, input)
      action.end()
      this.#nameTargetServer(pending)
    }, (error: unknown) => {
      ledger.discard(record.id)
      action.end()
      this.#log.warn({ err: error, extension: phone.extension }, 'phone transfer not followed: the shared store is not reachable')
    })
  }

  /**
   * The phone dialled the target itself, so the target's server is looked up after the start (the
   * agents' directory answers asynchronously): the record names it a few milliseconds later (stored,
   * and in the next event), well before the answer, which names the far half in full.
   */
  #nameTargetServer (transfer: ActiveTransfer): void {
    const serverOf = this.#options.serverOf
    if (serverOf === undefined) return
    const { targetExtension } = transfer.record
    serverOf(targetExtension).then((server) => {
      if (server === undefined || server === this.#options.server) return
      if (transfer.disposed || transfer.record.across !== undefined) return
      this.#ledger.amend(transfer, { ...transfer.record, across: { server } })
    }, (error: unknown) => {
      this.#log.debug({ err: error, targetExtension }, 'the server of a phone transfer\'s target could not be looked up')
    })
  }
}
