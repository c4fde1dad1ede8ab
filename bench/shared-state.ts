// Benchmark 7: what sharing the state on Redis costs, against one instance in memory, in one run:
// - transfer overhead: POST /transfers/execute (blind) answered by the routes and the transfer service
//   on a fake PBX (no Asterisk: only the plugin's own work and, with Redis, its Redis round trips),
//   requests spread over two instances sharing one Redis vs one instance in memory;
// - feed delivery: from a transfer change published on one instance to the event in the feed buffer of
//   the instance that serves the softphone (the other one, through the Redis Stream) vs the same
//   process's buffer. What follows (the socket write) is the same in both, and measured by feed-fanout.
// Redis itself three ways, side by side: one redis-server, a master found through Sentinel (a master,
// a replica, three sentinels), and a three-master Redis Cluster.
import { EventEmitter } from 'node:events'
import { performance } from 'node:perf_hooks'
import type { FastifyInstance } from 'fastify'
import { Cluster, Redis, type RedisOptions } from 'ioredis'
import type { CallSnapshot } from '../src/asterisk/pbx.js'
import { EventLog } from '../src/domain/event-log.js'
import { CommandBus } from '../src/store/command-bus.js'
import { RedisFeed } from '../src/store/redis-feed.js'
import { RedisIdempotencyStore } from '../src/store/redis-idempotency-store.js'
import { RedisTransferStore } from '../src/store/redis-transfer-store.js'
import { TransferService } from '../src/transfers/transfer-service.js'
import { buildApi } from '../test/helpers/api-host.js'
import { FakePbx, snapshotOf } from '../test/helpers/fake-pbx.js'
import { startRedis } from '../test/helpers/redis-process.js'
import { startRedisCluster, startSentinelGroup } from '../test/helpers/redis-topologies.js'
import { check, newResult, percentile, round, writeResult } from './lib/common.js'

const CALLS = Number(process.env.BENCH_SHARED_CALLS ?? 1000)
const EVENTS = Number(process.env.BENCH_SHARED_EVENTS ?? 5000)
const ROUNDS = Number(process.env.BENCH_SHARED_ROUNDS ?? 3)

/** CALLS agents (1000, 1001…), each talking to a customer. */
function manyCalls (): CallSnapshot {
  const pairs = Array.from({ length: CALLS }, (_, index) => [`PJSIP/trunk-${String(index).padStart(8, '0')}`, `PJSIP/${1000 + index}-${String(index).padStart(8, '0')}`])
  return snapshotOf(...pairs)
}

interface Host { app: FastifyInstance, close: () => Promise<void>, pbx: FakePbx }

async function memoryHost (): Promise<Host> {
  const pbx = new FakePbx(manyCalls())
  const { app, close } = await buildApi(pbx, { rateLimit: false })
  return { app, close, pbx }
}

type Connect = (options: RedisOptions) => Redis | Cluster

async function redisHost (make: Connect, name: string, prefix: string, clients: Array<Redis | Cluster>): Promise<Host> {
  const connect = (): Redis | Cluster => { const client = make({ maxRetriesPerRequest: 0 }); client.on('error', () => {}); clients.push(client); return client }
  const commands = connect()
  const pbx = new FakePbx(manyCalls())
  const bus = new CommandBus({ publisher: commands, subscriber: connect(), prefix, instanceId: name })
  const transfers = new TransferService(pbx, {
    transferContext: 'from-internal',
    channelTechnology: 'PJSIP',
    consultationTimeoutMs: 1000,
    store: new RedisTransferStore({ instanceId: name, commands, writes: connect(), prefix, leaseMs: 10_000, finishedTtlMs: 60_000 }),
    peers: { send: async (owner, command, timeoutMs) => await bus.send(owner, command, timeoutMs), leaseRenewMs: 3000 }
  })
  const { app, close } = await buildApi(pbx, {
    transfers,
    rateLimit: false,
    idempotency: { ttlMs: 60_000, maxKeys: 100, store: new RedisIdempotencyStore({ commands, writes: commands, prefix, ttlMs: 60_000 }) },
    sharedState: { available: true, redis: undefined, keyPrefix: prefix, events: new EventEmitter() }
  })
  return { app, close: async () => { bus.stop(); await close() }, pbx }
}

