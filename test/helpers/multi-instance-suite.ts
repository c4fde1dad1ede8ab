// Two instances of the example app, A and B, sharing Redis, on the real Asterisk 22 test bed: what a
// call center behind a load balancer relies on. A transfer started on one is completed or cancelled on
// the other; an Idempotency-Key and the per-call lock hold across both; the feed is one log whose ids
// mean the same on both; an instance killed mid-consultation is taken over; a phone's own transfer is
// reported once; both restarted one after the other lose nothing. The same scenarios run on one
// redis-server (test/integration/multi-instance.test.ts) and on a three-master Redis Cluster
// (test/integration/multi-instance-cluster.test.ts): on a cluster the transfers' keys, the feed's and
// each idempotency key may live on different masters, and messages between instances are sharded.
// On one server, Redis killed and restarted empty too (a cluster's master lost is the failover tests').
import type { Test } from 'tap'
import { withAmi } from './asterisk/ami.js'
import { listChannels } from './asterisk/ari.js'
import { bridgePeersOf, callAgent, hangup, hangupAllCalls, waitFor } from './asterisk/calls.js'
import { pbx, transferContext } from './asterisk/testbed.js'
import { startApp, type AppProcess, type AppResponse } from './app-process.js'
import { connectFeed, type FeedClient } from './feed-client.js'
import { startRedis, type RedisServer } from './redis-process.js'
import { startRedisCluster } from './redis-topologies.js'
import type { FeedEnvelope } from '../../src/index.js'

/** Where A and B keep their shared state: the environment that points the example app at it. */
interface SharedRedis {
  env: Record<string, string>
  /** The one server, for the test that kills it (none on a cluster). */
  server?: RedisServer
  stop: () => Promise<void>
}

async function sharedRedis (kind: 'server' | 'cluster'): Promise<SharedRedis> {
  if (kind === 'server') {
    const server = await startRedis()
    return { env: { REDIS_URL: server.url }, server, stop: async () => { await server.stop() } }
  }
  const cluster = await startRedisCluster()
  return {
    env: { REDIS_CLUSTER_NODES: cluster.nodes.map(({ host, port }) => `${host}:${port}`).join(',') },
    stop: async () => { await cluster.stop() }
  }
}

