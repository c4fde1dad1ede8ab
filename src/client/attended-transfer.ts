/**
 * An attended transfer in consultation, as a handle: the agent completes it, cancels it, swaps between
 * customer and target, joins all three, or looks again.
 */
import type { Transfer } from './types.js'

export interface TransferActionOptions {
  /** Sent as `Idempotency-Key`; a fresh one per call when not given. */
  idempotencyKey?: string
}

export interface AttendedTransfer {
  /** The transfer as the server last answered it: at the start, then after each complete/cancel/refresh. */
  readonly transfer: Transfer
  /** The agent leaves; the customer stays with the target. */
  complete: (options?: TransferActionOptions) => Promise<Transfer>
  /** The consultation ends (in a three-way: the target is dropped); the agent is back with the customer. */
  cancel: (options?: TransferActionOptions) => Promise<Transfer>
  /** Once the target answered: the agent goes over to the customer, or back to the target (`talkingTo`). */
  swap: (options?: TransferActionOptions) => Promise<Transfer>
  /** Once the target answered: customer, agent and target in one call (`three_way`). */
  threeWay: (options?: TransferActionOptions) => Promise<Transfer>
  refresh: () => Promise<Transfer>
}

export interface TransferActions {
  complete: (id: string, options?: TransferActionOptions) => Promise<Transfer>
  cancel: (id: string, options?: TransferActionOptions) => Promise<Transfer>
  swap: (id: string, options?: TransferActionOptions) => Promise<Transfer>
  threeWay: (id: string, options?: TransferActionOptions) => Promise<Transfer>
  get: (id: string) => Promise<Transfer>
}

export function attendedTransferHandle (started: Transfer, actions: TransferActions): AttendedTransfer {
  let current = started
  const keep = async (answer: Promise<Transfer>): Promise<Transfer> => {
    current = await answer
    return current
  }
  return {
    get transfer () { return current },
    complete: async (options) => await keep(actions.complete(current.id, options)),
    cancel: async (options) => await keep(actions.cancel(current.id, options)),
    swap: async (options) => await keep(actions.swap(current.id, options)),
    threeWay: async (options) => await keep(actions.threeWay(current.id, options)),
    refresh: async () => await keep(actions.get(current.id))
  }
}
