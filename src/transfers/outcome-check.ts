/**
 * Whether the PBX shows what an outcome reported by Asterisk's events means. Events alone mislead:
 * when the customer hangs up while the target still rings, Asterisk aborts the consultation and
 * sends `AttendedTransfer` Fail *before* the customer's `Hangup`, which reads like a cancel. So an
 * outcome is declared only once the bridges agree. Pure: the service takes the snapshots.
 */
import { localCounterpart } from '../asterisk/channel-name.js'
import type { CallSnapshot } from '../asterisk/pbx.js'
import { bridgedLocal, bridgedParty } from './call-topology.js'
import type { TransferInput } from './state.js'
import type { TransferType } from '../domain/transfer.js'

export interface OutcomeChannels {
  agent: string
  peer: string
  /** The consultation's Local half: the target's side while the target still rings. */
  consultation?: string
  target?: string
}

/** Outcomes that are checked on the bridges before they are applied. */
export type CheckedInput = Extract<TransferInput, { type: 'completed' | 'cancelled' | 'target_answered' | 'swapped' | 'three_way' }>

export type OutcomeCheck =
  /** The bridges show it. */
  | 'confirmed'
  /** The customer's channel is gone: whatever Asterisk said, the customer hung up. */
  | 'customer_gone'
  /** Not (yet) visible: channels may still be moving between bridges. */
  | 'not_yet'

/**
 * Completed, cancelled, swapped and three-way always; answered only for a blind transfer (an attended
 * one's answer is the consultation).
 */
export function needsCheck (type: TransferType, input: TransferInput): input is CheckedInput {
  switch (input.type) {
    case 'completed':
    case 'cancelled':
    case 'swapped':
    case 'three_way':
      return true
    case 'target_answered':
      return type === 'blind'
    default:
      return false
  }
}

export function checkOutcome (channels: OutcomeChannels, input: CheckedInput, snapshot: CallSnapshot): OutcomeCheck {
  if (!snapshot.channels.some((channel) => channel.name === channels.peer)) return 'customer_gone'
  if (input.type === 'three_way') return inThreeWay(channels, snapshot) ? 'confirmed' : 'not_yet'
  if (input.type === 'swapped') return agentWith(channels, input.talkingTo, snapshot) ? 'confirmed' : 'not_yet'
  const party = bridgedParty(snapshot, channels.peer)?.name
  return party !== undefined && partyShowsOutcome(channels, input.type, party) ? 'confirmed' : 'not_yet'
}

/**
 * Whether the party the customer is bridged with is where the outcome puts them: the agent for a cancel
 * (back with the customer); for an answer or a completion the target's leg, or any leg but the agent's
 * when it is not known. The CLI checks its own transfer's outcome with it too.
 */
export function partyShowsOutcome (channels: OutcomeChannels, outcome: 'cancelled' | 'completed' | 'target_answered', party: string): boolean {
  if (outcome === 'cancelled') return party === channels.agent
  // A Local half as the target stands for whoever is behind it: the bridged party is followed
  // through Local pairs, so it is never the half itself. It is what the tracker keeps when the far
  // half's Dial reached it before the customer's own DialBegin named the half (seen on a busy PBX, about
  // one blind transfer with recall in fifty): the answer was then confirmed only at the deadline.
  const target = channels.target === undefined || localCounterpart(channels.target) !== undefined ? undefined : channels.target
  return target === undefined ? party !== channels.agent : party === target
}

/**
 * A swap's picture: the agent with the customer (the target waits alone in the consultation), or with
 * the target's leg (through the consultation's Local pair) while the customer waits alone.
 */
function agentWith (channels: OutcomeChannels, side: 'customer' | 'target', snapshot: CallSnapshot): boolean {
  const customerParty = bridgedParty(snapshot, channels.peer)?.name
  if (side === 'customer') return customerParty === channels.agent
  if (customerParty === channels.agent) return false
  // With the consultation's Local half: the target's side, ringing or answered.
  if (channels.consultation !== undefined && bridgedLocal(snapshot, channels.agent) === channels.consultation) return true
  const agentParty = bridgedParty(snapshot, channels.agent)?.name
  if (agentParty === undefined || agentParty === channels.peer) return false
  return channels.target === undefined || agentParty === channels.target
}

/**
 * A three-way's picture: customer and agent share a bridge with a third party (the target's leg, or the
 * consultation's Local half until Asterisk optimises the pair away).
 */
function inThreeWay (channels: OutcomeChannels, snapshot: CallSnapshot): boolean {
  const idOf = (name: string): string | undefined => snapshot.channels.find((channel) => channel.name === name)?.id
  const [peer, agent] = [idOf(channels.peer), idOf(channels.agent)]
  if (peer === undefined || agent === undefined) return false
  return snapshot.bridges.some((bridge) => bridge.channelIds.includes(peer) && bridge.channelIds.includes(agent) && bridge.channelIds.length >= 3)
}
