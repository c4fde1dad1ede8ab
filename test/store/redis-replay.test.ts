// What a failover does to commands in flight, on a real redis-server: ioredis sends a command again
// when the socket it was written on dies before the answer, and the first may have run. Every script
// of the shared state is run twice with the same arguments here, and the keys are compared with those
// after one run: the same values, the same expiries (to the second), the same answer where the caller
// reads it. Then the connections themselves: the request path's never sends again, the queued ones do
// (which is why the scripts must bear it), and a script unknown to the server (NOSCRIPT, as on a
// promoted replica that never ran it) is loaded again by itself.
import { Redis } from 'ioredis'
import t from 'tap'
import { CLAIM as LEADER_CLAIM, RESIGN } from '../../src/store/leadership.js'
import { RedisConnections } from '../../src/store/redis-connections.js'
import { APPEND } from '../../src/store/redis-feed.js'
import { CLAIM, FINISH } from '../../src/store/redis-idempotency-store.js'
import { RedisKeys } from '../../src/store/redis-keys.js'
import { ACTIVE, OPEN, ORPHANS, RELEASE, RENEW, SAVE, TAKE_OVER, RedisTransferStore } from '../../src/store/redis-transfer-store.js'
import { ID_EPOCH_MS } from '../../src/domain/event-log.js'
import { startRedis, type RedisServer } from '../helpers/redis-process.js'
import { startTcpProxy } from '../helpers/tcp-proxy.js'

let server: RedisServer
let redis: Redis

t.before(async () => {
  server = await startRedis()
  redis = new Redis(server.url)
})
t.teardown(async () => {
  redis.disconnect()
  await server.stop()
})

let prefixCount = 0
const freshPrefix = (): string => `replay${++prefixCount}:`

type Value = string | string[] | Record<string, string> | Array<[string, string[]]>

/** Every key under `prefix`, without it: its value and how many seconds it has left (-1: no expiry). */
async function snapshot (prefix: string): Promise<Record<string, { value: Value, ttl: number }>> {
  const keys = (await redis.keys(`${prefix}*`)).sort()
  const state: Record<string, { value: Value, ttl: number }> = {}
  for (const key of keys) {
    const type = await redis.type(key)
    const value: Value = type === 'string'
      ? await redis.get(key) as string
      : type === 'hash'
        ? await redis.hgetall(key)
        : type === 'set'
          ? (await redis.smembers(key)).sort()
          : await redis.xrange(key, '-', '+') as Array<[string, string[]]>
    const pttl = await redis.pttl(key)
    state[key.slice(prefix.length)] = { value: replacePrefix(value, prefix), ttl: pttl < 0 ? -1 : Math.round(pttl / 1000) }
  }
  return state
}

function replacePrefix (value: Value, prefix: string): Value {
  return JSON.parse(JSON.stringify(value).split(prefix).join('<prefix>')) as Value
}

async function run (lua: string, keys: string[], args: Array<string | number>): Promise<unknown> {
  return await redis.eval(lua, keys.length, ...keys, ...args)
}

interface Case {
  name: string
  /** The state the script finds (run on both copies). */
  setup?: (keys: RedisKeys, prefix: string) => Promise<void>
  script: (keys: RedisKeys, prefix: string) => Promise<unknown>
  /** The second run's answer is read by nobody (fire and forget): only the state is compared. */
  answerIgnored?: boolean
}

const record = (status: string, revision = 1, at = '2026-01-01T00:00:00.000Z'): string =>
  JSON.stringify({ record: { id: 'x1', status, type: 'attended', createdAt: at, updatedAt: at }, dialTarget: { exten: '103', context: 'from-internal', kind: 'agent' }, tracking: { handedOver: false }, revision })
const transferKeys = (keys: RedisKeys): string[] => [keys.activeTransfers, keys.record('x1'), keys.owner('x1'), keys.call('PJSIP/101-00000001'), keys.call('srv-a:PJSIP/trunk-00000002')]
const open = async (keys: RedisKeys): Promise<unknown> => await run(OPEN, transferKeys(keys), [record('initiated'), 'A', 60_000, 100, 'x1', 'plugin'])

