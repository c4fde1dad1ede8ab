/**
 * A transfer to an agent of another server of the pool is confirmed on both servers: on the customer's
 * server by its own bridges (`outcome-check.ts`), and on the target's server by the target bridged with
 * the inbound leg of this very call. The two legs of the trunk are one SIP dialog, so they carry the
 * same Call-ID (`CHANNEL(pjsip,call-id)`): the halves are matched by it, never by timing or caller ID.
 * Once matched, the far half is named in the record (`across`: its inbound leg and the target's own
 * channel), and later outcomes are checked on those channels directly:
 *
 * - answered (blind or attended), completed, swapped, three-way: the target is still bridged there
 *   with this call's inbound leg;
 * - cancelled: this call's inbound leg is gone there (the consultation ended on both servers); a
 *   target's server that cannot be seen has nothing of the customer's, so the customer's server decides.
 */
import { isChannelOf, localCounterpart } from '../asterisk/channel-name.js'
import type { CallSnapshot } from '../asterisk/pbx.js'
import type { Transfer } from '../domain/transfer.js'
import { bridgedParty, findAgentCall } from './call-topology.js'
import type { CheckedInput } from './outcome-check.js'

/** What the check needs of a server: its name, its calls, and a channel's variable. */
export interface CheckedServer {
  name: string
  /** At least one of its links is up. */
  reachable: () => boolean
  /** One extension's calls (memory once in sync, else ARI). */
  callsOf: (extension: string) => Promise<CallSnapshot>
  /** The named channels and what they are bridged with (memory once in sync, else ARI). */
  around: (names: readonly string[]) => Promise<CallSnapshot>
  getVariable: (channel: string, name: string) => Promise<string>
  /** Resolves at the server's next event, or after `ms`. */
  nextEventOr?: (ms: number) => Promise<void>
  /** Whether a transfer created at `createdAt` began before this server last restarted. */
  predatesRestart: (createdAt: string) => boolean
}

export const CALL_ID = 'CHANNEL(pjsip,call-id)'

export type Across = NonNullable<Transfer['across']>

/**
 * undefined: nothing to check across (the target is on the customer's server, or the leg is the
 * target's own phone); `seen`: whether the target's server shows the outcome, with the far half as
 * found (to record).
 */
export type AcrossCheck = undefined | { seen: false } | { seen: true, across: Across }

type Checked = Pick<Transfer, 'type' | 'channels' | 'targetExtension' | 'across'>

/**
 * The trunk leg of this call on the customer's server: the consultation's dialled leg (attended), or
 * the party the customer is bridged with (blind). Undefined when it is a Local half or the target's own
 * phone (the target is on this server).
 */
function legHere (transfer: Checked, snapshot: CallSnapshot, technology: string): string | undefined {
  const leg = transfer.type === 'attended' ? transfer.channels.target : bridgedParty(snapshot, transfer.channels.peer)?.name
  if (leg === undefined || localCounterpart(leg) !== undefined || isChannelOf(leg, technology, transfer.targetExtension)) return undefined
  return leg
}

export async function checkAcross (input: CheckedInput['type'], transfer: Checked, snapshot: CallSnapshot, here: CheckedServer, there: CheckedServer | undefined, technology: string): Promise<AcrossCheck> {
  if (there === undefined || there.name === here.name) return undefined
  const known = transfer.across?.inbound === undefined ? undefined : transfer.across
  if (input === 'cancelled') {
    if (known === undefined || !there.reachable()) return undefined
    const gone = !(await there.around([known.inbound as string])).channels.some((channel) => channel.name === known.inbound)
    return gone ? { seen: true, across: known } : { seen: false }
  }
  if (known !== undefined) {
    const far = await there.around([known.inbound as string])
    return bridgedParty(far, known.inbound as string)?.name === known.target ? { seen: true, across: known } : { seen: false }
  }
  const leg = legHere(transfer, snapshot, technology)
  if (leg === undefined) return undefined
  const call = findAgentCall(await there.callsOf(transfer.targetExtension), technology, transfer.targetExtension)
  const inbound = call?.peer?.name
  if (call === undefined || inbound === undefined) return { seen: false }
  const [outgoing, incoming] = await Promise.all([here.getVariable(leg, CALL_ID), there.getVariable(inbound, CALL_ID)])
  return outgoing !== '' && outgoing === incoming ? { seen: true, across: { server: there.name, inbound, target: call.agent.name } } : { seen: false }
}

export interface CheckAcrossFor {
  (input: CheckedInput['type'], transfer: { record: Transfer }, snapshot: CallSnapshot): Promise<AcrossCheck>
  /** Waits for the target's server's next event (what may change the check), or `ms`; false: no such server to wait on. */
  nextChange?: (transfer: { record: Transfer }, ms: number) => Promise<boolean>
}

/** The check for the engine of `server`: the target's server is the one named in the record, else the one its agent belongs to. */
export function acrossThePool (server: string, serverNamed: (name: string) => CheckedServer | undefined, options: {
  agentServer?: (extension: string) => Promise<string | undefined> | string | undefined
  channelTechnology: string
}): CheckAcrossFor {
  const targetServer = async (record: Transfer): Promise<CheckedServer | undefined> =>
    serverNamed(record.across?.server ?? await options.agentServer?.(record.targetExtension) ?? '')
  const check = async (input: CheckedInput['type'], { record }: { record: Transfer }, snapshot: CallSnapshot): Promise<AcrossCheck> => {
    const here = serverNamed(server)
    if (here === undefined) return undefined
    return await checkAcross(input, record, snapshot, here, await targetServer(record), options.channelTechnology)
  }
  const nextChange = async ({ record }: { record: Transfer }, ms: number): Promise<boolean> => {
    const there = await targetServer(record)
    if (there?.nextEventOr === undefined) return false
    await there.nextEventOr(ms)
    return true
  }
  return Object.assign(check, { nextChange })
}
