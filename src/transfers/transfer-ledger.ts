/**
 * The transfers this instance follows, across every Asterisk server, and the one way their records
 * change: the registry (in progress and recently finished), the shared store they are recorded in for
 * the other instances, each state's deadline, and what is published. Every part of the engine reads and
 * changes transfers through this object; none holds transfers of its own.
 *
 * A record changes in three ways, one method each: `apply` an input to its state machine (stored,
 * then announced), `amend` it without a change of state (a channel learned; stored, not announced),
 * and `share` it, which only records it again in the shared store.
 */
import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { Logger } from '../support/logger.js'
import { isFinal, type Transfer, type TransferStatus } from '../domain/transfer.js'
import type { TransferTracking } from '../domain/tracking.js'
import { AsteriskTimeoutError, StoreUnavailableError } from '../errors.js'
import type { OpenResult, StoredTransfer, TransferStore } from '../store/transfer-store.js'
import type { Clock } from '../support/clock.js'
import type { ActiveTransfer } from './active-transfer.js'
import type { DialTarget } from '../domain/destination.js'
import { nextRecord } from './record-transition.js'
import type { TransferDeadlines, TransferNotices } from './service-options.js'
import type { TransferInput } from './state.js'
import { eventFor, TransferEvents } from './transfer-events.js'
import { channelKeysOf, TransferRegistry } from './transfer-registry.js'

/** A save unanswered this long is logged (Redis answers in a millisecond; a failover takes seconds). */
const SLOW_SAVE_MS = 1000

const DEADLINE_OF: { readonly [S in TransferStatus]?: keyof TransferDeadlines } = {
  initiated: 'initiatedMs',
  redirected: 'redirectedMs',
  consulting: 'consultingMs',
  target_answered: 'targetAnsweredMs',
  three_way: 'targetAnsweredMs',
  // The customer rings the agent, then goes to the fallback: like a blind transfer on its way.
  recalling: 'redirectedMs'
}

/** What the engine of a transfer's server does when the transfer changes (it alone knows that PBX). */
export interface LedgerHooks {
  /**
   * The transfer is about to enter `record`'s state: its PBX's follow-ups (read a timeout, clear a
   * channel record, keep the customer recorded). Returns the record to store: `record`, or it with
   * what those follow-ups add (a recording file).
   */
  entering: (transfer: ActiveTransfer, record: Transfer) => Transfer
  /** The transfer stayed in `state` past its deadline. */
  deadline: (transfer: ActiveTransfer, state: TransferStatus) => void
  /** The record with the ids of its channels on its server filled in (`record-ids.ts`); itself when none is known. */
  identify: (record: Transfer) => Transfer
}

export interface LedgerOptions {
  store: TransferStore
  deadlines: TransferDeadlines
  /** Transfers in progress at most: beyond, new ones are refused (a bound on memory). */
  maxActive: number
  clock: Clock
  logger: Logger
}

export class TransferLedger {
  readonly events = new TransferEvents()
  readonly notices = new EventEmitter<TransferNotices>()
  readonly store: TransferStore
  readonly maxActive: number
  readonly #registry = new TransferRegistry()
  readonly #changes = new EventEmitter<{ changed: [Transfer] }>()
  readonly #deadlines: TransferDeadlines
  readonly #clock: Clock
  readonly #log: Logger
  #hooks: LedgerHooks = { entering: (_, record) => record, deadline: () => {}, identify: (record) => record }

  constructor (options: LedgerOptions) {
    this.store = options.store
    this.maxActive = options.maxActive
    this.#deadlines = options.deadlines
    this.#clock = options.clock
    this.#log = options.logger
    this.#changes.setMaxListeners(0)
  }

  /** Set once, by the service, which routes each transfer to the engine of its server. */
  follow (hooks: LedgerHooks): void {
    this.#hooks = hooks
  }

  /** A transfer this instance follows, or finished here recently. */
  get (id: string): Transfer | undefined {
    return this.#registry.get(id)
  }

  activeById (id: string): ActiveTransfer | undefined {
    return this.#registry.activeById(id)
  }

  /** The transfers in progress involving a channel of a server. */
  activeOn (server: string, channel: string): readonly ActiveTransfer[] {
    return this.#registry.activeOn(server, channel)
  }

  inProgress (): ActiveTransfer[] {
    return this.#registry.inProgress()
  }

  activeRecords (): Transfer[] {
    return this.#registry.activeRecords()
  }

  get full (): boolean {
    return this.#registry.activeCount >= this.maxActive
  }

