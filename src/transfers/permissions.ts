/** Who may act on whose calls. Pure. */
import type { Identity } from '../identity.js'

/** Agents act on the calls of their own extension only; supervisors on any. */
export function mayActFor (identity: Identity, extension: string): boolean {
  return identity.role === 'supervisor' || identity.extension === extension
}
