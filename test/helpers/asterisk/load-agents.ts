// The test bed's load agents (2000..2199, provision.sh): many simultaneous customer calls, each with an
// agent of its own, for the tests that transfer many calls at once. The farm registers them only while a
// test asks for them, so that every other test sees the agents it expects.
import { copyFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { withAmi } from './ami.js'
import { listBridges, listChannels, listEndpoints } from './ari.js'
import type { AriBridge, AriChannel } from './ari.js'
import { waitFor } from './calls.js'
import { asteriskRoot, customers, farm } from './testbed.js'

/** How many load agents the test bed has: call i rings 2000+i and is transferred to 2100+i (i < 100). */
export const LOAD_CALLS_MAX = 100
export const loadAgentOf = (i: number): string => String(2000 + i)
export const loadTargetOf = (i: number): string => String(2100 + i)

const farmEtc = join(asteriskRoot, 'etc', 'asterisk-farm')
const loadRegistrations = Array.from({ length: 2 * LOAD_CALLS_MAX }, (_, i) => `reg-${2000 + i}`)

async function reloadFarmRegistrations (): Promise<void> {
  await withAmi(farm.ami, async (ami) => {
    await ami.action({ Action: 'Command', Command: 'module reload res_pjsip.so' })
    await ami.action({ Action: 'Command', Command: 'module reload res_pjsip_outbound_registration.so' })
  })
}

/**
 * Registers the load agents on the farm and waits until the PBX sees the first `calls` of them and their
 * targets online; resolves with what unregisters them (Expires: 0, so the PBX shows them offline at
 * once) and makes the farm forget them.
 */
export async function registerLoadAgents (calls: number): Promise<() => Promise<void>> {
  copyFileSync(join(farmEtc, 'pjsip-load.conf'), join(farmEtc, 'pjsip-load-active.conf'))
  await reloadFarmRegistrations()
  const unregister = async (): Promise<void> => {
    await withAmi(farm.ami, async (ami) => {
      for (const registration of loadRegistrations) await ami.action({ Action: 'PJSIPUnregister', Registration: registration }).catch(() => {})
    })
    rmSync(join(farmEtc, 'pjsip-load-active.conf'), { force: true })
    await reloadFarmRegistrations()
  }
  const wanted = new Set(Array.from({ length: calls }, (_, i) => [loadAgentOf(i), loadTargetOf(i)]).flat())
  await waitFor(async () => (await listEndpoints()).filter((endpoint) => wanted.has(endpoint.resource) && endpoint.state === 'online').length === wanted.size,
    60_000, `the ${wanted.size} load agents registered`)
  return unregister
}

/**
 * Places `calls` customer calls, call i to load agent 2000+i, and resolves once each is bridged with its
 * agent: the customer's channel name by agent extension.
 */
export async function placeLoadCalls (calls: number): Promise<Map<string, string>> {
  await withAmi(farm.ami, async (ami) => {
    for (let i = 0; i < calls; i++) {
      await ami.action({ Action: 'Originate', Channel: `PJSIP/${loadAgentOf(i)}@${customers[i % customers.length]}`, Application: 'Wait', Data: '3600', Timeout: 30_000, Async: 'true' })
    }
  })
  return await waitFor(async () => {
    const [channels, bridges] = await Promise.all([listChannels(), listBridges()])
    const byId = new Map(channels.map((channel) => [channel.id, channel.name]))
    const pairs = new Map<string, string>()
    for (const bridge of bridges) {
      const names = bridge.channels.map((id) => byId.get(id) ?? '')
      const agent = names.find((name) => /^PJSIP\/20\d\d-/.test(name))
      const customer = names.find((name) => /^PJSIP\/customer\d-/.test(name))
      if (agent !== undefined && customer !== undefined && names.length === 2) pairs.set(agent.slice(6, 10), customer)
    }
    return pairs.size === calls && pairs
  }, 60_000, `${calls} bridged customer calls`)
}

/**
 * Whether `customer` (a channel name) is in a call with `target`'s phone. With transfer recall the customer
 * dialed the target through a Local pair: followed to the far half's bridge.
 */
export function talksTo (channels: AriChannel[], bridges: AriBridge[], customer: string, target: string): boolean {
  const byId = new Map(channels.map((channel) => [channel.id, channel.name]))
  const customerId = channels.find((channel) => channel.name === customer)?.id
  const bridge = bridges.find((candidate) => customerId !== undefined && candidate.channels.includes(customerId))
  const near = bridge?.channels.map((id) => byId.get(id) ?? '').find((name) => /^Local\/.*;1$/.test(name))
  const farId = near === undefined ? undefined : channels.find((channel) => channel.name === near.replace(/;1$/, ';2'))?.id
  const far = farId === undefined ? bridge : bridges.find((candidate) => candidate.channels.includes(farId))
  return far?.channels.some((id) => (byId.get(id) ?? '').startsWith(`PJSIP/${target}-`)) === true
}
