/**
 * The transfer store of a single instance: plain maps. Every transfer is this instance's, so there is
 * nothing to renew, nothing orphaned and nothing to take over; and the one process sees its own
 * transfers end, so a phone's transfer needs no grace after them (`PHONE_GRACE_MS`).
 */
import { type Transfer, isFinal } from '../domain/transfer.js'
import type { FoundTransfer, OpenResult, StoredTransfer, TransferStore } from './transfer-store.js'

export class MemoryTransferStore implements TransferStore {
  readonly instanceId: string
  readonly #active = new Map<string, StoredTransfer>()
  readonly #lockedBy = new Map<string, string>()
  readonly #locksOf = new Map<string, readonly string[]>()

  constructor (instanceId: string) {
    this.instanceId = instanceId
  }

  /**
   * Invariant: the checks and the locks below run in one synchronous step, before this function's first
   * `await` (it has none): two claims started in the same tick cannot both pass, which is what keeps one
   * transfer per call on a single instance (test/store/memory-transfer-store.test.ts fails otherwise).
   */
  async open (stored: StoredTransfer, channels: readonly string[], maxActive: number): Promise<OpenResult> {
    const { id } = stored.record
    if (this.#active.has(id)) return { ok: false, busyWith: id }
    for (const channel of channels) {
      const holder = this.#lockedBy.get(channel)
      if (holder !== undefined && holder !== id) return { ok: false, busyWith: holder }
    }
    if (this.#active.size >= maxActive) return { ok: false, full: true }
    this.#active.set(id, stored)
    this.#lock(id, channels)
    return { ok: true }
  }

  async save (stored: StoredTransfer, channels: readonly string[]): Promise<boolean> {
    const { id } = stored.record
    const current = this.#active.get(id)
    if (current === undefined) return true
    if ((current.revision ?? 0) > (stored.revision ?? 0)) return true
    this.#unlock(id)
    if (isFinal(stored.record.status)) {
      this.#active.delete(id)
      return true
    }
    this.#active.set(id, stored)
    this.#lock(id, channels)
    return true
  }

  async get (id: string): Promise<FoundTransfer | undefined> {
    const stored = this.#active.get(id)
    return stored === undefined ? undefined : { stored, owner: this.instanceId }
  }

  async active (): Promise<Transfer[]> {
    return [...this.#active.values()].map((stored) => stored.record)
  }

  async renew (): Promise<string[]> {
    return []
  }

  async orphans (): Promise<string[]> {
    return []
  }

  async takeOver (): Promise<StoredTransfer | undefined> {
    return undefined
  }

  async release (): Promise<void> {}

  #lock (id: string, channels: readonly string[]): void {
    for (const channel of channels) this.#lockedBy.set(channel, id)
    this.#locksOf.set(id, channels)
  }

  #unlock (id: string): void {
    for (const channel of this.#locksOf.get(id) ?? []) {
      if (this.#lockedBy.get(channel) === id) this.#lockedBy.delete(channel)
    }
    this.#locksOf.delete(id)
  }
}
