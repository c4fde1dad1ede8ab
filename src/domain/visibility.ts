/**
 * Who may see which feed event: an agent follows its own calls and transfers (and what concerns
 * everyone, like the Asterisk connection), a supervisor follows the whole call center.
 */
import type { Identity } from '../identity.js'

/** Who an event is for: everyone, or the agents it concerns (and every supervisor). */
export type Audience = 'everyone' | { extensions: readonly string[] }

export function canSee (identity: Identity, audience: Audience): boolean {
  if (identity.role === 'supervisor' || audience === 'everyone') return true
  return audience.extensions.includes(identity.extension)
}