const cases: Case[] = [
  { name: 'open: a transfer and the locks of its calls', script: open },
  { name: 'save: a state in progress', setup: async (keys) => { await open(keys) }, script: async (keys) => await run(SAVE, transferKeys(keys), [record('consulting'), 'A', 60_000, 'x1', '0', 3_600_000, 5000, 1]) },
  { name: 'save: the final state', setup: async (keys) => { await open(keys) }, script: async (keys) => await run(SAVE, transferKeys(keys), [record('completed', 2), 'A', 60_000, 'x1', '1', 3_600_000, 5000, 2]) },
  {
    name: 'save: a state from before the end, sent again after the final one',
    setup: async (keys) => { await open(keys); await run(SAVE, transferKeys(keys), [record('completed', 2), 'A', 60_000, 'x1', '1', 3_600_000, 5000, 2]) },
    script: async (keys) => await run(SAVE, transferKeys(keys), [record('consulting'), 'A', 60_000, 'x1', '0', 3_600_000, 5000, 1])
  },
  {
    name: 'save: an older revision sent again after a newer one',
    setup: async (keys) => { await open(keys); await run(SAVE, transferKeys(keys), [record('target_answered', 3), 'A', 60_000, 'x1', '0', 3_600_000, 5000, 3]) },
    script: async (keys) => await run(SAVE, transferKeys(keys), [record('consulting', 2), 'A', 60_000, 'x1', '0', 3_600_000, 5000, 2])
  },
  { name: 'renew: the owner\'s lease and its calls\' locks', setup: async (keys) => { await open(keys) }, script: async (keys) => await run(RENEW, transferKeys(keys).slice(2), ['A', 90_000, 'x1']) },
  {
    name: 'take over: an orphan by another instance',
    setup: async (keys) => { await open(keys); await redis.del(keys.owner('x1')) },
    script: async (keys) => await run(TAKE_OVER, transferKeys(keys).slice(0, 3), ['B', 60_000, 'x1', ''])
  },
  {
    name: 'take over: from an owner known to be gone',
    setup: async (keys) => { await open(keys) },
    script: async (keys) => await run(TAKE_OVER, transferKeys(keys).slice(0, 3), ['B', 60_000, 'x1', 'A'])
  },
  { name: 'release: the leases of a stopping instance', setup: async (keys) => { await open(keys) }, script: async (keys) => await run(RELEASE, [keys.owner('x1')], ['A']) },
  { name: 'orphans (reads only)', setup: async (keys) => { await open(keys); await redis.del(keys.owner('x1')) }, script: async (keys) => await run(ORPHANS, [keys.activeTransfers], [keys.transfersBase]) },
  { name: 'active (reads only)', setup: async (keys) => { await open(keys) }, script: async (keys) => await run(ACTIVE, [keys.activeTransfers], [keys.transfersBase]) },
  { name: 'idempotency: a claim', script: async (keys) => await run(CLAIM, [keys.idempotency('k1')], ['fp', 'token-1', 60_000]) },
  {
    name: 'idempotency: the answer stored',
    setup: async (keys) => { await run(CLAIM, [keys.idempotency('k1')], ['fp', 'token-1', 60_000]) },
    script: async (keys) => await run(FINISH, [keys.idempotency('k1')], ['token-1', '{"statusCode":200}', 600_000]),
    answerIgnored: true
  },
  {
    name: 'idempotency: the key dropped (nothing to replay)',
    setup: async (keys) => { await run(CLAIM, [keys.idempotency('k1')], ['fp', 'token-1', 60_000]) },
    script: async (keys) => await run(FINISH, [keys.idempotency('k1')], ['token-1', '', 600_000]),
    answerIgnored: true
  },
  { name: 'leadership: the lease claimed', script: async (keys) => await run(LEADER_CLAIM, [keys.leader], ['A', 10_000]) },
  { name: 'leadership: resigned', setup: async (keys) => { await run(LEADER_CLAIM, [keys.leader], ['A', 10_000]) }, script: async (keys) => await run(RESIGN, [keys.leader], ['A']) },
  {
    name: 'feed: a batch of events numbered and appended',
    setup: async (keys) => {
      // On the master that numbered last (no jump): the ids are the same in both copies.
      await redis.set(keys.feedCounter, '500')
      await redis.set(keys.feedMaster, await replicationId())
    },
    script: async (keys) => await run(APPEND, [keys.feedStream, keys.feedCounter, keys.feedMaster, keys.feedOrigin('A')], [1000, 'A', 7, ID_EPOCH_MS, ...event('one'), ...event('two'), ...event('three')])
  }
]

function event (name: string): string[] {
  return ['asterisk:connection', '2026-01-01T00:00:00.000Z', JSON.stringify({ name }), '"everyone"']
}

async function replicationId (): Promise<string> {
  return /master_replid:(\w+)/.exec(await redis.info('replication'))?.[1] as string
}

