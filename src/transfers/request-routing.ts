/**
 * Where a request for a transfer this instance does not follow must go, with several instances: to
 * the instance that owns it, or here after taking it over. Pure: `cluster-ownership.ts` acts on it.
 * A transfer over, or not in a state for the action, is refused here without asking its owner.
 */
import type { FoundTransfer } from '../store/transfer-store.js'
import { isFinal, type TransferStatus } from '../domain/transfer.js'

export type Route =
  /** Refused here: over, not attended, or not in a state for the action. */
  | { kind: 'refuse' }
  /** Its owner acts (it alone follows the calls). */
  | { kind: 'owner', owner: string }
  /**
   * Taken over here, then acted on: nobody owns it (its owner's lease ran out), or it is recorded as
   * this instance's though not followed here (it lost track of it; `from` names this instance).
   */
  | { kind: 'take_over', from?: string }

export function routeRequest (found: FoundTransfer, instanceId: string, allowed: (state: TransferStatus) => boolean): Route {
  const { record } = found.stored
  if (isFinal(record.status) || record.type !== 'attended' || !allowed(record.status)) return { kind: 'refuse' }
  if (found.owner === undefined) return { kind: 'take_over' }
  if (found.owner === instanceId) return { kind: 'take_over', from: instanceId }
  return { kind: 'owner', owner: found.owner }
}
