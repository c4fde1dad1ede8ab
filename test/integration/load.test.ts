// Load on the real Asterisk 22 test bed: 100 customer calls up at once, each transferred (blind) at the
// same moment through the API. Every call must be transferred exactly once, every request answered, and
// no customer dropped. The throughput and the latency distribution are reported (as test comments).
import { copyFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { withAmi } from '../helpers/asterisk/ami.js'
import { listBridges, listChannels, listEndpoints } from '../helpers/asterisk/ari.js'
import { hangupAllCalls, waitFor } from '../helpers/asterisk/calls.js'
import { asteriskRoot, customers, farm } from '../helpers/asterisk/testbed.js'
import { startTransferHost } from '../helpers/transfer-host.js'

const CALLS = 100
/** Load agents 2000..2199 (provision.sh): call i rings 2000+i and is transferred to 2100+i. */
const agentOf = (i: number): string => String(2000 + i)
const targetOf = (i: number): string => String(2100 + i)

const farmEtc = join(asteriskRoot, 'etc', 'asterisk-farm')
const loadRegistrations = Array.from({ length: 2 * CALLS }, (_, i) => `reg-${2000 + i}`)

/** The farm registers the load agents only for this test: every other test sees the agents it expects. */
async function reloadFarmRegistrations (): Promise<void> {
  await withAmi(farm.ami, async (ami) => {
    await ami.action({ Action: 'Command', Command: 'module reload res_pjsip.so' })
    await ami.action({ Action: 'Command', Command: 'module reload res_pjsip_outbound_registration.so' })
  })
}

await hangupAllCalls()
copyFileSync(join(farmEtc, 'pjsip-load.conf'), join(farmEtc, 'pjsip-load-active.conf'))
await reloadFarmRegistrations()
t.teardown(async () => {
  await hangupAllCalls({ timeoutMs: 30_000 })
  // Unregistered (Expires: 0), so the PBX shows them offline at once, then forgotten by the farm.
  await withAmi(farm.ami, async (ami) => {
    for (const registration of loadRegistrations) await ami.action({ Action: 'PJSIPUnregister', Registration: registration }).catch(() => {})
  })
  rmSync(join(farmEtc, 'pjsip-load-active.conf'), { force: true })
  await reloadFarmRegistrations()
})

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number

t.test(`${CALLS} calls transferred at once: each exactly once, every request answered, no customer dropped`, async (t) => {
  const host = await startTransferHost({ rateLimit: false })
  t.teardown(host.close)
  const loadAgents = new Set(Array.from({ length: 2 * CALLS }, (_, i) => String(2000 + i)))
  await waitFor(async () => (await listEndpoints()).filter((endpoint) => loadAgents.has(endpoint.resource) && endpoint.state === 'online').length === loadAgents.size,
    60_000, 'the 200 load agents registered')

  await withAmi(farm.ami, async (ami) => {
    for (let i = 0; i < CALLS; i++) {
      await ami.action({ Action: 'Originate', Channel: `PJSIP/${agentOf(i)}@${customers[i % customers.length]}`, Application: 'Wait', Data: '3600', Timeout: 30_000, Async: 'true' })
    }
  })
  /** Customer channel name by agent extension, once each call is bridged. */
  const customerOf = await waitFor(async () => {
    const [channels, bridges] = await Promise.all([listChannels(), listBridges()])
    const byId = new Map(channels.map((channel) => [channel.id, channel.name]))
    const pairs = new Map<string, string>()
    for (const bridge of bridges) {
      const names = bridge.channels.map((id) => byId.get(id) ?? '')
      const agent = names.find((name) => /^PJSIP\/20\d\d-/.test(name))
      const customer = names.find((name) => /^PJSIP\/customer\d-/.test(name))
      if (agent !== undefined && customer !== undefined && names.length === 2) pairs.set(agent.slice(6, 10), customer)
    }
    return pairs.size === CALLS && pairs
  }, 60_000, `${CALLS} bridged customer calls`)
  // The plugin's call monitor knows every call before the burst.
  await waitFor(async () => ((await host.as('super', { method: 'GET', url: '/api/calls' })).json().calls as unknown[]).length >= 2 * CALLS, 20_000, 'the monitor sees every call')

  const started = performance.now()
  const answers = await Promise.all(Array.from({ length: CALLS }, async (_, i) => {
    const sent = performance.now()
    const response = await host.as('super', { method: 'POST', url: '/api/transfers/execute', payload: { extension: agentOf(i), targetExtension: targetOf(i), transferType: 'blind' } })
    return { i, statusCode: response.statusCode, body: response.json(), ms: performance.now() - sent }
  }))
  const elapsedMs = performance.now() - started
  const refused = answers.filter((answer) => answer.statusCode !== 200)
  t.same(refused.map((answer) => `${answer.i}: ${answer.statusCode} ${JSON.stringify(answer.body)}`), [], 'every request answered 200')
  t.equal(new Set(answers.map((answer) => answer.body.id)).size, CALLS, 'one transfer per call')

  const ids = answers.map((answer) => String(answer.body.id))
  const finals = await waitFor(async () => {
    const states = await Promise.all(ids.map(async (id) => (await host.as('super', { method: 'GET', url: `/api/transfers/${id}` })).json()))
    return states.every((state) => state.status === 'answered') && states
  }, 60_000, 'every transfer answered')
  t.equal(finals.length, CALLS)

  const [channels, bridges] = await Promise.all([listChannels(), listBridges()])
  const byId = new Map(channels.map((channel) => [channel.id, channel.name]))
  const withTarget = new Set<number>()
  for (let i = 0; i < CALLS; i++) {
    const customer = customerOf.get(agentOf(i)) as string
    const customerId = channels.find((channel) => channel.name === customer)?.id
    const bridge = bridges.find((candidate) => customerId !== undefined && candidate.channels.includes(customerId))
    // With transfer recall the customer dialed the target through a Local pair: follow it to the far half's bridge.
    const near = bridge?.channels.map((id) => byId.get(id) ?? '').find((name) => /^Local\/.*;1$/.test(name))
    const farId = near === undefined ? undefined : channels.find((channel) => channel.name === near.replace(/;1$/, ';2'))?.id
    const far = farId === undefined ? bridge : bridges.find((candidate) => candidate.channels.includes(farId))
    if (far?.channels.some((id) => (byId.get(id) ?? '').startsWith(`PJSIP/${targetOf(i)}-`)) === true) withTarget.add(i)
  }
  t.equal(withTarget.size, CALLS, 'every customer is still there, with their own target')
  t.equal(channels.filter((channel) => /^PJSIP\/20[0-9][0-9]-/.test(channel.name) && Number(channel.name.slice(6, 10)) < 2100).length, 0, 'every transferring agent left')

  const sorted = answers.map((answer) => answer.ms).sort((a, b) => a - b)
  t.comment(`load: ${CALLS} transfers in ${elapsedMs.toFixed(0)} ms (${(CALLS / (elapsedMs / 1000)).toFixed(1)} transfers/s); ` +
    `latency ms p50 ${percentile(sorted, 50).toFixed(1)} p90 ${percentile(sorted, 90).toFixed(1)} p99 ${percentile(sorted, 99).toFixed(1)} max ${(sorted.at(-1) as number).toFixed(1)}`)
})