for (const { name, setup, script, answerIgnored } of cases) {
  t.test(`run twice = run once: ${name}`, async (t) => {
    const once = freshPrefix()
    const twice = freshPrefix()
    await setup?.(new RedisKeys(once), once)
    await setup?.(new RedisKeys(twice), twice)
    const before = await snapshot(once)
    const answer = await script(new RedisKeys(once), once)
    await script(new RedisKeys(twice), twice)
    const again = await script(new RedisKeys(twice), twice)
    const after = await snapshot(once)
    t.same(await snapshot(twice), after, 'the keys are as after one run')
    if (answerIgnored !== true) t.same(again, answer, 'the second run answers as the first')
    if (!name.includes('reads only') && !name.includes('sent again')) t.notSame(after, before, 'the script did change something (the comparison means something)')
  })
}

t.test('a state sent again after the final one leaves the transfer finished', async (t) => {
  const prefix = freshPrefix()
  const keys = new RedisKeys(prefix)
  await open(keys)
  await run(SAVE, transferKeys(keys), [record('completed', 2), 'A', 60_000, 'x1', '1', 3_600_000, 5000, 2])
  t.equal(await run(SAVE, transferKeys(keys), [record('consulting'), 'A', 60_000, 'x1', '0', 3_600_000, 5000, 1]), 1, 'not refused: the owner is not told it lost the transfer')
  t.same(await redis.smembers(keys.activeTransfers), [], 'not in progress again')
  t.equal(JSON.parse(await redis.get(keys.record('x1')) as string).record.status, 'completed')
  t.equal(await redis.exists(keys.owner('x1')), 0, 'nobody owns it again')
})

t.test('an older revision sent again after a newer one leaves the newer state', async (t) => {
  const prefix = freshPrefix()
  const keys = new RedisKeys(prefix)
  await open(keys)
  await run(SAVE, transferKeys(keys), [record('target_answered', 3), 'A', 60_000, 'x1', '0', 3_600_000, 5000, 3])
  t.equal(await run(SAVE, transferKeys(keys), [record('consulting', 2), 'A', 60_000, 'x1', '0', 3_600_000, 5000, 2]), 1, 'not refused: the owner is not told it lost the transfer')
  t.equal(JSON.parse(await redis.get(keys.record('x1')) as string).record.status, 'target_answered')
})

t.test('the feed on another master: ids jump above all before, the first is marked; a batch sent again is not appended twice', async (t) => {
  const prefix = freshPrefix()
  const keys = new RedisKeys(prefix)
  const append = async (origin: string, first: number, ...names: string[]): Promise<unknown> =>
    await run(APPEND, [keys.feedStream, keys.feedCounter, keys.feedMaster, keys.feedOrigin(origin)], [1000, origin, first, ID_EPOCH_MS, ...names.flatMap(event)])
  await append('A', 1, 'a1', 'a2')
  const [firstId, secondId] = (await redis.xrange(keys.feedStream, '-', '+') as Array<[string, string[]]>).map(([id]) => Number(id.split('-')[0]))
  t.equal(secondId, (firstId as number) + 1, 'consecutive on one master')
  // What a promoted replica looks like to the script: it numbered last on another master.
  await redis.set(keys.feedMaster, 'a-master-that-is-gone')
  await redis.set(keys.feedCounter, '100')
  const before = Date.now()
  await append('B', 1, 'b1')
  await append('A', 1, 'a1', 'a2')
  await append('A', 3, 'a3')
  const entries = await redis.xrange(keys.feedStream, '-', '+') as Array<[string, string[]]>
  const ids = entries.map(([id]) => Number(id.split('-')[0]))
  t.equal(entries.length, 4, 'the batch A sent again (numbers 1-2) is not appended twice; B\'s and A\'s next are')
  t.ok((ids[2] as number) >= (before - ID_EPOCH_MS) * 1000, 'after the jump: at least the master\'s clock in ms × 1000')
  t.ok((ids[2] as number) > (ids[1] as number), 'above every id given before')
  t.ok(entries[2]?.[1].includes('j'), 'the first event after the jump is marked')
  t.notOk(entries[3]?.[1].includes('j'), 'the next is not')
  t.equal(ids[3], (ids[2] as number) + 1, 'then consecutive again')
  t.ok(String(ids[3]).length >= 14 && !String(entries[3]?.[0]).includes('e'), 'ids of 14 digits and more are written in full, not with an exponent')
})

