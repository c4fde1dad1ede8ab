/**
 * Settles what one Asterisk's transfers became while the plugin could not see them: checks each
 * transfer in progress against the PBX (`reconciliation.ts`) after every reconnect, on a timer, and
 * when a state outlives its deadline. After a reconnect it first learns whether Asterisk restarted
 * (`pbx-health.ts`) and follows again the consultations a previous run of the host app left.
 */
import type { Logger } from '../support/logger.js'
import type { CallSnapshot, Pbx } from '../asterisk/pbx.js'
import type { CancelTimer, Clock } from '../support/clock.js'
import type { ActiveTransfer } from './active-transfer.js'
import type { CallLocator } from './call-locator.js'
import type { PbxHealth } from './pbx-health.js'
import type { CheckedServer } from './cross-server-check.js'
import { reconcile } from './reconciliation.js'
import { crossedVerdict } from './restart-verdict.js'
import type { TransferStatus } from '../domain/transfer.js'
import type { TransferLedger } from './transfer-ledger.js'

export type ReconcileCause = 'reconnect' | 'timer'

export interface ReconcilerParts {
  pbx: Pbx
  ledger: TransferLedger
  locator: CallLocator
  health: PbxHealth
  /** Follows again the consultations a previous run of the host app left (after a reconnect). */
  restore: () => Promise<unknown>
}

export class Reconciler {
  readonly #server: string
  readonly #parts: ReconcilerParts
  readonly #clock: Clock
  readonly #log: Logger
  #running: Promise<void> | undefined
  #stopTimer: CancelTimer | undefined

  constructor (server: string, parts: ReconcilerParts, clock: Clock, logger: Logger) {
    this.#server = server
    this.#parts = parts
    this.#clock = clock
    this.#log = logger
  }

  /** Checks every transfer every `intervalMs` (0: only after reconnects). */
  start (intervalMs: number): void {
    if (intervalMs > 0) this.#stopTimer = this.#clock.every(intervalMs, () => { this.reconcileAll('timer').catch(this.#parts.ledger.reportFailure('reconciling transfers')) })
  }

  stop (): void {
    this.#stopTimer?.()
  }

  /**
   * Checks every transfer in progress on this server against the PBX and applies what it shows. After
   * a reconnect it first learns whether Asterisk restarted, and waits for the call monitor's rebuild;
   * on the timer it answers from the monitor's memory when in sync.
   */
  async reconcileAll (why: ReconcileCause = 'timer'): Promise<void> {
    const running = this.#running
    if (running !== undefined) {
      // A timer pass that began before the link dropped cannot know Asterisk restarted: a reconnect
      // runs its own pass after it, rather than taking that pass's answer.
      if (why === 'timer') return await running
      await running.catch(() => {})
      return await this.reconcileAll(why)
    }
    this.#running = this.#reconcileAll(why).finally(() => { this.#running = undefined })
    return await this.#running
  }

  async #reconcileAll (why: ReconcileCause): Promise<void> {
    const { pbx, ledger, locator, health, restore } = this.#parts
    // The timer looks only at a PBX it fully sees: while a link is down or the calls are being rebuilt,
    // a missing channel proves nothing, and the reconnect's own pass (which knows whether Asterisk
    // restarted) comes next.
    if (why === 'timer' && (!health.connected() || locator.outOfSync)) return
    const restarted = why === 'reconnect' && await health.restartedSinceLastSeen()
    if (why === 'reconnect') await restore().catch((error: unknown) => { this.#log.warn({ err: error }, 'restoring consultations from Asterisk failed') })
    const transfers = ledger.inProgress().filter((transfer) => transfer.server === this.#server && !transfer.actionInFlight && !transfer.confirming)
    if (transfers.length === 0) return
    // After a reconnect the call monitor is rebuilt from a fresh snapshot: each transfer is checked
    // against it, as soon as it is there. A listing of its own only if it does not come.
    const fresh = why === 'reconnect' && !(await locator.inSyncSoon()) ? await pbx.snapshot().catch(() => undefined) : undefined
    for (const transfer of transfers) {
      await this.reconcileOne(transfer, restarted, fresh).catch((error: unknown) => {
        this.#log.warn({ err: error, transferId: transfer.id }, 'reconciling a transfer failed')
      })
    }
  }

  /** Checks one transfer against the PBX (`fresh`: a listing already taken) and applies what it shows. */
  async reconcileOne (transfer: ActiveTransfer, restarted: boolean, fresh?: CallSnapshot): Promise<void> {
    const { ledger, locator, health } = this.#parts
    const snapshot = fresh ?? (await locator.aroundTransfer(transfer.record)).snapshot
    if (transfer.disposed) return
    const input = reconcile(transfer.tracked(), snapshot, { restarted: restarted || health.predatesRestart(transfer.record.createdAt) })
    if (input === undefined) return
    this.#log.info({ transferId: transfer.id, status: transfer.record.status, input: input.type }, 'transfer reconciled with the PBX')
    ledger.notices.emit('reconciled', { transferId: transfer.id, status: transfer.record.status, input: input.type, server: this.#server })
    ledger.apply(transfer, input)
  }

  /**
   * Another server of the pool is back: the consultations of this server that crossed into it are
   * checked there (`crossedVerdict`): a far half gone ends the transfer, and the trunk leg still held
   * here is hung up so that the agent is back with the customer.
   */
  async reconcileCrossed (there: CheckedServer): Promise<void> {
    const { ledger, pbx } = this.#parts
    const crossed = ledger.inProgress().filter((transfer) => transfer.server === this.#server && transfer.record.across?.server === there.name && !transfer.actionInFlight && !transfer.confirming)
    for (const transfer of crossed) {
      // What this server shows first (the agent hung up while the other was down: completed here).
      await this.reconcileOne(transfer, false)
      if (transfer.disposed) continue
      const inbound = transfer.record.across?.inbound
      const inboundAlive = inbound === undefined ? undefined : (await there.around([inbound])).channels.some((channel) => channel.name === inbound)
      const verdict = crossedVerdict(transfer.record, { inboundAlive, restarted: there.predatesRestart(transfer.record.createdAt) })
      if (verdict === undefined || transfer.disposed) continue
      this.#log.warn({ transferId: transfer.id, status: transfer.record.status, targetServer: there.name, input: verdict.input.reason }, 'the target\'s server lost this transfer\'s call: ended, the agent back with the customer')
      ledger.notices.emit('reconciled', { transferId: transfer.id, status: transfer.record.status, input: verdict.input.type, server: this.#server })
      ledger.apply(transfer, verdict.input)
      if (verdict.hangUp !== undefined) await pbx.hangup(verdict.hangUp).catch((error: unknown) => { this.#log.warn({ err: error, channel: verdict.hangUp }, 'hanging up the trunk leg of a lost transfer failed') })
    }
  }

  /** A state outlived its deadline: ask the PBX what became of it; if nothing says, end it. */
  async onDeadline (transfer: ActiveTransfer, state: TransferStatus): Promise<void> {
    if (transfer.disposed || transfer.record.status !== state) return
    await this.reconcileOne(transfer, false).catch(() => {})
    if (transfer.disposed || transfer.record.status !== state) return
    this.#log.warn({ transferId: transfer.id, state }, 'transfer outlived its deadline; ended')
    this.#parts.ledger.apply(transfer, { type: 'lost', reason: 'deadline_exceeded' })
  }
}
