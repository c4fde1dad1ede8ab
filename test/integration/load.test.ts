// Load on the real Asterisk 22 test bed: 100 customer calls up at once, each transferred (blind) at the
// same moment through the API. Every call must be transferred exactly once, every request answered, and
// no customer dropped. The throughput and the latency distribution are reported (as test comments).
import t from 'tap'
import { listBridges, listChannels } from '../helpers/asterisk/ari.js'
import { hangupAllCalls, waitFor } from '../helpers/asterisk/calls.js'
import { LOAD_CALLS_MAX, loadAgentOf as agentOf, loadTargetOf as targetOf, placeLoadCalls, registerLoadAgents, talksTo } from '../helpers/asterisk/load-agents.js'
import { startTransferHost } from '../helpers/transfer-host.js'

const CALLS = LOAD_CALLS_MAX

await hangupAllCalls()
const unregister = await registerLoadAgents(CALLS)
t.teardown(async () => {
  await hangupAllCalls({ timeoutMs: 30_000 })
  await unregister()
})

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number

t.test(`${CALLS} calls transferred at once: each exactly once, every request answered, no customer dropped`, async (t) => {
  const host = await startTransferHost({ rateLimit: false })
  t.teardown(host.close)
  /** Customer channel name by agent extension, once each call is bridged. */
  const customerOf = await placeLoadCalls(CALLS)
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
  const withTarget = new Set<number>()
  for (let i = 0; i < CALLS; i++) if (talksTo(channels, bridges, customerOf.get(agentOf(i)) as string, targetOf(i))) withTarget.add(i)
  t.equal(withTarget.size, CALLS, 'every customer is still there, with their own target')
  t.equal(channels.filter((channel) => /^PJSIP\/20[0-9][0-9]-/.test(channel.name) && Number(channel.name.slice(6, 10)) < 2100).length, 0, 'every transferring agent left')

  const sorted = answers.map((answer) => answer.ms).sort((a, b) => a - b)
  t.comment(`load: ${CALLS} transfers in ${elapsedMs.toFixed(0)} ms (${(CALLS / (elapsedMs / 1000)).toFixed(1)} transfers/s); ` +
    `latency ms p50 ${percentile(sorted, 50).toFixed(1)} p90 ${percentile(sorted, 90).toFixed(1)} p99 ${percentile(sorted, 99).toFixed(1)} max ${(sorted.at(-1) as number).toFixed(1)}`)
})
