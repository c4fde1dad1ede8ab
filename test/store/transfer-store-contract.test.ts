// One contract, two stores: the Redis transfer store on a real redis-server, and the in-memory cluster
// the service's cluster tests run on (test/helpers/fake-cluster.ts). The same steps must give the same
// answers on both, so that what those tests show holds with Redis.
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { RedisKeys } from '../../src/store/redis-keys.js'
import { RedisTransferStore } from '../../src/store/redis-transfer-store.js'
import { PHONE_GRACE_MS, type StoredTransfer, type TransferStore } from '../../src/store/transfer-store.js'
import { FakeCluster } from '../helpers/fake-cluster.js'
import { startRedis, type RedisServer } from '../helpers/redis-process.js'

/** Several instances' stores on one shared state, and what the test makes happen to it. */
interface World {
  store: (instanceId: string) => TransferStore
  /** The instance stopped renewing long enough: its leases and its transfers' call locks run out now. */
  expireLeasesOf: (instanceId: string) => Promise<void>
  /** PHONE_GRACE_MS pass (nothing else runs out: leases are far longer). */
  passGrace: () => Promise<void>
  /** The shared state lost its data. */
  flushAll: () => Promise<void>
}

const LEASE_MS = 60_000

let server: RedisServer
const clients: Redis[] = []
let prefixCount = 0

t.before(async () => { server = await startRedis() })
t.teardown(async () => {
  for (const client of clients) client.disconnect()
  await server.stop()
})

function redisClient (): Redis {
  const client = new Redis(server.url, { maxRetriesPerRequest: null })
  clients.push(client)
  return client
}

function redisWorld (): World {
  const prefix = `contract${++prefixCount}:`
  const admin = redisClient()
  const base = new RedisKeys(prefix).transfersBase
  const keys = async (pattern: string): Promise<string[]> => await admin.keys(`${base}${pattern}`)
  return {
    store: (instanceId) => new RedisTransferStore({ instanceId, commands: redisClient(), writes: redisClient(), prefix, leaseMs: LEASE_MS, finishedTtlMs: 3_600_000 }),
    expireLeasesOf: async (instanceId) => {
      const ids: string[] = []
      for (const key of await keys('owner:*')) {
        if (await admin.get(key) !== instanceId) continue
        ids.push(key.slice(`${base}owner:`.length))
        await admin.del(key)
      }
      for (const key of await keys('call:*')) {
        if (ids.includes(await admin.get(key) ?? '')) await admin.del(key)
      }
    },
    passGrace: async () => {
      for (const key of await keys('call:*')) {
        const ttl = await admin.pttl(key)
        if (ttl >= 0 && ttl <= PHONE_GRACE_MS) await admin.del(key)
      }
    },
    flushAll: async () => {
      const all = await admin.keys(`${prefix}*`)
      if (all.length > 0) await admin.del(...all)
    }
  }
}

function fakeWorld (): World {
  const cluster = new FakeCluster({ leaseMs: LEASE_MS })
  return {
    store: (instanceId) => cluster.join(instanceId).store,
    expireLeasesOf: async (instanceId) => { cluster.expireLeasesOf(instanceId) },
    passGrace: async () => { cluster.advance(PHONE_GRACE_MS) },
    flushAll: async () => { cluster.flushAll() }
  }
}

function stored (id: string, fields: Partial<StoredTransfer['record']> = {}): StoredTransfer {
  const now = new Date().toISOString()
  return {
    record: { id, type: 'attended', status: 'consulting', origin: 'plugin', extension: '101', targetExtension: '103', requestedBy: '101', channels: { agent: `PJSIP/101-${id}`, peer: `PJSIP/trunk-${id}` }, createdAt: now, updatedAt: now, ...fields },
    dialTarget: { exten: '103', context: 'from-internal', kind: 'agent' },
    tracking: { handedOver: false, reached: false, cancelRequested: false, targetHungUp: false, consultingSince: 1234 }
  }
}

const CALL = ['PJSIP/101-x', 'PJSIP/trunk-x']

/** A step of the contract, run on each store. */
function scenario (name: string, steps: (t: Test, world: World) => Promise<void>): void {
  t.test(name, async (t) => {
    t.test('on Redis', async (t) => { await steps(t, redisWorld()) })
    t.test('in memory (the cluster of the service\'s unit tests)', async (t) => { await steps(t, fakeWorld()) })
  })
}

