/**
 * A blind transfer to an agent of another server of the pool is answered when both servers show it:
 * on the customer's server the customer bridged with the trunk leg (`outcome-check.ts`), and on the
 * target's server the target bridged with the inbound leg of this very call. The two legs are one SIP
 * dialog, so they carry the same Call-ID (`CHANNEL(pjsip,call-id)`): the halves are matched by it,
 * never by timing or caller ID.
 */
import { isChannelOf } from '../asterisk/channel-name.js'
import type { CallSnapshot } from '../asterisk/pbx.js'
import type { Transfer } from '../domain/transfer.js'
import { bridgedParty, findAgentCall } from './call-topology.js'

/** What the check needs of a server: its name, its calls from memory, a channel's variable, its next event. */
export interface CheckedServer {
  name: string
  snapshotOf: (extension: string) => CallSnapshot | undefined
  getVariable: (channel: string, name: string) => Promise<string>
  /** Resolves once its next event has been applied, or after `ms`. */
  nextEventOr?: (ms: number) => Promise<void>
}

/**
 * The check for one server's engine; `nextEventThere` waits for the next event of the target's server,
 * where the missing half of an answer shows (not this server's: nothing more happens here).
 */
export type AcrossCheck = ((transfer: { record: Transfer }, snapshot: CallSnapshot) => Promise<boolean | undefined>) & {
  nextEventThere?: (transfer: { record: Transfer }, ms: number) => Promise<void>
}

export const CALL_ID = 'CHANNEL(pjsip,call-id)'

/**
 * undefined: nothing to check across (the target is on the customer's server, or the leg is the
 * target's own phone); true: the target's server shows the target bridged with this call's inbound
 * leg; false: not (yet).
 */
export async function checkAcross (transfer: Pick<Transfer, 'channels' | 'targetExtension'>, snapshot: CallSnapshot, here: CheckedServer, target: CheckedServer | undefined, technology: string): Promise<boolean | undefined> {
  if (target === undefined || target.name === here.name) return undefined
  const leg = bridgedParty(snapshot, transfer.channels.peer)?.name
  if (leg === undefined || isChannelOf(leg, technology, transfer.targetExtension)) return undefined
  const there = target.snapshotOf(transfer.targetExtension)
  const inbound = there === undefined ? undefined : findAgentCall(there, technology, transfer.targetExtension)?.peer?.name
  if (inbound === undefined) return false
  const [outgoing, incoming] = await Promise.all([here.getVariable(leg, CALL_ID), target.getVariable(inbound, CALL_ID)])
  return outgoing !== '' && outgoing === incoming
}

/** The check for the engine of `server`: the target's server is the one its agent belongs to. */
export function acrossThePool (server: string, serverNamed: (name: string) => CheckedServer | undefined, options: {
  agentServer?: (extension: string) => Promise<string | undefined> | string | undefined
  channelTechnology: string
}): AcrossCheck {
  const targetServer = async (record: Transfer): Promise<CheckedServer | undefined> => serverNamed(await options.agentServer?.(record.targetExtension) ?? '')
  const check = async ({ record }: { record: Transfer }, snapshot: CallSnapshot): Promise<boolean | undefined> => {
    const here = serverNamed(server)
    if (here === undefined) return undefined
    return await checkAcross(record, snapshot, here, await targetServer(record), options.channelTechnology)
  }
  const nextEventThere = async ({ record }: { record: Transfer }, ms: number): Promise<void> => {
    const there = await targetServer(record)
    await (there?.nextEventOr?.(ms) ?? new Promise((resolve) => setTimeout(resolve, ms)))
  }
  return Object.assign(check, { nextEventThere })
}
