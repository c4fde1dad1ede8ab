/**
 * The transfers the plugin knows, across every Asterisk server: those in progress as `ActiveTransfer`
 * objects, indexed by every channel they involve, keyed by (server, channel) (so an Asterisk event
 * finds its transfer in O(1)), and the most recent finished records, kept for `GET /transfers/:id`. A
 * transfer in progress is created here (`register`) and disposed here (`replace` with its final
 * record): its timers and buffers go with it.
 */
import { localCounterpart } from '../asterisk/channel-name.js'
import { channelKey, DEFAULT_SERVER } from '../domain/server.js'
import { isFinal, type Transfer } from '../domain/transfer.js'
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

/** The server a transfer's call is on. */
export function serverOf (transfer: Transfer): string {
  return transfer.server ?? DEFAULT_SERVER
}

/** The keys of every channel a transfer involves, on its server: what the shared store locks. */
export function channelKeysOf (transfer: Transfer): string[] {
  const server = serverOf(transfer)
  return channelsOf(transfer).map((channel) => channelKey(server, channel))
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

  /** Active transfers involving this channel of this server (agent, customer, consultation or target leg). */
  activeOn (server: string, channel: string): readonly ActiveTransfer[] {
    const ids = this.#activeByChannel.get(channelKey(server, channel))
    // Most channels of a busy PBX are in no transfer: asked for every event, the answer allocates nothing.
    return ids === undefined ? NONE : [...ids].map((id) => this.#active.get(id) as ActiveTransfer)
  }

  /** The records of the transfers in progress here. */
  activeRecords (): Transfer[] {
    return [...this.#active.values()].map((transfer) => transfer.record)
  }

  /** The transfers in progress here. */
  inProgress (): ActiveTransfer[] {
    return [...this.#active.values()]
  }

  get activeCount (): number {
    return this.#active.size
  }

  /**
   * A new transfer in progress, on its record's server: undefined when one with its id is known already
   * (in progress, or finished here).
   */
  register (record: Transfer, dialTarget: DialTarget): ActiveTransfer | undefined {
    if (this.#active.has(record.id) || this.#finished.has(record.id)) return undefined
    const transfer = new ActiveTransfer(record, serverOf(record), dialTarget)
    this.#active.set(record.id, transfer)
    this.#settle(transfer)
    return transfer
  }

  /** A transfer's changed record: the indexes follow it; a final one disposes the transfer. */
  replace (transfer: ActiveTransfer, record: Transfer): void {
    if (this.#active.get(record.id) !== transfer) return
    this.#unindex(transfer.record)
    transfer.record = record
    this.#settle(transfer)
  }

  #settle (transfer: ActiveTransfer): void {
    if (isFinal(transfer.record.status)) {
      this.#finish(transfer)
      return
    }
    for (const key of channelKeysOf(transfer.record)) {
      let ids = this.#activeByChannel.get(key)
      if (ids === undefined) this.#activeByChannel.set(key, ids = new Set())
      ids.add(transfer.id)
    }
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
    for (const key of channelKeysOf(transfer)) {
      const ids = this.#activeByChannel.get(key)
      ids?.delete(transfer.id)
      if (ids?.size === 0) this.#activeByChannel.delete(key)
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
