/**
 * Which instance of the host app follows each transfer, when several share a store: the owner alone
 * follows a transfer's calls and publishes its changes, under a lease it renews. A request for a
 * transfer owned elsewhere is sent to its owner (`request-routing.ts` says where); a transfer whose
 * owner is gone is taken over by an instance that sees its PBX, checked against the PBX and followed
 * from there. With one instance (no peers) everything is this instance's and nothing here runs.
 */
import type { Logger } from '../support/logger.js'
import { isFinal, type Transfer } from '../domain/transfer.js'
import { StoreUnavailableError, TransferNotFoundError, TransferStateError } from '../errors.js'
import type { Identity } from '../identity.js'
import { OwnerGoneError, type RemoteCommand } from '../store/command-bus.js'
import type { StoredTransfer } from '../store/transfer-store.js'
import type { CancelTimer, Clock } from '../support/clock.js'
import type { ActiveTransfer } from './active-transfer.js'
import { describeState, type ConsultationAction } from './consultation-actions.js'
import { routeRequest } from './request-routing.js'
import type { Peers } from './service-options.js'
import type { TransferStatus } from '../domain/transfer.js'
import type { TransferLedger } from './transfer-ledger.js'
import type { TransferPolicy } from './transfer-policy.js'
import { channelKeysOf } from './transfer-registry.js'
import { stateToGoOnFrom } from './takeover-state.js'

/** What ownership needs of the engines (one per Asterisk server). */
export interface EnginesView {
  /** Whether this instance sees a PBX now (both links up): only then may it take transfers over. */
  connected: () => boolean
  /** Checks a transfer taken over against its PBX and applies what happened while nobody followed it. */
  reconcileTakenOver: (transfer: ActiveTransfer) => Promise<void>
}

export interface OwnershipOptions {
  peers: Peers
  /** How long an owner may take to answer a request sent to it. */
  remoteTimeoutMs: number
  clock: Clock
}

export class ClusterOwnership {
  readonly #ledger: TransferLedger
  readonly #policy: TransferPolicy
  readonly #engines: EnginesView
  readonly #options: OwnershipOptions
  readonly #log: Logger
  #keeping: Promise<void> | undefined
  #stopTimer: CancelTimer | undefined

  constructor (parts: { ledger: TransferLedger, policy: TransferPolicy, engines: EnginesView }, options: OwnershipOptions, logger: Logger) {
    this.#ledger = parts.ledger
    this.#policy = parts.policy
    this.#engines = parts.engines
    this.#options = options
    this.#log = logger
  }

  start (): void {
    this.#stopTimer = this.#options.clock.every(this.#options.peers.leaseRenewMs, () => { this.keepLeases().catch(this.#ledger.reportFailure('renewing transfer leases')) })
  }

  stop (): void {
    this.#stopTimer?.()
  }

  /**
   * A transfer this instance does not follow: its owner acts (it alone follows the calls), asked through
   * the peers, and its answer is returned; a transfer whose owner is gone is taken over, and undefined
   * says to act here. Refusals that need no owner (unknown, not allowed, not in a state for it) are made here.
   */
  async elsewhere (id: string, identity: Identity | undefined, allowed: (state: TransferStatus) => boolean, action: ConsultationAction): Promise<Transfer | undefined> {
    const ledger = this.#ledger
    const found = await ledger.shared(async () => await ledger.store.get(id))
    if (found === undefined) throw new TransferNotFoundError(id)
    if (identity !== undefined) this.#policy.assertMayAct(identity, found.stored.record.extension)
    const route = routeRequest(found, ledger.store.instanceId, allowed)
    if (route.kind === 'refuse') throw new TransferStateError(id, describeState(found.stored.record))
    let gone = route.kind === 'take_over' ? route.from : undefined
    if (route.kind === 'owner') {
      try {
        return await this.#askOwner(route.owner, { action, transferId: id, ...(identity === undefined ? {} : { identity }) })
      } catch (error) {
        // The owner's own refusal passes as it is; the shared store failing on the way is the client's 503.
        if (!(error instanceof OwnerGoneError)) throw (error as { code?: string }).code?.startsWith('XFER_') === true ? error : new StoreUnavailableError((error as Error).message)
        this.#log.warn({ transferId: id, owner: route.owner }, 'the instance that owned the transfer is gone; taking it over')
        gone = route.owner
      }
    }
    const taken = await ledger.shared(async () => await ledger.store.takeOver(id, gone))
    if (taken === undefined) {
      // Another instance was faster, or the owner's lease has not run out yet: it is not ours to act on.
      throw Object.assign(new StoreUnavailableError(`transfer ${id} is being taken over by another instance`), { transferId: id })
    }
    await this.#adopt(taken)
    return undefined
  }

