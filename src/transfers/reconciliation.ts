/**
 * What a transfer in progress has become, judged from the PBX alone: after a reconnect (events were
 * lost while the plugin was blind), on the reconciliation timer, and at a deadline. Pure: the service
 * takes the snapshot and applies the answer to the state machine.
 *
 * - Its customer's channel is gone: the transfer is lost, `asterisk_restarted` when Asterisk restarted
 *   in between (every channel died with it), else `call_ended`.
 * - Blind, redirected: the customer bridged with another party than the agent is `answered`.
 * - Attended: the agent gone and the customer bridged with someone else is `completed`; the agent
 *   back with the customer and no consultation left is `cancelled`; the target's leg bridged with the
 *   consultation while it was still `consulting` is `target_answered`. A three-way the same way: the
 *   agent gone is `completed`, the agent alone with the customer (the target gone) is `cancelled`.
 * - Anything else is still going on as far as the bridges show: no change.
 */
import type { CallSnapshot } from '../asterisk/pbx.js'
import { localCounterpart } from '../asterisk/channel-name.js'
import { bridgedParty } from './call-topology.js'
import type { TransferInput } from './state.js'
import type { TrackedTransfer } from './tracker.js'

export interface ReconcileContext {
  /** Asterisk restarted since the transfer was last seen (its start time changed across a reconnect). */
  restarted: boolean
}

export function reconcile (transfer: TrackedTransfer, snapshot: CallSnapshot, context: ReconcileContext): TransferInput | undefined {
  const { agent, peer, consultation } = transfer.channels
  const names = new Set(snapshot.channels.map((channel) => channel.name))
  if (!names.has(peer)) return { type: 'lost', reason: context.restarted ? 'asterisk_restarted' : 'call_ended' }
  const party = bridgedParty(snapshot, peer)?.name
  if (transfer.type === 'blind') {
    return transfer.status === 'redirected' && party !== undefined && party !== agent ? { type: 'target_answered' } : undefined
  }
  if (transfer.status !== 'consulting' && transfer.status !== 'target_answered' && transfer.status !== 'three_way') return undefined
  if (!names.has(agent)) return party !== undefined ? { type: 'completed' } : undefined
  const consultationAlive = consultation !== undefined && (names.has(consultation) || names.has(localCounterpart(consultation) ?? ''))
  if (party === agent && !consultationAlive) return { type: 'cancelled' }
  if (transfer.status === 'consulting' && consultation !== undefined) {
    const far = localCounterpart(consultation)
    const targetParty = far === undefined ? undefined : bridgedParty(snapshot, far)?.name
    if (targetParty !== undefined && targetParty !== agent && targetParty !== peer) return { type: 'target_answered' }
  }
  return undefined
}