/** Blind transfers of every call, one at a time, spread over the hosts: each answer's time in ms. */
async function executeAll (hosts: Host[]): Promise<Float64Array> {
  const durations = new Float64Array(CALLS)
  for (let index = 0; index < CALLS; index++) {
    const host = hosts[index % hosts.length] as Host
    const started = performance.now()
    const answer = await host.app.inject({
      method: 'POST',
      url: '/api/transfers/execute',
      headers: { authorization: `Bearer ${1000 + index}`, 'idempotency-key': `bench-${index}` },
      payload: { targetExtension: '102', transferType: 'blind' }
    })
    durations[index] = performance.now() - started
    check(answer.statusCode === 200, `execute ${index}: ${answer.statusCode} ${answer.body}`)
  }
  const redirects = hosts.reduce((sum, host) => sum + host.pbx.actions().filter((action) => action.method === 'redirect').length, 0)
  check(redirects === CALLS, `${redirects} Redirects for ${CALLS} transfers`)
  return durations.sort()
}

/** From publish to the event in the serving buffer, per event (ms), EVENTS events one after another. */
async function deliverAll (publish: (index: number) => void, serving: EventLog): Promise<Float64Array> {
  const durations = new Float64Array(EVENTS)
  for (let index = 0; index < EVENTS; index++) {
    const arrived = new Promise<void>((resolve) => {
      const stop = serving.subscribe(() => { stop(); resolve() })
    })
    const started = performance.now()
    publish(index)
    await arrived
    durations[index] = performance.now() - started
  }
  return durations.sort()
}

function summary (label: string, instances: string, sorted: Float64Array): Record<string, number | string> {
  return { measure: label, instances, count: sorted.length, p50Ms: round(percentile(sorted, 0.5), 3), p99Ms: round(percentile(sorted, 0.99), 3), meanMs: round(sorted.reduce((sum, value) => sum + value, 0) / sorted.length, 3) }
}

/** One round: every call transferred by one instance in memory, then by two instances on each kind of Redis. */
async function executeRound (roundNumber: number): Promise<Map<string, Float64Array>> {
  const measured = new Map<string, Float64Array>()
  const memory = await memoryHost()
  measured.set('memory', await executeAll([memory]))
  await memory.close()
  for (const { label, make } of kinds) {
    // Keys of this round only: every transfer is new to Redis, as in production.
    const a = await redisHost(make, 'A', `bench-${roundNumber}-${label}:`, clients)
    const b = await redisHost(make, 'B', `bench-${roundNumber}-${label}:`, clients)
    measured.set(label, await executeAll([a, b]))
    await a.close()
    await b.close()
  }
  return measured
}

/** Every round's answers of `label`, sorted. */
function pooled (rounds: Array<Map<string, Float64Array>>, label: string): Float64Array {
  return Float64Array.from(rounds.flatMap((measured) => [...(measured.get(label) as Float64Array)])).sort()
}

/** What `label` adds to `base` at p50 (ms): the median over the rounds of the difference within a round. */
function addedP50 (rounds: Array<Map<string, Float64Array>>, label: string, base: string): number {
  const differences = Float64Array.from(rounds.map((measured) => percentile(measured.get(label) as Float64Array, 0.5) - percentile(measured.get(base) as Float64Array, 0.5))).sort()
  return round(percentile(differences, 0.5), 3)
}