t.test('the feed on another master whose stream is ahead of both its counter and the clock: ids go on above the stream\'s top', async (t) => {
  const prefix = freshPrefix()
  const keys = new RedisKeys(prefix)
  const append = async (origin: string, first: number, ...names: string[]): Promise<unknown> =>
    await run(APPEND, [keys.feedStream, keys.feedCounter, keys.feedMaster, keys.feedOrigin(origin)], [1000, origin, first, ID_EPOCH_MS, ...names.flatMap(event)])
  await append('A', 1, 'a1')
  // A top a million seconds ahead of the clock, a counter far behind it, numbered last on another master:
  // what two jumps within one millisecond, or a counter lost while the stream was kept, leave behind.
  const ahead = (Date.now() - ID_EPOCH_MS + 1_000_000_000) * 1000
  await redis.xadd(keys.feedStream, `${ahead}-0`, 't', 'x')
  await redis.set(keys.feedMaster, 'a-master-that-is-gone')
  await redis.set(keys.feedCounter, '100')
  await append('B', 1, 'b1')
  const ids = (await redis.xrange(keys.feedStream, '-', '+') as Array<[string, string[]]>).map(([id]) => Number(id.split('-')[0]))
  t.equal(ids.length, 3, 'the event was appended, not refused by XADD')
  t.equal(ids[2], ahead + 1, 'right above the stream\'s top')
})

t.test('the request path\'s connection never sends a command again; the queued ones do, which the scripts bear', async (t) => {
  const proxy = await startTcpProxy({ host: '127.0.0.1', port: server.port })
  const connections = new RedisConnections(`redis://127.0.0.1:${proxy.port}`)
  // Every connection up again (a cut makes them all reconnect) before the next step.
  const allReady = async (): Promise<void> => {
    for (const client of [connections.commands, connections.writes, connections.reader, connections.subscriber]) {
      while (client.status !== 'ready') await new Promise((resolve) => setTimeout(resolve, 20))
      await client.ping()
    }
  }
  t.teardown(async () => {
    await allReady()
    await connections.close()
    // The proxy's sockets end with the clients' QUIT; reset while ending, Node keeps them (and the
    // test process) alive.
    for (let i = 0; i < 100 && proxy.open > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    await proxy.close()
  })
  await connections.start()
  const prefix = freshPrefix()
  // The command reaches Redis and runs; its answer is held, then the link is cut: a master that died
  // after acting, before answering.
  const cutBeforeTheAnswer = async (client: Redis, key: string): Promise<{ ok: boolean, error?: Error }> => {
    await allReady()
    proxy.stall({ answersOnly: true })
    const sent = client.incr(key).then(() => ({ ok: true }), (error: Error) => ({ ok: false, error }))
    for (let i = 0; i < 100 && await redis.get(key) === null; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    await proxy.cut()
    await proxy.restore()
    return await sent
  }
  const commands = await cutBeforeTheAnswer(connections.commands as Redis, `${prefix}commands`)
  t.equal(commands.ok, false, 'the request path is told at once that its command failed')
  const writes = await cutBeforeTheAnswer(connections.writes as Redis, `${prefix}writes`)
  t.equal(writes.ok, true, 'the queued connection sent it again after reconnecting, and got an answer')
  t.equal(await redis.get(`${prefix}commands`), '1', 'the request path\'s command ran once')
  t.equal(await redis.get(`${prefix}writes`), '2', 'the queued command ran twice: what the scripts above are made to bear')
})

t.test('a script the server does not know (a promoted replica, a SCRIPT FLUSH) is loaded again by itself', async (t) => {
  const commands = new Redis(server.url)
  const writes = new Redis(server.url)
  t.teardown(() => { commands.disconnect(); writes.disconnect() })
  const prefix = freshPrefix()
  const store = new RedisTransferStore({ instanceId: 'A', commands, writes, prefix, leaseMs: 60_000, finishedTtlMs: 60_000 })
  const stored = JSON.parse(record('initiated')) as Parameters<RedisTransferStore['open']>[0]
  t.same(await store.open(stored, ['PJSIP/101-1'], 100), { ok: true })
  t.same(await store.renew([{ id: 'x1', channels: ['PJSIP/101-1'] }]), [])
  await redis.script('FLUSH')
  t.same(await store.renew([{ id: 'x1', channels: ['PJSIP/101-1'] }]), [], 'a pipelined script after the flush: NOSCRIPT, then sent in full, transparently')
  t.same((await store.active()).map((transfer) => transfer.id), ['x1'], 'a single script after the flush too')
  await redis.script('FLUSH')
  t.equal(await store.save({ ...stored, record: { ...stored.record, status: 'consulting' } }, ['PJSIP/101-1']), true, 'and on the queued connection')
})