scenario('one transfer per call, whichever instance asks; the cap counts every instance\'s', async (t, world) => {
  const a = world.store('A')
  const b = world.store('B')
  const [first, second] = await Promise.all([a.open(stored('one'), CALL, 100), b.open(stored('two'), CALL, 100)])
  t.equal([first, second].filter((result) => result.ok).length, 1)
  t.same(first.ok ? second : first, { ok: false, busyWith: first.ok ? 'one' : 'two' })
  t.same(await b.open(stored('three'), ['PJSIP/102-y'], 1), { ok: false, full: true })
  const [winner, other] = first.ok ? ['one', b] : ['two', a]
  t.same(await other.open(stored(winner), ['PJSIP/104-z'], 100), { ok: false, busyWith: winner }, 'another instance\'s id is refused')
})

scenario('read everywhere with its owner; written by its owner alone; a final write frees the call for the plugin', async (t, world) => {
  const a = world.store('A')
  const b = world.store('B')
  t.ok((await a.open(stored('x1'), CALL, 100)).ok)
  t.match(await b.get('x1'), { owner: 'A', stored: { record: { status: 'consulting' }, tracking: { consultingSince: 1234 } } })
  t.same((await b.active()).map((record) => record.id), ['x1'])
  t.equal(await b.save(stored('x1', { status: 'completed' }), CALL), false)
  t.equal(await a.save(stored('x1', { status: 'target_answered' }), CALL), true)
  t.equal(await a.save(stored('x1', { status: 'completed' }), CALL), true)
  t.match(await b.get('x1'), { owner: undefined, stored: { record: { status: 'completed' } } })
  t.same(await b.active(), [])
  t.same(await b.orphans(), [], 'over: nobody\'s orphan')
  t.ok((await b.open(stored('x2'), CALL, 100)).ok, 'the plugin may transfer the call again at once')
})

scenario('an older save arriving after a newer one (a cluster client sending it again) changes nothing', async (t, world) => {
  const a = world.store('A')
  const b = world.store('B')
  t.ok((await a.open(stored('r1'), CALL, 100)).ok)
  t.equal(await a.save({ ...stored('r1', { status: 'target_answered' }), revision: 3 }, CALL), true)
  t.equal(await a.save({ ...stored('r1', { status: 'consulting' }), revision: 2 }, CALL), true, 'not refused: the owner has not lost the transfer')
  t.match(await b.get('r1'), { owner: 'A', stored: { record: { status: 'target_answered' }, revision: 3 } })
  t.equal(await a.save({ ...stored('r1', { status: 'three_way' }), revision: 3 }, CALL), true)
  t.match(await b.get('r1'), { stored: { record: { status: 'three_way' } } }, 'the same revision again is written (a save sent twice is the same save)')
  t.equal(await a.save({ ...stored('r1', { status: 'completed' }), revision: 4 }, CALL), true)
  t.match(await b.get('r1'), { owner: undefined, stored: { record: { status: 'completed' } } })
})

scenario('a finished transfer\'s call is refused to a phone\'s transfer for PHONE_GRACE_MS', async (t, world) => {
  const a = world.store('A')
  const b = world.store('B')
  t.ok((await a.open(stored('g1'), CALL, 100)).ok)
  t.equal(await a.save(stored('g1', { status: 'completed' }), CALL), true)
  t.same(await b.open(stored('p1', { origin: 'phone' }), CALL, 100), { ok: false, busyWith: 'g1' })
  await world.passGrace()
  t.ok((await b.open(stored('p2', { origin: 'phone' }), CALL, 100)).ok)
})

scenario('an owner whose leases ran out loses its transfer to exactly one instance; it learns it at its renewal', async (t, world) => {
  const a = world.store('A')
  const b = world.store('B')
  const c = world.store('C')
  t.ok((await a.open(stored('o1'), CALL, 100)).ok)
  t.same(await a.renew([{ id: 'o1', channels: CALL }]), [])
  t.same(await b.orphans(), [])
  t.equal(await b.takeOver('o1'), undefined, 'owned: not taken over')
  await world.expireLeasesOf('A')
  t.same(await b.orphans(), ['o1'])
  const [byB, byC] = await Promise.all([b.takeOver('o1'), c.takeOver('o1')])
  t.equal([byB, byC].filter((taken) => taken !== undefined).length, 1)
  t.match(byB ?? byC, { record: { id: 'o1', status: 'consulting' }, tracking: { consultingSince: 1234 } }, 'with what its owner knew')
  const owner = byB === undefined ? 'C' : 'B'
  t.equal((await a.get('o1'))?.owner, owner)
  t.same(await a.renew([{ id: 'o1', channels: CALL }]), ['o1'])
  t.equal(await a.save(stored('o1', { status: 'completed' }), CALL), false)
  t.ok((await b.open(stored('o2'), CALL, 100)).ok, 'a takeover locks no call: until its owner renews or writes, the call is free')
})