const server = await startRedis()
const group = await startSentinelGroup()
const cluster = await startRedisCluster()
const clients: Array<Redis | Cluster> = []
const kinds: Array<{ label: string, make: Connect }> = [
  { label: '1 Redis', make: (options) => new Redis(server.url, options) },
  { label: 'Sentinel', make: (options) => new Redis({ sentinels: group.sentinels, name: group.name, ...options }) },
  { label: 'Cluster', make: (options) => new Cluster(cluster.nodes, { shardedSubscribers: true, redisOptions: options }) }
]
const result = newResult('shared-state', { calls: CALLS, events: EVENTS, rounds: ROUNDS })
try {
  // Unmeasured round first: compiles the code on every path and connects every kind's clients.
  await executeRound(0)
  // The kinds alternate within each round, and each added cost is taken within one round: a machine
  // that slows down for a minute (two cores shared with the Redis processes) moves every kind of that
  // round alike, not one kind of the run.
  const rounds: Array<Map<string, Float64Array>> = []
  for (let roundNumber = 1; roundNumber <= ROUNDS; roundNumber++) rounds.push(await executeRound(roundNumber))
  const inMemory = pooled(rounds, 'memory')
  const localLog = new EventLog({ capacity: 1000 })
  const local = await deliverAll((index) => { localLog.append('asterisk:connection', { ami: true, ari: index % 2 === 0 }, 'everyone') }, localLog)
  result.rows.push(summary('execute (blind), time to answer', '1, memory', inMemory), summary('feed: publish to the serving buffer', '1, memory', local))
  const feeds = new Map<string, Float64Array>()
  for (const { label, make } of kinds) {
    const connect = (): Redis | Cluster => { const client = make({ maxRetriesPerRequest: null }); client.on('error', () => {}); clients.push(client); return client }
    const publisherFeed = new RedisFeed({ writes: connect(), reader: connect(), prefix: `feedbench-${label}:`, instanceId: 'publisher', capacity: 1000 })
    const servingFeed = new RedisFeed({ writes: connect(), reader: connect(), prefix: `feedbench-${label}:`, instanceId: 'serving', capacity: 1000 })
    const servingLog = new EventLog({ capacity: 1000, firstId: (await servingFeed.history()).firstId })
    servingFeed.follow(servingLog)
    const feed = await deliverAll((index) => { publisherFeed.publish('asterisk:connection', { ami: true, ari: index % 2 === 0 }, 'everyone') }, servingLog)
    servingFeed.stop()
    check(servingLog.since(0).events.length === Math.min(1000, EVENTS), `${label}: every event reached the serving instance`)
    feeds.set(label, feed)
    result.rows.push(summary('execute (blind), time to answer', `2, ${label}`, pooled(rounds, label)), summary('feed: publish to the serving buffer', `2, ${label}`, feed))
  }
  const single = feeds.get('1 Redis') as Float64Array
  const overheadP50 = addedP50(rounds, '1 Redis', 'memory')
  result.ratios = {
    'execute p50, 2 instances on Redis over 1 in memory': round(percentile(pooled(rounds, '1 Redis'), 0.5) / percentile(inMemory, 0.5)),
    'execute p50 added by Redis (ms)': overheadP50,
    'feed delivery p50 through Redis (ms)': round(percentile(single, 0.5), 3)
  }
  result.targets.push(
    { name: 'execute p50 added by sharing on Redis', target: '≤ 2 ms (the overhead budget of benchmark 1)', measured: `${overheadP50} ms`, met: overheadP50 <= 2 },
    { name: 'feed delivery p99 through Redis', target: '< 50 ms (the feed fan-out target)', measured: `${round(percentile(single, 0.99), 3)} ms`, met: percentile(single, 0.99) < 50 }
  )
  for (const label of ['Sentinel', 'Cluster']) {
    const added = addedP50(rounds, label, '1 Redis')
    result.ratios[`execute p50 added by ${label} over 1 Redis (ms)`] = added
    result.ratios[`feed delivery p50 through ${label} (ms)`] = round(percentile(feeds.get(label) as Float64Array, 0.5), 3)
    result.targets.push({ name: `execute p50 added by ${label} over one Redis`, target: '< 1 ms (issue 19)', measured: `${added} ms`, met: added < 1 })
  }
  const p50s = (label: string): string => rounds.map((measured) => round(percentile(measured.get(label) as Float64Array, 0.5), 3)).join(' / ')
  result.notes.push(`Execute p50 of each round (ms): memory ${p50s('memory')}; 1 Redis ${p50s('1 Redis')}; Sentinel ${p50s('Sentinel')}; Cluster ${p50s('Cluster')}. Rows: the ${ROUNDS} rounds pooled. Added costs: the median over the rounds of the difference within a round.`)
  result.notes.push(
    `${CALLS} blind transfers of ${CALLS} different calls, one request at a time, each with an Idempotency-Key; with Redis the requests alternate between the two instances. ${ROUNDS} rounds after an unmeasured one, each round the four kinds one after another.`,
    'With Redis each execute adds: the idempotency claim, the transfer\'s record with its call lock (one Lua script each), the answer stored; the record\'s later saves and the feed events go on a second connection, off the request\'s path.',
    'Feed delivery: one event at a time, from publish on one instance to the event in the buffer of the instance that serves the socket (a Lua script appends it, then the serving instance\'s blocking XREAD). Redis is local on loopback: across hosts add the network round trip.',
    'Sentinel: the clients find the master through three sentinels, then talk to it directly (the same path as one Redis once connected). Cluster: three masters; the transfer keys share one slot ({transfers}), idempotency keys spread over the masters.'
  )
} finally {
  for (const client of clients) client.disconnect()
  await group.stop()
  await cluster.stop()
  await server.stop()
}
writeResult(result, 'Shared state on Redis: two instances against one in memory; one Redis, Sentinel and Cluster side by side')
