/**
 * Where the transfers in progress are known to every instance of the host app: their records, which
 * instance owns each (tracks its calls and publishes its changes, under a lease it renews), and the
 * per-call lock that keeps two transfers off one call. In one process it is memory
 * (`memory-transfer-store.ts`); with several, Redis (`redis-transfer-store.ts`).
 */
import type { TransferTracking } from '../domain/tracking.js'
import type { Transfer } from '../domain/transfer.js'
import type { DialTarget } from '../domain/destination.js'

/** A transfer as the shared store keeps it: its record, where it dials, and the facts that survive a takeover. */
export interface StoredTransfer {
  record: Transfer
  dialTarget: DialTarget
  tracking: TransferTracking
  /**
   * How many times its owners saved it (absent: 0, as opened). A save never replaces a higher one: a
   * cluster client sends each command again on its own after a redirection or a failover, so an older
   * save may arrive after a newer one.
   */
  revision?: number
}

export type OpenResult =
  | { ok: true }
  /** A channel of the call belongs to this transfer in progress. */
  | { ok: false, busyWith: string }
  /** The cap on transfers in progress is reached. */
  | { ok: false, full: true }

export interface FoundTransfer {
  stored: StoredTransfer
  /** The instance that owns it now; undefined when nobody does (its owner is gone, or it is over). */
  owner: string | undefined
}

/**
 * How long a finished transfer's calls stay locked against a phone's own transfer: every instance sees
 * Asterisk's event that ends a transfer (an AttendedTransfer), and one that does not own it would
 * otherwise take it, an instant after its owner let go of the call, for a transfer the phone made.
 */
export const PHONE_GRACE_MS = 5000

export interface TransferStore {
  /** This instance, as owners are named. */
  readonly instanceId: string
  /**
   * Registers a new transfer owned by this instance and locks its channels, in one step: refused when
   * the transfer is known already (another instance rebuilt or took it over), when one of its channels
   * is locked by another transfer in progress (shared by several instances, for a phone's own transfer:
   * or one that ended within `PHONE_GRACE_MS`), or when `maxActive` transfers are. Atomic against
   * other claims: checked and locked in one step (one synchronous step in memory, one script in Redis),
   * so of two claims of one call started at once, one wins.
   */
  open: (stored: StoredTransfer, channels: readonly string[], maxActive: number) => Promise<OpenResult>
  /**
   * Stores the owner's latest state; its channels are locked to it (new ones too). A final record
   * releases them and leaves the transfers in progress. False when another instance owns it now. A
   * state of a lower `revision` than the stored one changes nothing (true: it is not a lost ownership).
   */
  save: (stored: StoredTransfer, channels: readonly string[]) => Promise<boolean>
  get: (id: string) => Promise<FoundTransfer | undefined>
  /** Every transfer in progress, whoever owns it. */
  active: () => Promise<Transfer[]>
  /** Renews this instance's leases; the ids it no longer owns (another instance took them). */
  renew: (owned: ReadonlyArray<{ id: string, channels: readonly string[] }>) => Promise<string[]>
  /** Transfers in progress that no instance owns: their owner stopped renewing. */
  orphans: () => Promise<string[]>
  /**
   * Takes an orphan over; its state, or undefined when it is owned (another instance was faster) or over.
   * With `from`: also when `from` still holds it, known to be gone (it no longer listens to its peers).
   */
  takeOver: (id: string, from?: string) => Promise<StoredTransfer | undefined>
  /** Gives up this instance's leases (a graceful stop: others take its transfers over at once). */
  release: (ids: readonly string[]) => Promise<void>
}
