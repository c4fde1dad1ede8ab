/**
 * The transfers the plugin knows: active ones indexed by every channel they involve (so an Asterisk
 * event finds its transfer in O(1)), and the most recent finished ones, kept for `GET /transfers/:id`.
 */
import { localCounterpart } from '../asterisk/channel-name.js'
import type { Transfer } from '../domain/transfer.js'
import { isFinal } from './state.js'

function channelsOf (transfer: Transfer): string[] {
  const { agent, peer, consultation, target } = transfer.channels
  // The consultation's far half is the one that dials the target.
  const dialer = consultation === undefined ? undefined : localCounterpart(consultation)
  return [agent, peer, consultation, dialer, target].filter((name): name is string => name !== undefined)
}

export class TransferRegistry {
  readonly #byId = new Map<string, Transfer>()
  readonly #activeByChannel = new Map<string, Set<string>>()
  readonly #finished: string[] = []
  readonly #keepFinished: number

  constructor (keepFinished = 500) {
    this.#keepFinished = keepFinished
  }

  get (id: string): Transfer | undefined {
    return this.#byId.get(id)
  }

  /** Active transfers involving this channel (agent, customer, consultation or target leg). */
  activeByChannel (channel: string): Transfer[] {
    const ids = this.#activeByChannel.get(channel)
    return ids === undefined ? [] : [...ids].map((id) => this.#byId.get(id) as Transfer)
  }

  active (): Transfer[] {
    return [...this.#byId.values()].filter((transfer) => !isFinal(transfer.status))
  }

  /** Stores a new or changed transfer and keeps the indexes in step with it. */
  save (transfer: Transfer): void {
    const previous = this.#byId.get(transfer.id)
    if (previous !== undefined) this.#unindex(previous)
    this.#byId.set(transfer.id, transfer)
    if (!isFinal(transfer.status)) {
      for (const channel of channelsOf(transfer)) {
        let ids = this.#activeByChannel.get(channel)
        if (ids === undefined) this.#activeByChannel.set(channel, ids = new Set())
        ids.add(transfer.id)
      }
    } else if (previous === undefined || !isFinal(previous.status)) {
      this.#retire(transfer.id)
    }
  }

  #unindex (transfer: Transfer): void {
    for (const channel of channelsOf(transfer)) {
      const ids = this.#activeByChannel.get(channel)
      ids?.delete(transfer.id)
      if (ids?.size === 0) this.#activeByChannel.delete(channel)
    }
  }

  #retire (id: string): void {
    this.#finished.push(id)
    while (this.#finished.length > this.#keepFinished) this.#byId.delete(this.#finished.shift() as string)
  }
}
