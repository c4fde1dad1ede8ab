/**
 * The transfer engine of one Asterisk server: everything that knows that PBX (its AMI and ARI through
 * `Pbx`, its call monitor through `CallLookup`, pacing, the recall route, restart detection) and the
 * parts that act on it. What spans servers (the ledger and its store, ownership, the policy) is given
 * to it; a second server is a second engine on the same ledger.
 *
 *   PBX event -> EventRouter -> tracker -> OutcomeConfirmer (bridges) -> TransferLedger -> events
 *   request   -> TransferStarter / ConsultationActions -> Pbx (AMI)
 */
import type { PbxEvent } from '../asterisk/ami-events.js'
import type { Logger } from '../support/logger.js'
import type { Pbx } from '../asterisk/pbx.js'
import type { Transfer } from '../domain/transfer.js'
import type { Clock } from '../support/clock.js'
import type { ActiveTransfer } from './active-transfer.js'
import { AtxferPacing } from './atxfer-pacing.js'
import { CallLocator } from './call-locator.js'
import { CHANNEL_RECORD_VARIABLE } from './channel-record.js'
import { ConsultationActions } from './consultation-actions.js'
import { ConnectedLineKeeper } from './connected-line.js'
import { ConsultationRestorer } from './consultation-restorer.js'
import { EventRouter } from './event-router.js'
import { OutcomeConfirmer, type CheckAcross } from './outcome-confirmer.js'
import type { CheckedServer } from './cross-server-check.js'
import { PbxHealth } from './pbx-health.js'
import { PhoneTransferAdopter } from './phone-transfer-adopter.js'
import { QueueReports } from './queue-reports.js'
import { Reconciler } from './reconciler.js'
import { withIds } from './record-ids.js'
import { RecordingFollower } from './recording-follower.js'
import type { CallLookup, RecallRouting } from './service-options.js'
import { isFinal, type TransferStatus } from '../domain/transfer.js'
import { TransferStarter } from './transfer-starter.js'
import type { TransferLedger } from './transfer-ledger.js'
import type { TransferPolicy } from './transfer-policy.js'

export interface EngineOptions {
  /** The server's name in the pool. */
  server: string
  transferContext: string
  technology: string
  consultationTimeoutMs: number
  settleTimeoutMs: number
  reconcileIntervalMs: number
  atxferQuietMs: number | undefined
  recall: RecallRouting | undefined
  /** The server's call monitor; without it every lookup asks ARI. */
  calls: CallLookup | undefined
  /** Several instances share the store (phone transfers are claimed before they are followed). */
  distributed: boolean
  /** With several servers: whether the target's server shows an outcome too. */
  checkAcross?: CheckAcross
  /** With several servers: the server an agent belongs to (names a phone transfer's target's server). */
  serverOf?: (extension: string) => Promise<string | undefined>
  /** With several servers: called once the server is back and its own transfers reconciled. */
  reconnected?: () => void
  /** Write queue_log lines for transfers of queue calls (queue-reports.ts). */
  queueLog?: boolean
  /** Keep the customer recorded when the agent's recorded leg leaves (`recording-follower.ts`). */
  followRecordings?: boolean
  clock: Clock
  logger: Logger
}

