/**
 * What the bridges show of an attended transfer a previous run of the host app left in progress, for
 * the restorer (`consultation-restorer.ts`): a consultation, a three-way, or a consultation the agent
 * swapped away from, and which agent's record owns a held consultation. Pure: every shape is
 * unit-tested.
 */
import { localCounterpart, parseChannelName } from '../asterisk/channel-name.js'
import type { CallSnapshot } from '../asterisk/pbx.js'
import { bridgedLocal, bridgedParty, bridgeMates } from './call-topology.js'

/** A consultation or three-way found on the bridges after a restart. */
export interface FoundConsultation {
  status: 'consulting' | 'target_answered' | 'three_way'
  channels: { consultation?: string, target?: string }
  talkingTo?: 'customer'
}

/** Whether an agent's channel may be in a consultation (a Local half with it) or a three-way (two others with it). */
export function mayBeInConsultation (snapshot: CallSnapshot, agent: string): boolean {
  return bridgedLocal(snapshot, agent) !== undefined || bridgeMates(snapshot, agent).length >= 2
}

/** Near halves of consultations (Local ;1) alone in their bridge: held while their agent is elsewhere. */
export function loneConsultationHalves (snapshot: CallSnapshot): string[] {
  const nameOf = new Map(snapshot.channels.map((channel) => [channel.id, channel.name]))
  return snapshot.bridges
    .filter((bridge) => bridge.channelIds.length === 1)
    .map((bridge) => nameOf.get(bridge.channelIds[0] as string))
    .filter((name): name is string => name !== undefined && parseChannelName(name)?.localHalf === 1 &&
      snapshot.channels.some((channel) => channel.name === localCounterpart(name)))
}

/** A consultation the agent swapped away from: the target answered when its leg is bridged with the far half. */
export function swappedAwayFrom (snapshot: CallSnapshot, half: string): FoundConsultation {
  const far = localCounterpart(half) as string
  const target = bridgedParty(snapshot, far)?.name
  return target === undefined
    ? { status: 'consulting', channels: { consultation: half }, talkingTo: 'customer' }
    : { status: 'target_answered', channels: { consultation: half, target }, talkingTo: 'customer' }
}

/** A consultation: the agent talks with the consultation's near half; the customer holds, in a bridge of its own. */
export function consultationOf (snapshot: CallSnapshot, agent: string, peer: string): FoundConsultation | undefined {
  const consultation = bridgedLocal(snapshot, agent)
  const customerHere = snapshot.channels.some((channel) => channel.name === peer)
  if (consultation === undefined || !customerHere || bridgedParty(snapshot, peer)?.name === agent) return undefined
  return { status: 'consulting', channels: { consultation } }
}

/**
 * A three-way: customer and agent in one bridge with a third party, the target's leg or the
 * consultation's near half (until Asterisk optimises the Local pair away; the target is then behind it).
 */
export function threeWayOf (snapshot: CallSnapshot, agent: string, peer: string): FoundConsultation | undefined {
  const mates = bridgeMates(snapshot, agent)
  const third = mates.find((channel) => channel.name !== peer)
  if (mates.length !== 2 || third === undefined || !mates.some((channel) => channel.name === peer)) return undefined
  const far = localCounterpart(third.name)
  if (far === undefined) return { status: 'three_way', channels: { target: third.name } }
  const target = bridgedParty(snapshot, far)?.name
  return { status: 'three_way', channels: target === undefined ? { consultation: third.name } : { consultation: third.name, target } }
}

/** What the agent's channel is in: a three-way first (its bridge holds a Local half too, until Asterisk optimises the pair away). */
export function foundOnBridges (snapshot: CallSnapshot, agent: string, peer: string): FoundConsultation | undefined {
  return threeWayOf(snapshot, agent, peer) ?? consultationOf(snapshot, agent, peer)
}

/**
 * Which agent owns each held consultation half, from the candidates whose record could own it: a
 * record left behind by a transfer that ended while no host followed it could claim another agent's
 * half, so a half two records could own is owned by nobody (`contested`).
 */
export function ownersOfHalves<C> (candidates: ReadonlyMap<string, readonly C[]>): { owned: Array<[string, C]>, contested: Array<[string, readonly C[]]> } {
  const owned: Array<[string, C]> = []
  const contested: Array<[string, readonly C[]]> = []
  for (const [half, owners] of candidates) {
    const [owner] = owners
    if (owners.length === 1 && owner !== undefined) owned.push([half, owner])
    else contested.push([half, owners])
  }
  return { owned, contested }
}
