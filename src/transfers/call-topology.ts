/**
 * Who talks to whom, from a snapshot of channels and bridges. Pure: no I/O, so every shape of call
 * (direct, through Local channels, conference, not yet answered) is unit-tested.
 */
import { isChannelOf, localCounterpart, parseChannelName } from '../asterisk/channel-name.js'
import type { PbxBridge, PbxChannel } from '../asterisk/ari-client.js'
import type { CallSnapshot } from '../asterisk/pbx.js'

export interface AgentCall {
  agent: PbxChannel
  /** The bridge the agent's channel is in, when it is in one. */
  bridgeId?: string
  /** The real party at the other end: Local channels in between are followed to their far side. */
  peer?: PbxChannel
  /** Why there is no single peer, when there is none. */
  noPeerReason?: string
}

/** Local channel pairs chained more deeply than this are treated as a loop. */
const MAX_LOCAL_HOPS = 4

function bridgeOf (bridges: PbxBridge[], channelId: string): PbxBridge | undefined {
  return bridges.find((bridge) => bridge.channelIds.includes(channelId))
}

/** The agent's channels, best first: bridged before not bridged, Up before other states, newest first. */
function rankAgentChannels (snapshot: CallSnapshot, technology: string, extension: string): PbxChannel[] {
  const score = (channel: PbxChannel): number =>
    (bridgeOf(snapshot.bridges, channel.id) !== undefined ? 2 : 0) + (channel.state === 'Up' ? 1 : 0)
  return snapshot.channels
    .filter((channel) => isChannelOf(channel.name, technology, extension))
    .sort((a, b) => score(b) - score(a) || b.createdAt.localeCompare(a.createdAt))
}

/** Follows `from` across its bridge (and through Local pairs) to the single real party on the other side. */
function farParty (snapshot: CallSnapshot, from: PbxChannel): { peer?: PbxChannel, reason?: string } {
  const byId = new Map(snapshot.channels.map((channel) => [channel.id, channel]))
  const byName = new Map(snapshot.channels.map((channel) => [channel.name, channel]))
  let near = from
  for (let hop = 0; hop <= MAX_LOCAL_HOPS; hop++) {
    const bridge = bridgeOf(snapshot.bridges, near.id)
    if (bridge === undefined) return { reason: 'the call is not bridged (not answered yet, or on hold alone)' }
    const others = bridge.channelIds.filter((id) => id !== near.id)
    if (others.length !== 1) {
      return { reason: others.length === 0 ? 'no other party is in the bridge' : `${others.length + 1} parties share the bridge` }
    }
    const other = byId.get(others[0] as string)
    if (other === undefined) return { reason: 'the other party vanished' }
    const counterpartName = localCounterpart(other.name)
    if (counterpartName === undefined) return { peer: other }
    const counterpart = byName.get(counterpartName)
    if (counterpart === undefined) return { reason: `the far half of ${other.name} is gone` }
    near = counterpart
  }
  return { reason: 'too many Local channels chained' }
}

export function findAgentCall (snapshot: CallSnapshot, technology: string, extension: string): AgentCall | undefined {
  const [agent] = rankAgentChannels(snapshot, technology, extension)
  if (agent === undefined) return undefined
  const bridge = bridgeOf(snapshot.bridges, agent.id)
  const { peer, reason } = farParty(snapshot, agent)
  const call: AgentCall = { agent }
  if (bridge !== undefined) call.bridgeId = bridge.id
  if (peer !== undefined) call.peer = peer
  if (reason !== undefined) call.noPeerReason = reason
  return call
}

/** The real party bridged with the named channel (through Local pairs), if there is exactly one. */
export function bridgedParty (snapshot: CallSnapshot, channelName: string): PbxChannel | undefined {
  const channel = snapshot.channels.find((candidate) => candidate.name === channelName)
  return channel === undefined ? undefined : farParty(snapshot, channel).peer
}

/**
 * Who the agent talks to, for the target's screen: the agent's connected line is Asterisk's own answer
 * (it follows answers and transfers); the peer's caller id when the line says nothing.
 */
export function callerOf (agent: PbxChannel, peer: PbxChannel): { number: string, name?: string } | undefined {
  const [number, name] = agent.connectedNumber !== ''
    ? [agent.connectedNumber, agent.connectedName]
    : [peer.callerNumber, peer.callerName]
  if (number === '') return undefined
  return name === undefined || name === '' ? { number } : { number, name }
}

/** The other channels in the named channel's bridge (none when it is not bridged). */
export function bridgeMates (snapshot: CallSnapshot, channelName: string): PbxChannel[] {
  const channel = snapshot.channels.find((candidate) => candidate.name === channelName)
  const bridge = channel === undefined ? undefined : bridgeOf(snapshot.bridges, channel.id)
  if (channel === undefined || bridge === undefined) return []
  const ids = new Set(bridge.channelIds)
  return snapshot.channels.filter((candidate) => candidate.id !== channel.id && ids.has(candidate.id))
}

/** The `Local/...;1` half in the same bridge as the named channel: an agent's consultation, if any. */
export function bridgedLocal (snapshot: CallSnapshot, channelName: string): string | undefined {
  return bridgeMates(snapshot, channelName).find((candidate) => parseChannelName(candidate.name)?.localHalf === 1)?.name
}

/**
 * The leg a Local half stands for as a transfer's target: the party bridged with the customer, once it
 * is neither the agent nor another Local half. Undefined when the target is no Local half, or the
 * bridges do not show the leg behind it yet.
 */
export function legBehindLocalTarget (snapshot: CallSnapshot, channels: { agent: string, peer: string, target?: string }): string | undefined {
  if (channels.target === undefined || localCounterpart(channels.target) === undefined) return undefined
  const behind = bridgedParty(snapshot, channels.peer)?.name
  if (behind === undefined || behind === channels.agent || localCounterpart(behind) !== undefined) return undefined
  return behind
}