export class TransferEngine {
  readonly server: string
  readonly locator: CallLocator
  readonly health: PbxHealth
  readonly starter: TransferStarter
  readonly actions: ConsultationActions
  readonly reconciler: Reconciler
  readonly restorer: ConsultationRestorer
  readonly #pbx: Pbx
  readonly #options: EngineOptions
  readonly #pacing: AtxferPacing
  readonly #router: EventRouter
  readonly #adopter: PhoneTransferAdopter
  readonly #queueReports: QueueReports | undefined
  readonly #recordings: RecordingFollower | undefined
  readonly #connectedLine: ConnectedLineKeeper
  readonly #onEvent = (event: PbxEvent): void => {
    // Before the router: a transfer this event ends finds the caller's queue call as it is now.
    this.#queueReports?.observe(event)
    this.#recordings?.observe(event)
    this.#pacing.observe(event)
    this.#router.route(event)
    this.#adopter.observe(event)
  }

  readonly #onConnection = (state: { ami: boolean, ari: boolean }): void => {
    if (!this.health.linksChanged(state)) return
    this.reconciler.reconcileAll('reconnect').catch(this.#reportFailure('reconciling transfers after a reconnect')).finally(() => { this.#options.reconnected?.() })
  }

  constructor (pbx: Pbx, parts: { ledger: TransferLedger, policy: TransferPolicy }, options: EngineOptions) {
    const { ledger, policy } = parts
    const { server, clock, logger } = options
    this.server = server
    this.#pbx = pbx
    this.#options = options
    this.#pacing = new AtxferPacing(options.atxferQuietMs)
    this.locator = new CallLocator(pbx, { technology: options.technology, calls: options.calls, clock })
    this.health = new PbxHealth(pbx, clock, logger)
    const confirmer = new OutcomeConfirmer(ledger, this.locator, clock, logger, options.checkAcross)
    this.#router = new EventRouter(server, ledger, confirmer, logger)
    this.#recordings = options.followRecordings === true ? new RecordingFollower(pbx, ledger, logger) : undefined
    this.#connectedLine = new ConnectedLineKeeper(pbx, clock, logger)
    this.starter = new TransferStarter({ pbx, ledger, locator: this.locator, router: this.#router, policy, pacing: this.#pacing, recordings: this.#recordings }, {
      server,
      transferContext: options.transferContext,
      technology: options.technology,
      consultationTimeoutMs: options.consultationTimeoutMs,
      recall: options.recall,
      clock
    })
    const recordings = this.#recordings
    this.actions = new ConsultationActions(pbx, ledger, policy, options.settleTimeoutMs,
      recordings === undefined ? undefined : async (transfer) => { await recordings.beforeCompletion(transfer) })
    this.restorer = new ConsultationRestorer(server, options.technology, {
      pbx,
      ledger,
      locator: this.locator,
      policy,
      reconcileOne: async (transfer) => { await this.reconciler.reconcileOne(transfer, false) }
    }, logger)
    this.reconciler = new Reconciler(server, { pbx, ledger, locator: this.locator, health: this.health, restore: async () => await this.restorer.restore() }, clock, logger)
    this.#queueReports = options.queueLog === true
      ? new QueueReports({ pbx, bridgeOf: (channel) => this.#bridgeOf(channel), clock, logger })
      : undefined
    const adopting = { server, technology: options.technology, transferContext: options.transferContext, distributed: options.distributed }
    this.#adopter = new PhoneTransferAdopter(options.serverOf === undefined ? adopting : { ...adopting, serverOf: options.serverOf },
      { ledger, router: this.#router, locator: this.locator }, logger)
  }

  /** What a check across servers reads of this one: its calls from memory, a channel's variable. */
  get checked (): CheckedServer {
    return {
      name: this.server,
      reachable: () => this.health.reachable(),
      callsOf: async (extension) => await this.locator.callsOf(extension),
      around: async (names) => (await this.locator.aroundChannels(names)).snapshot,
      getVariable: async (channel, name) => await this.#pbx.getVariable(channel, name),
      predatesRestart: (createdAt) => this.health.predatesRestart(createdAt),
      nextEventOr: async (ms) => { await this.locator.nextEventOr(ms) }
    }
  }

  /** Starts following the server's events (transfers in progress and the phones' own transfers). */
  start (): void {
    this.#pbx.events.on('event', this.#onEvent)
    this.#pbx.events.on('connection', this.#onConnection)
    this.health.start()
    this.reconciler.start(this.#options.reconcileIntervalMs)
  }

  stop (): void {
    this.#pbx.events.off('event', this.#onEvent)
    this.#pbx.events.off('connection', this.#onConnection)
    this.reconciler.stop()
    this.#adopter.stop()
  }

  /**
   * One of the server's transfers is about to enter `record`'s state: what this PBX must do for it.
   * Returns the record to store (the customer's recording, started at completion, is listed in it).
   */
  entering (transfer: ActiveTransfer, record: Transfer): Transfer {
    if (record.status === 'consulting' && transfer.tracking.consultingSince === undefined) this.#startConsultingClock(transfer)
    if (isFinal(record.status)) this.#forgetOnChannel(record)
    this.#queueReports?.entering(record, transfer.dialTarget)
    this.#connectedLine.entering(record)
    return this.#recordings?.entering(transfer, record) ?? record
  }

  /** The record with the ids of its channels, as this server's call monitor knows them (`record-ids.ts`). */
  identify (record: Transfer): Transfer {
    const { calls } = this.#options
    return calls?.idsOf === undefined ? record : withIds(record, (name) => calls.idsOf?.(name))
  }

  /** One of the server's transfers stayed in `state` past its deadline. */
  deadline (transfer: ActiveTransfer, state: TransferStatus): void {
    this.reconciler.onDeadline(transfer, state).catch(this.#reportFailure('ending a transfer past its deadline'))
  }

  /**
   * An unanswered consultation is aborted by Asterisk after the agent channel's atxfernoanswertimeout
   * (features.conf, or set per channel): read it, to tell that abort from a cancel (`abortInput`).
   */
  #startConsultingClock (transfer: ActiveTransfer): void {
    transfer.tracking.consultingSince = this.#options.clock.now()
    this.#pbx.getVariable(transfer.record.channels.agent, 'FEATURE(atxfernoanswertimeout)').then((value) => {
      const seconds = Number.parseFloat(value)
      if (Number.isFinite(seconds) && seconds > 0) transfer.tracking.noAnswerTimeoutMs = seconds * 1000
    }, () => {})
  }

  /** A finished attended transfer's record is taken off the agent's channel (best effort: it may be gone). */
  #forgetOnChannel (record: Transfer): void {
    if (record.type !== 'attended' || record.origin !== 'plugin' || record.status === 'failed') return
    this.#pbx.setVariable(record.channels.agent, CHANNEL_RECORD_VARIABLE, '').catch(() => {})
  }

  /** The bridge a channel is in, from the call monitor's memory (undefined when it is not in sync). */
  #bridgeOf (channel: string): string | undefined {
    const around = this.locator.memory?.snapshotAround?.([channel])
    const id = around?.channels.find((candidate) => candidate.name === channel)?.id
    return id === undefined ? undefined : around?.bridges.find((bridge) => bridge.channelIds.includes(id))?.id
  }

  #reportFailure (what: string): (error: unknown) => void {
    return (error) => { this.#options.logger.error({ err: error }, `${what} failed`) }
  }
}
