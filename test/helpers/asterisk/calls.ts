// Call helpers for integration tests against the running test bed (see asterisk-process.ts).
// They use AMI (asterisk-manager) and ARI (fetch) directly, never the plugin's own code, and open
// a connection per call, closing it before returning, so tap processes can exit.
import { setTimeout as sleep } from 'node:timers/promises'
import { AmiError, field, withAmi } from './ami.js'
import type { AmiMessage } from './ami.js'
import { listBridges, listChannels } from './ari.js'
import type { AriBridge, AriChannel } from './ari.js'
import { farm, pbx, pbx2CustomerEndpoint, pbxes, salesQueue } from './testbed.js'
import type { PbxSettings } from './testbed.js'

export interface ChannelRef {
  id: string
  name: string
}

export interface CustomerCall {
  /** PJSIP/customerN-xxxxxxxx on the PBX */
  customerChannel: ChannelRef
  /** PJSIP/<agent>-xxxxxxxx on the PBX */
  agentChannel: ChannelRef
  /** id of the bridge on the PBX holding both */
  bridgeId: string
}

/**
 * Polls predicate until it returns a value other than undefined/null/false and resolves with it.
 * Errors thrown by the predicate are retried; the last one is quoted in the timeout error.
 */
export async function waitFor<T> (
  predicate: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs: number,
  what: string,
  intervalMs = 100
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const v = await predicate()
      if (v !== undefined && v !== null && v !== false) return v
      lastError = undefined
    } catch (err) {
      lastError = err
    }
    if (Date.now() >= deadline) {
      const why = lastError === undefined ? '' : ` (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})`
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${why}`)
    }
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())))
  }
}

function matches (ch: AriChannel, nameOrId: string): boolean {
  return ch.id === nameOrId || ch.name === nameOrId
}

function summary (channels: AriChannel[], bridges: AriBridge[]): string {
  const chans = channels.map((c) => `${c.name}(${c.state})`).join(', ')
  const brs = bridges.map((b) => `${b.id.slice(0, 8)}:[${b.channels.map((id) => channels.find((c) => c.id === id)?.name ?? id).join(', ')}]`).join(' ')
  return `channels: ${chans === '' ? 'none' : chans}; bridges: ${brs === '' ? 'none' : brs}`
}

/** The PBX channel (on `server`, the first PBX by default) with this name or uniqueid, or undefined. */
export async function findChannel (nameOrId: string, server: PbxSettings = pbx): Promise<AriChannel | undefined> {
  return (await listChannels(server.ari)).find((c) => matches(c, nameOrId))
}

/** True when a channel with this name or uniqueid exists on the PBX (on `server`, the first by default). */
export async function channelExists (nameOrId: string, server: PbxSettings = pbx): Promise<boolean> {
  return (await findChannel(nameOrId, server)) !== undefined
}

export interface CallOptions {
  /** How long to wait for the bridged call (default 10 s). */
  timeoutMs?: number
  /**
   * The customer side on the farm sends audio (Milliwatt) instead of silence (Wait). Pair with
   * setAgentMedia(true) for audio both ways; with media flowing Asterisk optimizes Local pairs away.
   */
  media?: boolean
  /**
   * The PBX the customer calls into (default the first). On the second PBX the farm's endpoint
   * pbx2-<customer> places the call and the PBX sees PJSIP/<customer>-….
   */
  server?: PbxSettings
}

/**
 * Places a call from the farm's customer endpoint to an extension of the PBX's from-customers
 * context and resolves once, on the PBX, the new customer channel and a new agent channel are Up
 * and in the same bridge. isAgent picks the agent channel by name.
 */
async function placeCustomerCall (exten: string, customer: string, isAgent: (name: string) => boolean, what: string, opts: CallOptions): Promise<CustomerCall> {
  const timeoutMs = opts.timeoutMs ?? 10_000
  const server = opts.server ?? pbx
  const before = new Set((await listChannels(server.ari)).map((c) => c.id))
  await withAmi(farm.ami, async (ami) => {
    await ami.action({
      Action: 'Originate',
      Channel: `PJSIP/${exten}@${server === pbx ? customer : pbx2CustomerEndpoint(customer)}`,
      Application: opts.media === true ? 'Milliwatt' : 'Wait',
      Data: opts.media === true ? '' : '3600',
      Timeout: timeoutMs,
      Async: 'true'
    })
  })
  let last = ''
  try {
    return await waitFor(async () => {
      const [channels, bridges] = await Promise.all([listChannels(server.ari), listBridges(server.ari)])
      last = summary(channels, bridges)
      const fresh = channels.filter((c) => !before.has(c.id) && c.state === 'Up')
      const customers = fresh.filter((c) => c.name.startsWith(`PJSIP/${customer}-`))
      const agentsUp = fresh.filter((c) => isAgent(c.name))
      for (const b of bridges) {
        const cust = customers.find((c) => b.channels.includes(c.id))
        const agent = agentsUp.find((c) => b.channels.includes(c.id))
        if (cust !== undefined && agent !== undefined) {
          return {
            customerChannel: { id: cust.id, name: cust.name },
            agentChannel: { id: agent.id, name: agent.name },
            bridgeId: b.id
          }
        }
      }
      return undefined
    }, timeoutMs, what)
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}; ${server.name} ${last}`)
  }
}

