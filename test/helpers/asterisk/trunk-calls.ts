// Calls across the trunk between the test bed's two PBXes: placing one, and finding its two halves.
// The halves share nothing an AMI event names alike (uniqueids and linkedids are each server's own and
// may even collide), but the trunk channel on each side carries the same SIP Call-ID (verified on
// Asterisk 22.10.1: CHANNEL(pjsip,call-id), also published as BRIDGEPVTCALLID), so that is how the
// halves are matched here, never by timing or caller ID.
import { field, withAmi } from './ami.js'
import { listBridges, listChannels } from './ari.js'
import type { AriBridge, AriChannel } from './ari.js'
import type { ChannelRef } from './calls.js'
import { waitFor } from './calls.js'
import { pbx, pbx2, transferContext, trunks } from './testbed.js'
import type { PbxSettings } from './testbed.js'

/** One server's half of a call over the trunk. */
export interface TrunkLeg {
  server: PbxSettings
  /** PJSIP/<the other server's trunk endpoint>-… on this server. */
  trunkChannel: ChannelRef
  /** The SIP Call-ID of the trunk channel: the same on both halves. */
  callId: string
  /** What the trunk channel is bridged with on this server (absent while it is not in a bridge). */
  bridge?: { id: string, peers: ChannelRef[] }
}

export interface CallAcross {
  callId: string
  /** The half on the server the call came from (the caller bridged with the trunk). */
  from: TrunkLeg
  /** The half on the server it went to (the trunk bridged with the callee). */
  to: TrunkLeg
}

/** The other PBX of the test bed. */
export function otherPbx (server: PbxSettings): PbxSettings {
  return server.name === pbx.name ? pbx2 : pbx
}

/** The SIP Call-ID of a PJSIP channel on `server` (AMI Getvar of CHANNEL(pjsip,call-id)). */
export async function sipCallId (server: PbxSettings, channel: string): Promise<string> {
  return await withAmi(server.ami, async (ami) => {
    const res = await ami.action({ Action: 'Getvar', Channel: channel, Variable: 'CHANNEL(pjsip,call-id)' })
    const value = field(res, 'value') ?? ''
    if (value === '') throw new Error(`no SIP Call-ID on ${server.name} ${channel}`)
    return value
  })
}

function legOf (server: PbxSettings, trunk: AriChannel, callId: string, channels: AriChannel[], bridges: AriBridge[]): TrunkLeg {
  const bridge = bridges.find((b) => b.channels.includes(trunk.id))
  const ref = (c: AriChannel): ChannelRef => ({ id: c.id, name: c.name })
  const peers = bridge === undefined
    ? []
    : channels.filter((c) => c.id !== trunk.id && bridge.channels.includes(c.id)).map(ref)
  return { server, trunkChannel: ref(trunk), callId, ...(bridge !== undefined ? { bridge: { id: bridge.id, peers } } : {}) }
}

/** Every trunk channel on `server`, with its Call-ID and what it is bridged with. */
export async function trunkLegs (server: PbxSettings): Promise<TrunkLeg[]> {
  const [channels, bridges] = await Promise.all([listChannels(server.ari), listBridges(server.ari)])
  const prefix = `PJSIP/${trunks[server.name].endpoint}-`
  const trunkChannels = channels.filter((c) => c.name.startsWith(prefix))
  const legs: TrunkLeg[] = []
  for (const trunk of trunkChannels) {
    try {
      legs.push(legOf(server, trunk, await sipCallId(server, trunk.name), channels, bridges))
    } catch {
      // hung up meanwhile
    }
  }
  return legs
}

/** The half on the other server of the call that `leg` is one half of, found by its Call-ID. */
export async function otherHalf (leg: TrunkLeg): Promise<TrunkLeg | undefined> {
  return (await trunkLegs(otherPbx(leg.server))).find((other) => other.callId === leg.callId)
}

/**
 * Agent `agent` of `from` (the first PBX by default) calls `exten`, an agent of the other PBX, the way a
 * call dialed from the agent's phone runs: AMI Originate of PJSIP/<agent> (the farm's phone answers) into
 * `from`'s transfer context, whose dialplan sends `exten` over the trunk. Resolves once, on both servers,
 * the caller and the callee are bridged with the two halves of one trunk call.
 */
export async function agentCallsAcross (agent: string, exten: string, opts: { from?: PbxSettings, timeoutMs?: number } = {}): Promise<CallAcross> {
  const from = opts.from ?? pbx
  const to = otherPbx(from)
  await withAmi(from.ami, async (ami) => {
    await ami.action({
      Action: 'Originate',
      Channel: `PJSIP/${agent}`,
      Context: transferContext,
      Exten: exten,
      Priority: 1,
      Timeout: opts.timeoutMs ?? 10_000,
      Async: 'true'
    })
  })
  const bridgedWith = (leg: TrunkLeg | undefined, extension: string): boolean =>
    leg?.bridge?.peers.some((peer) => peer.name.startsWith(`PJSIP/${extension}-`)) === true
  return await waitFor(async () => {
    const caller = (await trunkLegs(from)).find((leg) => bridgedWith(leg, agent))
    if (caller === undefined) return undefined
    const callee = await otherHalf(caller)
    return callee !== undefined && bridgedWith(callee, exten) ? { callId: caller.callId, from: caller, to: callee } : undefined
  }, opts.timeoutMs ?? 10_000, `${from.name} ${agent} bridged over the trunk with ${to.name} ${exten}`)
}
