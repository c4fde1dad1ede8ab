/**
 * The transfers the plugin knows: those in progress as `ActiveTransfer` objects, indexed by every
 * channel they involve (so an Asterisk event finds its transfer in O(1)), and the most recent finished
 * records, kept for `GET /transfers/:id`. A transfer in progress is created here (`save` of a new
 * record) and disposed here (`save` of its final record): its timers and buffers go with it.
 */
import { localCounterpart } from '../asterisk/channel-name.js'
import { type Transfer, isFinal } from '../domain/transfer.js'
import { ActiveTransfer } from './active-transfer.js'
import type { DialTarget } from '../domain/destination.js'

/** Every channel a transfer involves: the ones an event may name, and the ones locked to it. */
export function channelsOf (transfer: Transfer): string[] {
  const { agent, peer, consultation, target } = transfer.channels
  // The consultation's far half is the one that dials the target; so is a Local target's (recall).
  const dialer = consultation === undefined ? undefined : localCounterpart(consultation)
  const targetDialer = target === undefined ? undefined : localCounterpart(target)
  return [agent, peer, consultation, dialer, target, targetDialer].filter((name): name is string => name !== undefined)
}

const NONE: readonly ActiveTransfer[] = Object.freeze([])

export class TransferRegistry {
  readonly #active = new Map<string, ActiveTransfer>()
  readonly #activeByChannel = new Map<string, Set<string>>()
  readonly #finished = new Map<string, Transfer>()
  readonly #keepFinished: number

  constructor (keepFinished = 500) {
    this.#keepFinished = keepFinished
  }

  get (id: string): Transfer | undefined {
    return this.#active.get(id)?.record ?? this.#finished.get(id)
  }

  /** The transfer in progress with this id. */
  activeById (id: string): ActiveTransfer | undefined {
    return this.#active.get(id)
  }

  /** Active transfers involving this channel (agent, customer, consultation or target leg). */
  activeByChannel (channel: string): readonly ActiveTransfer[] {
    const ids = this.#activeByChannel.get(channel)
    // Most channels of a busy PBX are in no transfer: asked for every event, the answer allocates nothing.
    return ids === undefined ? NONE : [...ids].map((id) => this.#active.get(id) as ActiveTransfer)
  }

  active (): Transfer[] {
    return [...this.#active.values()].map((transfer) => transfer.record)
  }

  inProgress (): ActiveTransfer[] {
    return [...this.#active.values()]
  }

  get activeCount (): number {
    return this.#active.size
  }

  /**
   * Stores a new or changed record and keeps the indexes in step with it. A new record opens its
   * `ActiveTransfer` (with `dialTarget`, else a dial to its target extension); a final one disposes it.
   */
  save (record: Transfer, dialTarget?: DialTarget): ActiveTransfer | undefined {
    let transfer = this.#active.get(record.id)
    if (transfer === undefined) {
      if (this.#finished.has(record.id)) return undefined
      transfer = new ActiveTransfer(record, dialTarget ?? { exten: record.targetExtension, context: '', kind: 'free' })
      this.#active.set(record.id, transfer)
    } else {
      this.#unindex(transfer.record)
      transfer.record = record
    }
    if (isFinal(record.status)) {
      this.#finish(transfer)
      return transfer
    }
    for (const channel of channelsOf(record)) {
      let ids = this.#activeByChannel.get(channel)
      if (ids === undefined) this.#activeByChannel.set(channel, ids = new Set())
      ids.add(record.id)
    }
    return transfer
  }

  /** Forgets a transfer in progress that never started (another instance had its call): no trace of it is kept. */
  discard (id: string): void {
    const transfer = this.#active.get(id)
    if (transfer === undefined) return
    this.#unindex(transfer.record)
    transfer.dispose()
    this.#active.delete(id)
  }

  #unindex (transfer: Transfer): void {
    for (const channel of channelsOf(transfer)) {
      const ids = this.#activeByChannel.get(channel)
      ids?.delete(transfer.id)
      if (ids?.size === 0) this.#activeByChannel.delete(channel)
    }
  }

  #finish (transfer: ActiveTransfer): void {
    transfer.dispose()
    this.#active.delete(transfer.id)
    this.#finished.set(transfer.id, transfer.record)
    // Oldest first: a Map iterates in insertion order.
    for (const id of this.#finished.keys()) {
      if (this.#finished.size <= this.#keepFinished) break
      this.#finished.delete(id)
    }
  }
}
