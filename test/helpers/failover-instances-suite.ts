// Two instances of the example app sharing Redis that fails over, on the real Asterisk 22 test bed: through
// Sentinel (a master, a replica, three sentinels, down after 1 s) or on a Redis Cluster (three masters each
// with a replica, node timeout 1 s), the master serving the transfers SIGKILLed while they work: in the
// middle of a consultation that then completes through the other instance; and while 20 transfers are
// executed over both. Each instance talks to AMI through a recording proxy, so the actions Asterisk
// received are counted: no customer redirected twice.
import { setTimeout as sleep } from 'node:timers/promises'
import type { Test } from 'tap'
import { startAmiRecordingProxy, type AmiRecordingProxy } from './ami-recording-proxy.js'
import { listBridges, listChannels } from './asterisk/ari.js'
import { bridgePeersOf, callAgent, hangupAllCalls, waitFor } from './asterisk/calls.js'
import { loadAgentOf, loadTargetOf, placeLoadCalls, registerLoadAgents, talksTo } from './asterisk/load-agents.js'
import { agents, offlineAgent, pbx } from './asterisk/testbed.js'
import { startApp, type AppProcess, type AppResponse } from './app-process.js'
import { connectFeed } from './feed-client.js'
import type { RedisServer } from './redis-process.js'
import { failoverTarget } from './redis-topologies.js'
import type { FeedEnvelope } from '../../src/index.js'