  /** A new record, `initiated` now. */
  newRecord (fields: Omit<Transfer, 'id' | 'status' | 'createdAt' | 'updatedAt'>): Transfer {
    const now = new Date(this.#clock.now()).toISOString()
    return this.#hooks.identify({ id: randomUUID(), status: 'initiated', ...fields, createdAt: now, updatedAt: now })
  }

  /**
   * Takes the record's call in the shared store: of two instances (or two requests) asked for one
   * call, one wins. The store checks and locks in one step (see `TransferStore.open`).
   */
  async claim (record: Transfer, dialTarget: DialTarget, tracking: TransferTracking): Promise<OpenResult> {
    return await this.store.open({ record, dialTarget, tracking }, channelKeysOf(record), this.maxActive)
  }

  /** A new transfer in progress: registered, given its first deadline and announced. */
  open (record: Transfer, dialTarget: DialTarget): ActiveTransfer {
    const transfer = this.hold(record, dialTarget)
    if (transfer === undefined) throw new Error(`transfer ${record.id} is known already`)
    this.publish(transfer)
    return transfer
  }

  /** Registered only, while its claim in the shared store is pending; `publish` or `discard` follows. */
  hold (record: Transfer, dialTarget: DialTarget): ActiveTransfer | undefined {
    return this.#registry.register(record, dialTarget)
  }

  /** A transfer held until now goes on: its deadline armed, its state announced. */
  publish (transfer: ActiveTransfer): void {
    this.#armDeadline(transfer)
    this.#announce(transfer.record)
  }

  /** Goes on with a transfer another instance owned: what its owner knew, its deadline; not announced again. */
  adopt (stored: StoredTransfer): ActiveTransfer | undefined {
    const transfer = this.#registry.register(stored.record, stored.dialTarget)
    if (transfer === undefined) return undefined
    transfer.resume(stored)
    this.#armDeadline(transfer)
    // Recorded at once as this instance's: its calls are locked again (they went with the old owner's lease).
    this.share(transfer)
    return transfer
  }

  /** Applies an input to the transfer's state machine; the record as it is after (unchanged if the input meant nothing). */
  apply (transfer: ActiveTransfer, input: TransferInput, error?: Transfer['error']): Transfer {
    const { record } = transfer
    if (transfer.disposed) return record
    const updated = nextRecord(record, input, this.#clock.now(), error)
    if (updated === undefined) return record
    const stored = this.amend(transfer, this.#hooks.entering(transfer, updated))
    this.#announce(stored, input)
    return stored
  }

  /**
   * Stores a changed record (with the ids of channels it learned); a new state gets its own deadline, a
   * final one disposes the transfer. Returns the record as stored.
   */
  amend (transfer: ActiveTransfer, changed: Transfer): Transfer {
    const record = this.#hooks.identify(changed)
    const stateChanged = record.status !== transfer.record.status
    this.#registry.replace(transfer, record)
    this.share(transfer)
    if (stateChanged && !isFinal(record.status)) this.#armDeadline(transfer)
    return record
  }

  /**
   * Records the transfer's latest state for the other instances (queued while Redis is down). A save
   * still unanswered after SLOW_SAVE_MS is logged: the state a successor would take over is older
   * meanwhile (the successor also reads the feed: `takeover-state.ts`).
   */
  share (transfer: ActiveTransfer): void {
    const stored = transfer.nextSave()
    const { id, status } = stored.record
    const sentAt = this.#clock.now()
    const stopWatching = this.#clock.after(SLOW_SAVE_MS, () => {
      this.#log.warn({ transferId: id, status, revision: stored.revision }, `a transfer's state has not reached the shared store after ${SLOW_SAVE_MS} ms`)
    }, { background: true })
    this.store.save(stored, channelKeysOf(stored.record)).then((saved) => {
      const ms = this.#clock.now() - sentAt
      if (ms >= SLOW_SAVE_MS) this.#log.warn({ transferId: id, status, revision: stored.revision, ms }, 'a transfer\'s state reached the shared store late')
      if (!saved && !isFinal(status)) this.lose(id)
    }, (error: unknown) => { this.#log.warn({ err: error, transferId: id }, 'a transfer could not be recorded in the shared store') }).finally(stopWatching)
  }

  /** Another instance owns it now (this one lost its lease): it stops following it, without a word. */
  lose (id: string): void {
    this.#log.warn({ transferId: id }, 'another instance took this transfer over; no longer followed here')
    this.#registry.discard(id)
  }

  /** Forgets a transfer held that never started (another instance had its call): no trace is kept. */
  discard (id: string): void {
    this.#registry.discard(id)
  }

  /** Runs a step on the shared store; its failure (Redis unreachable) is the client's 503, nothing done. */
  async shared<T> (step: () => Promise<T>): Promise<T> {
    try {
      return await step()
    } catch (error) {
      if ((error as { code?: string }).code?.startsWith('XFER_') === true) throw error
      throw new StoreUnavailableError((error as Error).message)
    }
  }

  /** Resolves when the transfer is `done` (within `timeoutMs`); `signal` stops waiting (the action itself failed). */
  async waitFor (id: string, done: (transfer: Transfer) => boolean, signal: AbortSignal, timeoutMs: number): Promise<Transfer> {
    return await new Promise((resolve, reject) => {
      const stop = (): void => {
        cancelTimer()
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
      const cancelTimer = this.#clock.after(timeoutMs, () => {
        stop()
        reject(new AsteriskTimeoutError(`the end of transfer ${id}`, timeoutMs))
      })
      this.#changes.on('changed', onChange)
      signal.addEventListener('abort', onAbort)
    })
  }

  /** For work started by a timer or an event: a failure is logged, never an unhandled rejection. */
  reportFailure (what: string): (error: unknown) => void {
    return (error) => { this.#log.error({ err: error }, `${what} failed`) }
  }

  /** Gives every transfer in progress back (a graceful stop): disposed here, their leases released. */
  async handBack (): Promise<void> {
    const owned = this.#registry.inProgress()
    for (const transfer of owned) transfer.dispose()
    await this.store.release(owned.map((transfer) => transfer.id)).catch(() => {})
  }

  #announce (record: Transfer, input?: TransferInput): void {
    this.events.emit(eventFor(record.status, input), record)
    this.#changes.emit('changed', record)
  }

  #armDeadline (transfer: ActiveTransfer): void {
    const key = DEADLINE_OF[transfer.record.status]
    if (key === undefined) return
    const state = transfer.record.status
    transfer.armDeadline(this.#clock, this.#deadlines[key], () => { this.#hooks.deadline(transfer, state) })
  }
}