/**
 * Places a customer call from the farm to an agent and resolves once, on the PBX, the customer
 * channel (PJSIP/<customer>-…) and the agent channel (PJSIP/<agentExt>-…) are Up and share a bridge.
 * The agent "phone" on the farm auto-answers; the customer side on the farm runs Wait(3600).
 */
export async function callAgent (agentExt: string, customer = 'customer1', opts: CallOptions = {}): Promise<CustomerCall> {
  return await placeCustomerCall(agentExt, customer, (name) => name.startsWith(`PJSIP/${agentExt}-`),
    `a bridged call ${customer} <-> ${agentExt} on ${opts.server?.name ?? pbx.name}`, opts)
}

/**
 * Places a customer call into queue "sales" (ring-all 104 and 105) and resolves once the customer
 * is bridged with whichever member answered (PJSIP/104-… or PJSIP/105-…).
 */
export async function callQueue (customer = 'customer1', opts: CallOptions = {}): Promise<CustomerCall> {
  const members = salesQueue.members.map((m) => `PJSIP/${m}-`)
  return await placeCustomerCall(salesQueue.exten, customer, (name) => members.some((m) => name.startsWith(m)),
    `a bridged queue call ${customer} <-> ${salesQueue.members.join('|')} on the PBX`, opts)
}

/**
 * Whether agent phones answered from now on send audio (AMI Setvar of the farm's global
 * AGENT_MEDIA). Off after every start of the test bed.
 */
export async function setAgentMedia (on: boolean): Promise<void> {
  await withAmi(farm.ami, async (ami) => {
    await ami.action({ Action: 'Setvar', Variable: 'AGENT_MEDIA', Value: on ? 'yes' : 'no' })
  })
}

/**
 * How many seconds agent phones ring before they answer from now on (AMI Setvar of the farm's
 * global AGENT_ANSWER_DELAY; 0 answers at once). 0 after every start of the test bed.
 */
export async function setAgentAnswerDelay (seconds: number): Promise<void> {
  await withAmi(farm.ami, async (ami) => {
    await ami.action({ Action: 'Setvar', Variable: 'AGENT_ANSWER_DELAY', Value: String(seconds) })
  })
}

/** Local/x@ctx-0001;1 <-> Local/x@ctx-0001;2 */
function localPartnerName (name: string): string | undefined {
  const m = /^(Local\/.+);([12])$/.exec(name)
  if (m === null) return undefined
  return `${m[1] ?? ''};${m[2] === '1' ? '2' : '1'}`
}

/**
 * Names of the channels bridged with the given PBX channel, following Local channel pairs to the
 * real far party: if the channel is bridged with Local/…;1, the result holds what Local/…;2 is
 * bridged with (recursively). A Local half whose partner is not in a bridge (e.g. still dialing)
 * is reported as the partner's name. Empty when the channel is not in a bridge; throws when it
 * does not exist.
 */