export async function failoverInstancesSuite (t: Test, kind: 'sentinel' | 'cluster'): Promise<void> {
  // Two app processes, two failovers, and 20 load calls registered and placed.
  t.setTimeout(300_000)

  const CALLS = 20
  const target = await failoverTarget(kind)
  const label = kind === 'sentinel' ? 'the Sentinel master' : 'the cluster\'s master of the transfers'
  /** The master serving the transfers' slot (through Sentinel: the master). */
  const transfersMaster = async (): Promise<RedisServer> => await target.masterOf('{transfers}')
  // The load agents and their targets are agents of the app too: the policy transfers only to agents.
  const agentExtensions = [...agents, offlineAgent, ...Array.from({ length: CALLS }, (_, i) => [loadAgentOf(i), loadTargetOf(i)]).flat()]
  const proxies: AmiRecordingProxy[] = []
  const instance = async (name: string): Promise<AppProcess> => {
    const proxy = await startAmiRecordingProxy(pbx.ami)
    proxies.push(proxy)
    return await startApp({
      name,
      env: {
        ...target.env,
        AMI_HOST: '127.0.0.1',
        AMI_PORT: String(proxy.port),
        AGENT_EXTENSIONS: agentExtensions.join(',')
      }
    })
  }
  const [a, b] = await Promise.all([instance('A'), instance('B')])
  t.teardown(async () => {
    await Promise.all([a.stop(), b.stop()])
    for (const proxy of proxies) await proxy.close()
    await target.stop()
  })
  await hangupAllCalls()
  t.afterEach(async (t) => {
    await hangupAllCalls({ timeoutMs: 30_000 })
    if (!t.passing()) t.comment(`app A (${a.logFile}):\n${a.logTail(20)}\napp B (${b.logFile}):\n${b.logTail(20)}`)
  })

  // ------------------------------------------------------------------------------------------ helpers

  /** The AMI actions both instances sent, from each proxy's record: `{ action, channel }`. */
  const amiActions = (): Array<{ action: string, channel: string }> => proxies.flatMap((proxy) =>
    proxy.written().split(/\r?\n\r?\n/).flatMap((block) => {
      const action = /^action:\s*(.*)$/im.exec(block)?.[1]?.trim()
      return action === undefined ? [] : [{ action: action.toLowerCase(), channel: /^channel:\s*(.*)$/im.exec(block)?.[1]?.trim() ?? '' }]
    }))

  const dataOf = (event: FeedEnvelope): { id?: string, status?: string } => event.data as { id?: string, status?: string }

  /** One answer of the API and how long it took. */
  interface Attempt { statusCode: number, code?: string, sentAt: number, ms: number }

  /**
   * Sends `request` until it is answered 200 (or `timeoutMs` passes), every 200 ms, as a client that retries
   * a 503 does. Every attempt is kept: the test checks that each refusal was a 503 XFER_STORE_UNAVAILABLE
   * answered at once.
   */
  async function untilAccepted (request: () => Promise<AppResponse>, timeoutMs = 30_000): Promise<{ response: AppResponse, attempts: Attempt[], acceptedAt: number }> {
    const attempts: Attempt[] = []
    const deadline = performance.now() + timeoutMs
    for (;;) {
      const sent = performance.now()
      const response = await request()
      const code = response.statusCode === 200 ? undefined : String(JSON.parse(response.body).code)
      attempts.push({ statusCode: response.statusCode, code, sentAt: sent, ms: performance.now() - sent })
      if (response.statusCode === 200 || code !== 'XFER_STORE_UNAVAILABLE' || performance.now() > deadline) return { response, attempts, acceptedAt: performance.now() }
      await sleep(200)
    }
  }

  const refusals = (attempts: Attempt[]): Attempt[] => attempts.filter((attempt) => attempt.statusCode !== 200)
  const describe = (attempts: Attempt[]): string => attempts.map((attempt) => `${attempt.statusCode}${attempt.code === undefined ? '' : ` ${attempt.code}`} in ${attempt.ms.toFixed(0)} ms`).join(', ')

  /** The killed master back as a replica in sync (see FailoverTarget), and both instances ready again. */
  async function restartAsReplica (killed: RedisServer): Promise<void> {
    await target.restartAsReplica(killed)
    await waitFor(async () => await a.readiness() === 200 && await b.readiness() === 200, 20_000, 'A and B ready')
  }

  const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number

  // ---------------------------------------------------------------------------------------- scenarios

  t.test(`${label} killed mid-consultation: the transfer completes through the other instance`, async (t) => {
    const onA = await connectFeed(a.baseUrl, a.tokenOf('super'))
    t.teardown(onA.close)
    const call = await callAgent('101')
    const started = await a.as('101', { method: 'POST', url: '/api/transfers/execute', payload: { targetExtension: '103', transferType: 'attended' } })
    t.equal(started.statusCode, 200, started.body)
    const id = String(started.json().id)
    await onA.waitFor('103 answering', (event) => dataOf(event).id === id && dataOf(event).status === 'target_answered')
    const before = await transfersMaster()

    const killed = before
    await killed.kill()
    const killedAt = performance.now()
    t.equal(killed.port, before.port, 'the master was killed')
    const { response, attempts, acceptedAt } = await untilAccepted(async () => await b.as('101', { method: 'POST', url: `/api/transfers/${id}/complete` }))
    t.comment(`completed through B ${(acceptedAt - killedAt).toFixed(0)} ms after the master was killed; before: ${describe(refusals(attempts)) || 'no refusal'}`)
    t.equal(response.statusCode, 200, response.body)
    t.equal(response.json().status, 'completed')
    t.ok(refusals(attempts).length > 0, 'refused while the master was gone (down after 1 s, then an election)')
    t.same(refusals(attempts).filter((attempt) => attempt.code !== 'XFER_STORE_UNAVAILABLE').map((attempt) => `${attempt.statusCode} ${String(attempt.code)}`), [], 'every refusal a 503 XFER_STORE_UNAVAILABLE')
    t.ok(refusals(attempts).every((attempt) => attempt.ms < 1000), `each refusal at once, never held to a timeout: ${describe(refusals(attempts))}`)
    const promoted = await transfersMaster()
    t.not(promoted.port, killed.port, 'the replica was promoted')

    t.ok((await bridgePeersOf(call.customerChannel.id)).some((name) => name.startsWith('PJSIP/103-')), 'the customer talks to 103')
    t.ok(await waitFor(async () => (await listChannels()).every((channel) => channel.id !== call.agentChannel.id), 5000, 'the agent gone'), 'the agent left the call')
    await waitFor(async () => (await a.as('super', { method: 'GET', url: `/api/transfers/${id}` })).json().status === 'completed', 10_000, 'A, the owner, knowing it completed')
    const atxfers = amiActions().filter((action) => action.action === 'atxfer' && action.channel === call.agentChannel.name)
    t.equal(atxfers.length, 1, 'one consultation started on the agent\'s channel')
    t.equal(amiActions().filter((action) => action.action === 'redirect' && action.channel === call.customerChannel.name).length, 0, 'the customer never redirected')
    await onA.waitFor('completed on A\'s feed', (event) => dataOf(event).id === id && dataOf(event).status === 'completed', 10_000)
    const ofTransfer = onA.received.filter((event) => dataOf(event).id === id && event.type !== 'call:status').map((event) => `${event.type}:${String(dataOf(event).status)}`)
    t.same(ofTransfer, [
      'call:transfer_initiated:initiated',
      'call:ami_attended_transfer_started:consulting',
      'call:transfer_updated:target_answered',
      'call:ami_attended_transfer_completed:completed'
    ], 'each event of the transfer once, in order, across the failover')
    const ids = onA.received.filter((event) => !event.type.startsWith('feed:')).map((event) => event.id)
    t.ok(ids.every((feedId, i) => i === 0 || feedId > (ids[i - 1] as number)), 'feed ids only go up')

    await restartAsReplica(killed)
  })

  t.test(`${label} killed while 20 transfers are executed over two instances: each customer transferred once, none dropped`, async (t) => {
    const unregister = await registerLoadAgents(CALLS)
    t.teardown(unregister)
    const customerOf = await placeLoadCalls(CALLS)
    for (const app of [a, b]) {
      await waitFor(async () => ((await app.as('super', { method: 'GET', url: '/api/calls' })).json().calls as unknown[]).length >= 2 * CALLS, 20_000, `${app.name} seeing every call`)
    }
    const before = await transfersMaster()
    const redirectsBefore = amiActions().filter((action) => action.action === 'redirect').length

    // One request every 25 ms, alternately to A and B, each retried on 503 with its own Idempotency-Key;
    // the master is killed as the ninth is sent, while the first ones are being executed.
    const run = Date.now()
    let killedAt = 0
    let killed: RedisServer | undefined
    const results = await Promise.all(Array.from({ length: CALLS }, async (_, i) => {
      await sleep(i * 25)
      const app = i % 2 === 0 ? a : b
      if (i === 8) {
        void before.kill().then(() => {
          killed = before
          killedAt = performance.now()
        })
      }
      const payload = { extension: loadAgentOf(i), targetExtension: loadTargetOf(i), transferType: 'blind' }
      const headers = { 'idempotency-key': `sentinel-kill-${run}-${i}` }
      return { i, app: app.name, ...await untilAccepted(async () => await app.as('super', { method: 'POST', url: '/api/transfers/execute', payload, headers })) }
    }))
    t.equal(killed?.port, before.port, 'the master was killed')

    const notAccepted = results.filter((result) => result.response.statusCode !== 200)
    t.same(notAccepted.map((result) => `${result.i} on ${result.app}: ${result.response.statusCode} ${result.response.body}`), [], 'every request accepted in the end')
    const allRefusals = results.flatMap((result) => refusals(result.attempts))
    t.same(allRefusals.filter((attempt) => attempt.statusCode !== 503 || attempt.code !== 'XFER_STORE_UNAVAILABLE').map((attempt) => `${attempt.statusCode} ${String(attempt.code)}`), [], 'every refusal a 503 XFER_STORE_UNAVAILABLE')
    t.ok(allRefusals.length > 0, 'some requests were refused during the failover')
    const refusalMs = allRefusals.map((attempt) => attempt.ms).sort((x, y) => x - y)
    t.ok(refusalMs.every((ms) => ms < 1000), `each refusal at once: ${describe(allRefusals)}`)
    const firstAfter = Math.min(...results.filter((result) => refusals(result.attempts).length > 0).map((result) => result.acceptedAt)) - killedAt
    t.comment(`${allRefusals.length} refusals answered in median ${percentile(refusalMs, 0.5).toFixed(1)} ms, max ${(refusalMs.at(-1) as number).toFixed(1)} ms; ` +
      `${results.filter((result) => refusals(result.attempts).length > 0).length} requests retried; the first of them accepted ${firstAfter.toFixed(0)} ms after the kill`)
    const inFlight = results.flatMap((result) => result.attempts).filter((attempt) => attempt.sentAt < killedAt && attempt.sentAt + attempt.ms > killedAt)
    t.comment(`at the kill: ${results.filter((result) => result.acceptedAt < killedAt).length} transfers accepted before, ${inFlight.length} requests in flight (${describe(inFlight) || 'none'})`)
    const ids = results.map((result) => String(result.response.json().id))
    t.equal(new Set(ids).size, CALLS, 'one transfer per call')

    await waitFor(async () => {
      const states = await Promise.all(ids.map(async (id) => (await a.as('super', { method: 'GET', url: `/api/transfers/${id}` })).json().status))
      return states.every((status) => status === 'answered')
    }, 60_000, 'every transfer answered')
    const [channels, bridges] = await Promise.all([listChannels(), listBridges()])
    const withTarget = Array.from({ length: CALLS }, (_, i) => i).filter((i) => talksTo(channels, bridges, customerOf.get(loadAgentOf(i)) as string, loadTargetOf(i)))
    t.equal(withTarget.length, CALLS, 'every customer is still there, with their own target')
    const redirects = amiActions().filter((action) => action.action === 'redirect').slice(redirectsBefore)
    const perCustomer = [...customerOf.values()].map((customer) => redirects.filter((action) => action.channel === customer).length)
    t.same(perCustomer, Array.from({ length: CALLS }, () => 1), 'each customer redirected exactly once')
    t.equal(redirects.length, CALLS, 'no other Redirect')

    if (killed !== undefined) await restartAsReplica(killed)
  })
}