  /**
   * The owner's answer, or for a complete or cancel (answered by the owner once the transfer is over) the
   * end the owner publishes on the feed, whichever comes first: over a Redis failover the answer can be
   * lost on the way back (it crosses pub/sub, whose subscriptions move to the new master a moment
   * later), while the feed is a stream read again from where it stopped. The action was done; without
   * this the client would wait for the timeout and be told 504.
   */
  async #askOwner (owner: string, command: RemoteCommand): Promise<Transfer> {
    const asked = this.#options.peers.send(owner, command, this.#options.remoteTimeoutMs) as Promise<Transfer>
    const feed = this.#options.peers.ended
    if (feed === undefined || (command.action !== 'complete' && command.action !== 'cancel')) return await asked
    const abandon = new AbortController()
    try {
      return await Promise.race([asked, feed(command.transferId, abandon.signal)])
    } finally {
      abandon.abort()
    }
  }

  /** Renews this instance's leases and takes over the transfers whose owner is gone. */
  async keepLeases (): Promise<void> {
    if (this.#keeping !== undefined) return await this.#keeping
    this.#keeping = this.#keepLeases().finally(() => { this.#keeping = undefined })
    return await this.#keeping
  }

  /**
   * Records every transfer this instance owns in the shared store again: after Redis comes back, which
   * may have lost its data (a restart without persistence), so the other instances know them again.
   */
  recordAll (): void {
    for (const transfer of this.#ledger.inProgress()) this.#ledger.share(transfer)
  }

  async #keepLeases (): Promise<void> {
    const ledger = this.#ledger
    if (this.#options.peers.available?.() === false) return
    const owned = ledger.inProgress().map((transfer) => ({ id: transfer.id, channels: channelKeysOf(transfer.record) }))
    for (const id of await ledger.store.renew(owned)) ledger.lose(id)
    // Taken over only by an instance that sees the PBX: it must check the transfer's calls first.
    if (!this.#engines.connected()) return
    for (const id of await ledger.store.orphans()) {
      const stored = await ledger.store.takeOver(id)
      if (stored !== undefined) await this.#adopt(stored)
    }
  }

  /**
   * Goes on with a transfer another instance owned: registered here under its id, with what its owner
   * knew (the newer of what it stored and what it published), checked against the PBX (what happened
   * while nobody followed it is applied), then followed. Not announced again: clients saw its state
   * from the previous owner. One whose end was published but not stored is only recorded as ended.
   */
  async #adopt (found: StoredTransfer): Promise<void> {
    if (this.#ledger.activeById(found.record.id) !== undefined) return
    const stored = stateToGoOnFrom(found, this.#options.peers.lastPublished?.(found.record.id))
    if (stored !== found) {
      this.#log.warn({ transferId: found.record.id, stored: found.record.status, published: stored.record.status },
        'the shared store had an older state of this transfer than its owner published; going on from the published one')
    }
    if (isFinal(stored.record.status)) {
      const ledger = this.#ledger
      await ledger.shared(async () => await ledger.store.save({ ...stored, revision: (stored.revision ?? 0) + 1 }, channelKeysOf(stored.record)))
      return
    }
    const transfer = this.#ledger.adopt(stored)
    if (transfer === undefined) return
    this.#log.info({ transferId: transfer.id, status: transfer.record.status }, 'transfer taken over from an instance that is gone')
    await this.#engines.reconcileTakenOver(transfer).catch((error: unknown) => {
      this.#log.warn({ err: error, transferId: transfer.id }, 'checking a transfer taken over failed')
    })
  }
}