export async function bridgePeersOf (channelNameOrId: string, server: PbxSettings = pbx): Promise<string[]> {
  const [channels, bridges] = await Promise.all([listChannels(server.ari), listBridges(server.ari)])
  const start = channels.find((c) => matches(c, channelNameOrId))
  if (start === undefined) throw new Error(`bridgePeersOf: no channel ${channelNameOrId} on ${server.name}`)
  const byId = new Map(channels.map((c) => [c.id, c]))
  const byName = new Map(channels.map((c) => [c.name, c]))
  const bridgeOf = (id: string): AriBridge | undefined => bridges.find((b) => b.channels.includes(id))
  const visited = new Set<string>([start.id])
  const result: string[] = []

  const peers = (ch: AriChannel): void => {
    const bridge = bridgeOf(ch.id)
    if (bridge === undefined) return
    for (const id of bridge.channels) {
      if (visited.has(id)) continue
      visited.add(id)
      const other = byId.get(id)
      if (other === undefined) continue
      const partnerName = localPartnerName(other.name)
      const partner = partnerName !== undefined ? byName.get(partnerName) : undefined
      if (partner === undefined) {
        result.push(other.name)
        continue
      }
      if (visited.has(partner.id)) continue
      visited.add(partner.id)
      if (bridgeOf(partner.id) === undefined) result.push(partner.name)
      else peers(partner)
    }
  }
  peers(start)
  return result
}

/** Hangs up a PBX channel (name or uniqueid; on the first PBX by default) with AMI Hangup; throws "No such channel" if absent. */
export async function hangup (channelNameOrId: string, server: PbxSettings = pbx): Promise<void> {
  await withAmi(server.ami, async (ami) => {
    await ami.action({ Action: 'Hangup', Channel: channelNameOrId, Cause: 16 })
  })
}

async function farmChannelCount (): Promise<number> {
  return await withAmi(farm.ami, async (ami) => {
    const r = await ami.list({ Action: 'CoreShowChannels' })
    return r.events.filter((e) => field(e, 'event') === 'CoreShowChannel').length
  })
}

/** Hangs up every PJSIP and Local channel on both PBXes and on the farm and waits until none is left. */
export async function hangupAllCalls (opts: { timeoutMs?: number } = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 10_000
  const hangupAll = async (settings: typeof pbx.ami, channels = '/^(PJSIP|Local)/'): Promise<void> => {
    await withAmi(settings, async (ami) => {
      const res: AmiMessage = await ami.send({ Action: 'Hangup', Channel: channels, Cause: 16 })
      const r = (field(res, 'response') ?? '').toLowerCase()
      if (r !== 'success') throw new AmiError(`Hangup /regex/ failed: ${field(res, 'message') ?? r}`, res)
    })
  }
  // The Local channels (a consultation's halves, a recall's dial) first, and only then the phones:
  // Asterisk 22 crashed (bridge_basic.c, "Unexpected stimulus 'Transfer Target Hangup' received in
  // attended transfer state 'Blond Non-Final'", then a failed assertion and a segfault) when an
  // attended transfer's agent and its consultation were hung up in the same instant.
  const localsGone = async (server: PbxSettings): Promise<boolean> =>
    (await listChannels(server.ari)).every((channel) => !channel.name.startsWith('Local/'))
  await Promise.all(pbxes.map(async (server) => { await hangupAll(server.ami, '/^Local/') }))
  await waitFor(async () => (await Promise.all(pbxes.map(localsGone))).every(Boolean), 2000, 'the Local channels gone', 50).catch(() => undefined)
  await Promise.all([...pbxes.map(async (server) => { await hangupAll(server.ami) }), hangupAll(farm.ami)])
  let last = ''
  await waitFor(async () => {
    const [seen, farmCount] = await Promise.all([
      Promise.all(pbxes.map(async (server) => {
        const [channels, bridges] = await Promise.all([listChannels(server.ari), listBridges(server.ari)])
        return { server, channels, bridges }
      })),
      farmChannelCount()
    ])
    last = `${seen.map(({ server, channels, bridges }) => `${server.name} ${summary(channels, bridges)}`).join('; ')}; farm channels: ${farmCount}`
    if (seen.every(({ channels }) => channels.length === 0) && farmCount === 0) return true
    // Channels created meanwhile (e.g. a Dial still in progress) get hung up on the next round.
    for (const { server, channels } of seen) {
      if (channels.length > 0) await hangupAll(server.ami).catch(() => undefined)
    }
    if (farmCount > 0) await hangupAll(farm.ami).catch(() => undefined)
    return false
  }, timeoutMs, 'no channels left on the PBXes and the farm', 200).catch((err: unknown) => {
    throw new Error(`${err instanceof Error ? err.message : String(err)}; ${last}`)
  })
}
