/**
 * What an agent does with an attended transfer in consultation, on its Asterisk: complete, cancel,
 * swap, three-way. Each acts (`consultation-controls.ts`) and then waits until the transfer's events
 * show the result: the transfer over, or the swap and three-way done. Refused without acting when the
 * transfer is not in a state for it, or another action on it is under way.
 */
import type { Pbx } from '../asterisk/pbx.js'
import type { Transfer } from '../domain/transfer.js'
import { TransferNotFoundError, TransferStateError } from '../errors.js'
import type { Identity } from '../identity.js'
import { cancelConsultation, completeConsultation, controlSettled, pressControl, type ConsultationControl } from './consultation-controls.js'
import { isFinal, type TransferStatus } from '../domain/transfer.js'
import { canCancel, canComplete, canSwap, canThreeWay } from './state.js'
import type { TransferLedger } from './transfer-ledger.js'
import type { TransferPolicy } from './transfer-policy.js'

export type ConsultationAction = 'complete' | 'cancel' | ConsultationControl

/** In which states each action may be asked. */
export const ALLOWED: Record<ConsultationAction, (state: TransferStatus) => boolean> = {
  complete: canComplete,
  cancel: canCancel,
  swap: canSwap,
  three_way: canThreeWay
}

/** The state, for a refusal: why the transfer cannot be completed or cancelled now. */
export function describeState (transfer: Transfer): string {
  if (transfer.type !== 'attended') return `${transfer.type} and ${transfer.status}`
  if (transfer.status === 'consulting') return `consulting: ${transfer.targetExtension} has not answered yet (cancel, or complete once it answers)`
  return `attended and ${transfer.status}`
}

export class ConsultationActions {
  readonly #pbx: Pbx
  readonly #ledger: TransferLedger
  readonly #policy: TransferPolicy
  readonly #settleTimeoutMs: number
  readonly #beforeComplete: ((transfer: Transfer) => Promise<void>) | undefined

  /** `beforeComplete` runs right before a complete is sent (the customer's recording starts: `recording-follower.ts`). */
  constructor (pbx: Pbx, ledger: TransferLedger, policy: TransferPolicy, settleTimeoutMs: number, beforeComplete?: (transfer: Transfer) => Promise<void>) {
    this.#pbx = pbx
    this.#ledger = ledger
    this.#policy = policy
    this.#settleTimeoutMs = settleTimeoutMs
    this.#beforeComplete = beforeComplete
  }

  async act (action: ConsultationAction, id: string, identity?: Identity): Promise<Transfer> {
    switch (action) {
      case 'complete': return await this.#settle(id, identity, action, async (transfer) => {
        await this.#beforeComplete?.(transfer)
        await completeConsultation(this.#pbx, transfer)
      })
      case 'cancel': return await this.#settle(id, identity, action, async (transfer) => { await this.#cancel(transfer) })
      default: return await this.#settle(id, identity, action, async (transfer) => { await pressControl(this.#pbx, transfer.channels.agent, action) },
        (before, now) => controlSettled(action, before, now))
    }
  }

  async #cancel (record: Transfer): Promise<void> {
    // The abort that follows is then a cancel, whatever else happens around it (see tracker.ts).
    const active = this.#ledger.activeById(record.id)
    if (active !== undefined) active.tracking.cancelRequested = true
    try {
      await cancelConsultation(this.#pbx, record)
    } catch (error) {
      if (active !== undefined) active.tracking.cancelRequested = false
      throw error
    }
    if (active !== undefined) this.#ledger.share(active)
  }

  /** Acts on a transfer in consultation and waits until it `settled` (by default: it is over). */
  async #settle (id: string, identity: Identity | undefined, action: ConsultationAction, act: (transfer: Transfer) => Promise<void>,
    settled: (before: Transfer, now: Transfer) => boolean = (_, now) => isFinal(now.status)): Promise<Transfer> {
    const record = this.#ledger.get(id)
    if (record === undefined) throw new TransferNotFoundError(id)
    if (identity !== undefined) this.#policy.assertMayAct(identity, record.extension)
    const transfer = this.#ledger.activeById(id)
    if (transfer === undefined || record.type !== 'attended' || !ALLOWED[action](record.status)) throw new TransferStateError(id, describeState(record))
    const settling = transfer.trySettle()
    if (settling === undefined) throw new TransferStateError(id, 'already being completed, cancelled, swapped or joined')
    try {
      const abandon = new AbortController()
      const finished = this.#ledger.waitFor(id, (now) => settled(record, now), abandon.signal, this.#settleTimeoutMs)
      finished.catch(() => {})
      try {
        await act(record)
      } catch (error) {
        abandon.abort()
        throw error
      }
      return await finished
    } finally {
      settling.end()
    }
  }
}