scenario('takeOver from a gone owner whose lease still runs, and only from that owner', async (t, world) => {
  const a = world.store('A')
  const b = world.store('B')
  t.ok((await a.open(stored('f1'), CALL, 100)).ok)
  t.equal(await b.takeOver('f1', 'Z'), undefined, 'not the owner named')
  t.match(await b.takeOver('f1', 'A'), { record: { id: 'f1' } })
  t.equal((await a.get('f1'))?.owner, 'B')
  t.equal(await a.takeOver('f1', 'A'), undefined, 'B has it now')
  t.equal(await b.takeOver('nothing', 'A'), undefined, 'not in progress')
})

scenario('release: the instance\'s own leases go at once, nobody else\'s', async (t, world) => {
  const a = world.store('A')
  const b = world.store('B')
  t.ok((await a.open(stored('r1'), CALL, 100)).ok)
  await b.release(['r1'])
  t.same(await b.orphans(), [], 'B cannot release A\'s')
  await a.release(['r1'])
  t.same(await b.orphans(), ['r1'])
  t.match(await b.takeOver('r1'), { record: { id: 'r1' } })
})

scenario('a renewal locks the calls again that are free, not those another transfer took', async (t, world) => {
  const a = world.store('A')
  const b = world.store('B')
  t.ok((await a.open(stored('n1'), CALL, 100)).ok)
  await world.expireLeasesOf('A')
  t.ok((await b.open(stored('n2'), [CALL[0] as string], 100)).ok, 'the agent\'s channel, free, taken by another transfer')
  t.same(await a.renew([{ id: 'n1', channels: CALL }]), [], 'nobody took n1 over: A keeps it')
  t.same(await b.open(stored('n3'), [CALL[1] as string], 100), { ok: false, busyWith: 'n1' }, 'the customer\'s channel is n1\'s again')
  t.same(await b.open(stored('n4'), [CALL[0] as string], 100), { ok: false, busyWith: 'n2' }, 'the agent\'s stays n2\'s')
})

scenario('the owner writes again what the shared state lost: in progress, owned and locked again', async (t, world) => {
  const a = world.store('A')
  const b = world.store('B')
  t.ok((await a.open(stored('l1'), CALL, 100)).ok)
  await world.flushAll()
  t.equal(await b.get('l1'), undefined)
  t.equal(await a.save(stored('l1', { status: 'target_answered' }), CALL), true)
  t.match(await b.get('l1'), { owner: 'A', stored: { record: { status: 'target_answered' } } })
  t.same((await b.active()).map((record) => record.id), ['l1'])
  t.same(await b.open(stored('l2'), CALL, 100), { ok: false, busyWith: 'l1' })
})

scenario('each step is safe to run twice (a command re-sent after a failover): the same state, the same answer', async (t, world) => {
  const a = world.store('A')
  const b = world.store('B')
  t.ok((await a.open(stored('t1'), CALL, 100)).ok)
  t.same(await a.open(stored('t1'), CALL, 100), { ok: true }, 'opened again by its owner: ok')
  t.same(await b.open(stored('t1'), ['PJSIP/104-z'], 100), { ok: false, busyWith: 't1' }, 'by another: busy')
  t.match(await a.takeOver('t1'), { record: { id: 't1' } }, 'its owner taking it over again gets it')
  t.equal((await b.get('t1'))?.owner, 'A')
  t.equal(await a.save(stored('t1', { status: 'completed' }), CALL), true)
  t.equal(await a.save(stored('t1', { status: 'target_answered' }), CALL), true, 'a state from before the end, arriving after it: answered as written')
  t.match(await b.get('t1'), { owner: undefined, stored: { record: { status: 'completed' } } }, 'but the transfer stays finished')
  t.same(await b.active(), [])
})