export async function multiInstanceSuite (t: Test, kind: 'server' | 'cluster'): Promise<void> {
  // Two app processes, a takeover that waits for a lease to expire and two rolling restarts take longer
  // than the suite's two minutes per file.
  t.setTimeout(360_000)

  const shared = await sharedRedis(kind)
  const [a, b] = await Promise.all([
    startApp({ name: 'A', env: shared.env }),
    startApp({ name: 'B', env: shared.env })
  ])
  t.teardown(async () => {
    await Promise.all([a.stop(), b.stop()])
    await shared.stop()
  })
  await hangupAllCalls()
  t.afterEach(async (t) => {
    await hangupAllCalls()
    if (!t.passing()) t.comment(`app A (${a.logFile}):\n${a.logTail(15)}\napp B (${b.logFile}):\n${b.logTail(15)}`)
  })

  // ------------------------------------------------------------------------------------------ helpers

  type Body = Record<string, unknown>

  const execute = async (app: AppProcess, who: string, body: Body, headers?: Record<string, string>): Promise<AppResponse> =>
    await app.as(who, { method: 'POST', url: '/api/transfers/execute', payload: body, headers })

  const act = async (app: AppProcess, who: string, id: string, action: 'complete' | 'cancel' | 'swap' | 'three-way'): Promise<AppResponse> =>
    await app.as(who, { method: 'POST', url: `/api/transfers/${id}/${action}` })

  /** The id of the transfer a successful execute started; throws with the answer otherwise. */
  const startedId = (response: AppResponse): string => {
    if (response.statusCode !== 200) throw new Error(`execute answered ${response.statusCode}: ${response.body}`)
    return String(response.json().id)
  }

  const statusOn = async (app: AppProcess, id: string): Promise<string> =>
    (await app.as('super', { method: 'GET', url: `/api/transfers/${id}` })).json().status

  /** A feed socket on `app` as `who` ('101', 'super'), closed at the end of the test. */
  const feed = async (t: Test, app: AppProcess, who: string, since?: number): Promise<FeedClient> => {
    const client = await connectFeed(app.baseUrl, app.tokenOf(who), since)
    t.teardown(client.close)
    return client
  }

  const dataOf = (event: FeedEnvelope): { id?: string, status?: string, origin?: string, extension?: string } =>
    event.data as { id?: string, status?: string, origin?: string, extension?: string }

  const ofTransfer = (id: string, status: string) => (event: FeedEnvelope): boolean =>
    dataOf(event).id === id && dataOf(event).status === status

  /** The transfer events of one transfer, `type:status`, in the order received. */
  const transferEvents = (events: FeedEnvelope[], id: string): string[] =>
    events.filter((event) => event.type.startsWith('call:') && event.type !== 'call:status' && dataOf(event).id === id)
      .map((event) => `${event.type}:${String(dataOf(event).status)}`)

  /** The envelopes a feed logged (not the per-socket notices feed:hello and feed:gap). */
  const logged = (events: FeedEnvelope[]): FeedEnvelope[] => events.filter((event) => !event.type.startsWith('feed:'))

  /** Whether `events` holds every one of `wanted`, in that order (others may come between). */
  const inOrder = (wanted: string[], events: string[]): boolean => {
    let next = 0
    for (const event of events) if (event === wanted[next]) next++
    return next === wanted.length
  }

  const strictlyIncreasing = (ids: number[]): boolean => ids.every((id, i) => i === 0 || id > (ids[i - 1] as number))

  /** `<feed id> <type>:<status> <transfer id>`, for failure messages. */
  const describe = (event: FeedEnvelope): string => `${event.id} ${event.type}:${String(dataOf(event).status)} ${String(dataOf(event).id)}`

  const isLegOf = (extension: string) => (name: string): boolean => name.startsWith(`PJSIP/${extension}-`)

  /** Calls of `extension`'s phone on the PBX right now (one per consultation or transfer reaching it). */
  const legsOf = async (extension: string): Promise<number> => (await listChannels()).filter((channel) => isLegOf(extension)(channel.name)).length

  const ATTENDED_COMPLETED = [
    'call:transfer_initiated:initiated',
    'call:ami_attended_transfer_started:consulting',
    'call:transfer_updated:target_answered',
    'call:ami_attended_transfer_completed:completed'
  ]

  // ---------------------------------------------------------------------------------------- scenarios

  /**
   * 101 in a call, an attended transfer to `target` started on A and answered. Waited for on A's feed (A
   * started the transfer), so that what follows checks the action on B alone.
   */
  async function consultationOnA (t: Test, target: string): Promise<{ call: Awaited<ReturnType<typeof callAgent>>, id: string }> {
    const onA = await feed(t, a, 'super')
    const call = await callAgent('101')
    const id = startedId(await execute(a, '101', { targetExtension: target, transferType: 'attended' }))
    await onA.waitFor(`${target} answering`, ofTransfer(id, 'target_answered'))
    return { call, id }
  }

  t.test('an attended transfer executed on A is completed on B', async (t) => {
    const { call, id } = await consultationOnA(t, '103')
    const completed = await act(b, '101', id, 'complete')
    t.equal(completed.statusCode, 200, completed.body)
    t.equal(completed.json().status, 'completed')
    t.ok((await bridgePeersOf(call.customerChannel.id)).some(isLegOf('103')), 'the customer talks to 103')
    t.equal(await statusOn(a, id), 'completed', 'A knows it is completed')
  })

  t.test('swap and three-way asked on B of a transfer A owns, then complete on B', async (t) => {
    const { call, id } = await consultationOnA(t, '103')
    const swapped = await act(b, '101', id, 'swap')
    t.equal(swapped.statusCode, 200, swapped.body)
    t.match(swapped.json(), { status: 'target_answered', talkingTo: 'customer' })
    t.same(await bridgePeersOf(call.customerChannel.id), [call.agentChannel.name], 'the customer talks with the agent')
    const joined = await act(b, '101', id, 'three-way')
    t.equal(joined.statusCode, 200, joined.body)
    t.match(joined.json(), { status: 'three_way', talkingTo: 'both' })
    const peers = await bridgePeersOf(call.customerChannel.id)
    t.ok(peers.includes(call.agentChannel.name) && peers.some(isLegOf('103')), 'customer, agent and 103 in one call')
    const completed = await act(b, '101', id, 'complete')
    t.equal(completed.statusCode, 200, completed.body)
    t.equal(completed.json().status, 'completed')
    t.ok((await bridgePeersOf(call.customerChannel.id)).some(isLegOf('103')), 'the customer stays with 103')
  })

  t.test('an attended transfer executed on A is cancelled on B: A\'s agent is back with the customer', async (t) => {
    const { call, id } = await consultationOnA(t, '104')
    const cancelled = await act(b, '101', id, 'cancel')
    t.equal(cancelled.statusCode, 200, cancelled.body)
    t.equal(cancelled.json().status, 'cancelled')
    const peers = await waitFor(async () => {
      const names = await bridgePeersOf(call.customerChannel.id)
      return names.includes(call.agentChannel.name) && names
    }, 5000, 'the customer back with 101')
    t.same(peers, [call.agentChannel.name], 'only 101: the consultation is gone')
    t.equal(await statusOn(a, id), 'cancelled', 'A knows it is cancelled')
  })

  t.test('the same Idempotency-Key sent to A, then to B, acts once: B replays A\'s answer', async (t) => {
    const onA = await feed(t, a, 'super')
    await callAgent('102', 'customer2')
    const body = { targetExtension: '103', transferType: 'attended' }
    const key = `multi-instance-${Date.now()}`
    const first = await execute(a, '102', body, { 'idempotency-key': key })
    const id = startedId(first)
    const retried = await execute(b, '102', body, { 'idempotency-key': key })
    t.equal(retried.statusCode, 200, retried.body)
    t.same(retried.json(), first.json(), 'the same answer')
    t.equal(retried.headers['idempotency-replayed'], 'true', 'marked as a replay')
    t.equal(first.headers['idempotency-replayed'], undefined, 'the first answer is no replay')
    await onA.waitFor('103 answering', ofTransfer(id, 'target_answered'))
    const initiated = onA.received.filter((event) => event.type === 'call:transfer_initiated' && dataOf(event).extension === '102')
    t.same(initiated.map((event) => dataOf(event).id), [id], 'one transfer of 102\'s call')
    t.equal(await legsOf('103'), 1, 'one consultation call to 103')
  })

  t.test('concurrent execute requests for one call over A and B: one transfer, the others 409 naming it', async (t) => {
    const call = await callAgent('104', 'customer3')
    const instances = Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b))
    const responses = await Promise.all(instances.map(async (app) =>
      await execute(app, '104', { targetExtension: '105', transferType: 'attended' })))
    const statuses = responses.map((response, i) => `${instances[i]?.name ?? '?'}:${response.statusCode}`).join(' ')
    const ok = responses.filter((response) => response.statusCode === 200)
    const conflicts = responses.filter((response) => response.statusCode === 409)
    t.equal(ok.length, 1, statuses)
    t.equal(conflicts.length, 9, statuses)
    const id = ok[0]?.json().id
    t.ok(conflicts.every((response) => response.json().code === 'XFER_TRANSFER_IN_PROGRESS' && response.json().transferId === id),
      conflicts.map((response) => response.body).join('\n'))
    t.ok(new Set(responses.flatMap((response, i) => response.statusCode === 409 ? [instances[i]?.name] : [])).size === 2, 'both A and B refused some')
    await waitFor(async () => (await bridgePeersOf(call.agentChannel.id)).some(isLegOf('105')), 10_000, 'the consultation with 105')
    t.equal(await legsOf('105'), 1, 'one consultation call to 105')
  })

  t.test('a softphone on B sees A\'s transfer once, in order; gone a while, it resumes on A with since', async (t) => {
    const softphone = await feed(t, b, '101')
    const stayed = await feed(t, b, '101')
    await callAgent('101')
    const id = startedId(await execute(a, '101', { targetExtension: '103', transferType: 'attended' }))
    await softphone.waitFor('103 answering', ofTransfer(id, 'target_answered'))
    const completed = await act(a, '101', id, 'complete')
    t.equal(completed.statusCode, 200, completed.body)
    await softphone.waitFor('completed', ofTransfer(id, 'completed'))
    t.same(transferEvents(softphone.received, id), ATTENDED_COMPLETED, 'every event of A\'s transfer, once each, in order')
    t.same(softphone.received.filter((event) => dataOf(event).origin === 'phone').map(describe), [], 'B took none of it for a phone\'s own transfer')

    // The softphone goes away; a transfer happens meanwhile; it comes back through the other instance.
    const since = softphone.lastId()
    await softphone.close()
    await hangupAllCalls()
    await callAgent('101')
    const missed = startedId(await execute(a, '101', { targetExtension: '102', transferType: 'blind' }))
    const last = await stayed.waitFor('the missed transfer answered', ofTransfer(missed, 'answered'))
    const resumed = await feed(t, a, '101', since)
    await resumed.waitFor('the missed transfer answered, on A', ofTransfer(missed, 'answered'))
    const window = (events: FeedEnvelope[]): string[] =>
      logged(events).filter((event) => event.id > since && event.id <= last.id).map((event) => `${event.id} ${event.type}`)
    t.notOk(resumed.received.some((event) => event.type === 'feed:gap'), 'no gap notice: A knows B\'s ids')
    t.ok(window(stayed.received).length >= 3, 'the transfer produced events while it was away')
    t.same(window(resumed.received), window(stayed.received), 'exactly the missed events, in order')
    t.ok(logged(resumed.received).every((event) => event.id > since), 'nothing it had already seen')
    t.ok(strictlyIncreasing(logged(resumed.received).map((event) => event.id)), 'ids strictly increasing, no duplicates')
    t.same(transferEvents(resumed.received, missed), [
      'call:transfer_initiated:initiated',
      'call:ami_transfer_complete:redirected',
      'call:transfer_updated:answered'
    ])
  })

  t.test('A killed mid-consultation: B takes the transfer over and completes it; its events reach the feed once', async (t) => {
    const onB = await feed(t, b, 'super')
    t.teardown(async () => { if (!a.running()) await a.restart() })
    const { call, id } = await consultationOnA(t, '103')
    await a.kill()
    const killedAt = performance.now()
    // B takes over once A's ownership lease has expired; until then it may refuse (503, or 409).
    const refusals: string[] = []
    const completed = await waitFor(async () => {
      const response = await act(b, '101', id, 'complete')
      if (response.statusCode !== 200) refusals.push(`${response.statusCode} ${String(response.json().code)}`)
      return response.statusCode === 200 && response
    }, 20_000, 'B completing A\'s transfer', 500).catch((error: Error) => { throw new Error(`${error.message}; B answered: ${refusals.join(', ')}`) })
    t.comment(`completed through B ${Math.round(performance.now() - killedAt)} ms after A was killed; before that B answered: ${refusals.join(', ') || 'nothing else'}`)
    t.equal(completed.json().status, 'completed')
    t.ok((await bridgePeersOf(call.customerChannel.id)).some(isLegOf('103')), 'the customer talks to 103')
    await onB.waitFor('completed', ofTransfer(id, 'completed'))
    t.same(transferEvents(onB.received, id), ATTENDED_COMPLETED, 'every event once, in order, across the takeover')
  })

  t.test('A killed mid-consultation, nobody asks: B takes the transfer over when its lease runs out and reports what happened meanwhile', async (t) => {
    const onB = await feed(t, b, 'super')
    t.teardown(async () => { if (!a.running()) await a.restart() })
    const { call, id } = await consultationOnA(t, '103')
    await a.kill()
    const killedAt = performance.now()
    // The agent leaves while nobody follows the transfer: Asterisk joins the customer and 103.
    await hangup(call.agentChannel.id)
    await onB.waitFor('completed, reported by B', ofTransfer(id, 'completed'), 30_000)
    t.comment(`B reported the completion ${Math.round(performance.now() - killedAt)} ms after A was killed (ownership lease 10 s)`)
    t.ok((await bridgePeersOf(call.customerChannel.id)).some(isLegOf('103')), 'the customer talks to 103')
    t.same(transferEvents(onB.received, id), ATTENDED_COMPLETED, 'every event once, in order, across the takeover')
    t.equal(await statusOn(b, id), 'completed')
  })

  /** Whether `app` is the instance that publishes Asterisk's own events now (its `leader` metric). */
  const leads = async (app: AppProcess): Promise<boolean> =>
    /^asterisk_transfer_leader 1$/m.test((await app.as('super', { method: 'GET', url: '/metrics' })).body)

  t.test('A, the leader, killed: a call that ends before B is elected is still reported ended on the feed', async (t) => {
    t.teardown(async () => { if (!a.running()) await a.restart() })
    // A must be the leader: B stopped gracefully hands the lease over (and starts again as a follower).
    if (!(await leads(a))) {
      await b.stop()
      // A claims the lease B handed back before B is back: started at once, B could claim it first.
      await waitFor(async () => await leads(a), 15_000, 'A elected')
      await b.restart()
    }
    t.notOk(await leads(b), 'B follows')
    const onB = await feed(t, b, 'super')
    const ofAgent = (check: (data: { ended?: boolean, call?: { state?: string } }) => boolean) => (event: FeedEnvelope): boolean =>
      event.type === 'call:status' && dataOf(event).extension === '101' && check(event.data as { ended?: boolean, call?: { state?: string } })
    const call = await callAgent('101')
    await onB.waitFor('101\'s call up, published by A', ofAgent((data) => data.call?.state === 'up'))
    await a.kill()
    const killedAt = performance.now()
    // The customer hangs up while nobody publishes: B sees it but is not the leader yet.
    await hangup(call.customerChannel.id)
    await onB.waitFor('101\'s call ended, published by B once elected', ofAgent((data) => data.ended === true), 30_000)
    t.comment(`B published the call's end ${Math.round(performance.now() - killedAt)} ms after A was killed (leadership lease 10 s)`)
    t.ok(await leads(b), 'B leads now')
    t.equal(logged(onB.received).filter(ofAgent((data) => data.ended === true)).length, 1, 'the end reported once')
  })

  t.test('a phone\'s own attended transfer appears once on the feed, under one id on A and B', async (t) => {
    const [onA, onB] = [await feed(t, a, 'super'), await feed(t, b, 'super')]
    const call = await callAgent('101')
    await withAmi(pbx.ami, async (ami) => {
      await ami.action({ Action: 'Atxfer', Channel: call.agentChannel.name, Exten: '103', Context: transferContext })
    })
    const isPhoneTransfer = (event: FeedEnvelope): boolean =>
      event.type === 'call:ami_attended_transfer_started' && dataOf(event).origin === 'phone' && dataOf(event).extension === '101'
    const started = await onA.waitFor('the phone\'s transfer, on A', isPhoneTransfer)
    const id = String(dataOf(started).id)
    await onB.waitFor('103 answering, on B', ofTransfer(id, 'target_answered'))
    await hangup(call.agentChannel.id)
    await onA.waitFor('completed, on A', ofTransfer(id, 'completed'))
    await onB.waitFor('completed, on B', ofTransfer(id, 'completed'))
    for (const [name, client] of [['A', onA], ['B', onB]] as const) {
      t.same(client.received.filter(isPhoneTransfer).map((event) => dataOf(event).id), [id], `one phone transfer on ${name}'s feed`)
      t.same(transferEvents(client.received, id), ATTENDED_COMPLETED, `each event once on ${name}'s feed`)
    }
    const envelopes = (client: FeedClient): string[] => client.received.filter((event) => dataOf(event).id === id).map((event) => `${event.id} ${event.type}`)
    t.same(envelopes(onB), envelopes(onA), 'the same events under the same ids on both')
  })

  t.test('rolling restart of A, then B, mid-consultation: the transfer completes and the softphone misses nothing', async (t) => {
    const call = await callAgent('102', 'customer2')
    const softphone = await feed(t, b, '102')
    const id = startedId(await execute(a, '102', { targetExtension: '103', transferType: 'attended' }))
    await softphone.waitFor('103 answering', ofTransfer(id, 'target_answered'))

    // A first, as a deploy does it: SIGTERM, then the new process on the same address.
    t.equal(await a.stop(), 0, 'A closed and exited by itself')
    await a.restart()
    t.equal(await statusOn(a, id), 'target_answered', 'the new A knows the transfer')
    // Then B: its feed socket closes, the softphone moves to A and resumes where it was.
    t.equal(await b.stop(), 0, 'B closed and exited by itself')
    const moved = await feed(t, a, '102', softphone.lastId())
    await b.restart()

    const completed = await act(b, '102', id, 'complete')
    t.equal(completed.statusCode, 200, completed.body)
    t.equal(completed.json().status, 'completed')
    t.ok((await bridgePeersOf(call.customerChannel.id)).some(isLegOf('103')), 'the customer talks to 103')
    await moved.waitFor('completed', ofTransfer(id, 'completed'))
    t.notOk(moved.received.some((event) => event.type === 'feed:gap'), 'no gap notice')
    const seen = [...softphone.received, ...moved.received]
    const events = transferEvents(seen, id)
    t.ok(inOrder(ATTENDED_COMPLETED, events), `nothing lost: every event of the transfer, in order (${events.join(', ')})`)
    t.same(events, ATTENDED_COMPLETED, `and each once: ${seen.filter((event) => dataOf(event).id === id).map(describe).join(', ')}`)
  })

  const redis = shared.server
  if (redis === undefined) return
  t.test('Redis killed: actions answer 503 XFER_STORE_UNAVAILABLE; Redis back, empty: the consultation in progress completes, new transfers work', async (t) => {
    const onA = await feed(t, a, 'super')
    const consulting = await callAgent('106', 'customer4')
    const id = startedId(await execute(a, '106', { targetExtension: '103', transferType: 'attended' }))
    await onA.waitFor('103 answering', ofTransfer(id, 'target_answered'))
    const call = await callAgent('104', 'customer3')
    t.teardown(async () => { if (!redis.running()) await redis.restart() })

    await redis.kill()
    await waitFor(async () => await a.readiness() === 503 && await b.readiness() === 503, 10_000, 'A and B not ready without Redis')
    for (const app of [a, b]) {
      const refused = await execute(app, '104', { targetExtension: '105', transferType: 'attended' })
      t.equal(refused.statusCode, 503, `${app.name}: ${refused.body}`)
      t.equal(refused.json().code, 'XFER_STORE_UNAVAILABLE', `${app.name}'s code`)
    }
    t.same(await bridgePeersOf(call.customerChannel.id), [call.agentChannel.name], 'the call untouched')
    t.equal(await legsOf('105'), 0, 'no consultation started')

    // It comes back with nothing in it (it saves nothing): the instances record their transfers again.
    await redis.restart()
    await waitFor(async () => await a.readiness() === 200 && await b.readiness() === 200, 20_000, 'A and B ready again')
    await waitFor(async () => await statusOn(b, id) === 'target_answered', 10_000, 'B knowing the consultation again')
    const completed = await act(b, '106', id, 'complete')
    t.equal(completed.statusCode, 200, completed.body)
    t.equal(completed.json().status, 'completed')
    t.ok((await bridgePeersOf(consulting.customerChannel.id)).some(isLegOf('103')), 'the consulted customer talks to 103')

    const next = startedId(await execute(b, '104', { targetExtension: '105', transferType: 'attended' }))
    await waitFor(async () => await statusOn(a, next) === 'target_answered', 10_000, 'A seeing 105 answer')
    const cancelled = await act(a, '104', next, 'cancel')
    t.equal(cancelled.statusCode, 200, cancelled.body)
    t.same(await bridgePeersOf(call.customerChannel.id), [call.agentChannel.name], 'the agent is back with the customer')
  })
}
