/** Who may see (and act on) a transfer: the agents it involves, and supervisors. Pure. */
import { canSee } from '../domain/visibility.js'
import type { Identity } from '../identity.js'
import type { Transfer } from '../domain/transfer.js'

/** The extensions a transfer concerns: the transferring agent, the target, and whoever asked. */
export function transferAudience (transfer: Transfer): string[] {
  return [...new Set([transfer.extension, transfer.targetExtension, transfer.requestedBy])]
}

export function canSeeTransfer (identity: Identity, transfer: Transfer): boolean {
  return canSee(identity, { extensions: transferAudience(transfer) })
}
