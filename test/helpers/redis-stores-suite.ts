// The Redis side of the shared state, on a real redis-server or a real Redis Cluster: what two
// instances see of each other's transfers, keys, events and leases. Run by test/store/redis-stores*.test.ts.
import { setTimeout as sleep } from 'node:timers/promises'
import type { Cluster, Redis } from 'ioredis'
import type { Test } from 'tap'
import { EventLog } from '../../src/domain/event-log.js'
import { CommandBus, OwnerGoneError } from '../../src/store/command-bus.js'
import { RedisLeadership } from '../../src/store/leadership.js'
import { RedisFeed } from '../../src/store/redis-feed.js'
import { RedisIdempotencyStore } from '../../src/store/redis-idempotency-store.js'
import { RedisTransferStore } from '../../src/store/redis-transfer-store.js'
import type { StoredTransfer } from '../../src/store/transfer-store.js'
import { redisTarget, type RedisTarget } from './redis-target.js'

/** Every test below, on `kind` (test/store/redis-stores*.test.ts). */
export function redisStoresSuite (t: Test, kind: RedisTarget['name']): void {
  let target: RedisTarget
  const clients: Array<Redis | Cluster> = []

  t.before(async () => { target = await redisTarget(kind) })
  t.teardown(async () => {
    for (const client of clients) client.disconnect()
    await target.stop()
  })

  function client (): Redis | Cluster {
    const redis = target.client({ maxRetriesPerRequest: null })
    clients.push(redis)
    return redis
  }

  let prefixCount = 0
  const freshPrefix = (): string => `test${++prefixCount}:`

  function stored (id: string, status: StoredTransfer['record']['status'] = 'consulting'): StoredTransfer {
    const now = new Date().toISOString()
    return {
      record: { id, type: 'attended', status, origin: 'plugin', extension: '101', targetExtension: '103', requestedBy: '101', channels: { agent: `PJSIP/101-${id}`, peer: `PJSIP/trunk-${id}` }, createdAt: now, updatedAt: now },
      dialTarget: { exten: '103', context: 'from-internal', kind: 'agent' },
      tracking: { handedOver: false, reached: false, cancelRequested: false, targetHungUp: false, consultingSince: 1234 }
    }
  }

  function transferStore (instanceId: string, prefix: string, leaseMs = 10_000): RedisTransferStore {
    return new RedisTransferStore({ instanceId, commands: client(), writes: client(), prefix, leaseMs, finishedTtlMs: 60_000 })
  }

  t.test('a call is taken by one transfer, whichever instance asks; the cap counts every instance', async (t) => {
    const prefix = freshPrefix()
    const a = transferStore('A', prefix)
    const b = transferStore('B', prefix)
    const channels = ['PJSIP/101-x', 'PJSIP/trunk-x']
    const [first, second] = await Promise.all([a.open(stored('one'), channels, 100), b.open(stored('two'), channels, 100)])
    const winners = [first, second].filter((result) => result.ok)
    t.equal(winners.length, 1, 'exactly one of two concurrent opens takes the call')
    const loser = first.ok ? second : first
    t.same(loser, { ok: false, busyWith: first.ok ? 'one' : 'two' }, 'the other is told which transfer has it')
    t.same(await b.open(stored('three'), ['PJSIP/102-y'], 1), { ok: false, full: true }, 'one transfer in progress fills a cap of 1')
    t.equal((await a.active()).length, 1)
  })

  t.test('a transfer is readable everywhere with its owner; a final save frees its call', async (t) => {
    const prefix = freshPrefix()
    const a = transferStore('A', prefix)
    const b = transferStore('B', prefix)
    const channels = ['PJSIP/101-z', 'PJSIP/trunk-z']
    t.ok((await a.open(stored('x1'), channels, 100)).ok)
    const found = await b.get('x1')
    t.equal(found?.owner, 'A')
    t.equal(found?.stored.tracking.consultingSince, 1234, 'what the owner knows travels with the record')
    t.equal(await b.save(stored('x1', 'completed'), channels), false, 'only the owner saves')
    t.equal(await a.save(stored('x1', 'completed'), channels), true)
    t.equal((await b.get('x1'))?.stored.record.status, 'completed', 'a finished record stays readable')
    t.equal((await b.get('x1'))?.owner, undefined)
    t.same(await b.active(), [])
    t.ok((await b.open(stored('x2'), channels, 100)).ok, 'the call can be transferred again')
  })

  t.test('an owner that stops renewing loses its transfers to exactly one other instance', async (t) => {
    const prefix = freshPrefix()
    const a = transferStore('A', prefix, 300)
    const b = transferStore('B', prefix, 300)
    const c = transferStore('C', prefix, 300)
    const channels = ['PJSIP/101-o', 'PJSIP/trunk-o']
    t.ok((await a.open(stored('o1'), channels, 100)).ok)
    t.same(await a.renew([{ id: 'o1', channels }]), [], 'the owner renews')
    t.same(await b.orphans(), [], 'not an orphan while renewed')
    await sleep(450)
    t.same(await b.orphans(), ['o1'], 'an orphan once its lease ran out')
    const [byB, byC] = await Promise.all([b.takeOver('o1'), c.takeOver('o1')])
    t.equal([byB, byC].filter((taken) => taken !== undefined).length, 1, 'one instance takes it over')
    const owner = byB === undefined ? 'C' : 'B'
    t.equal((await a.get('o1'))?.owner, owner)
    t.same(await a.renew([{ id: 'o1', channels }]), ['o1'], 'the old owner learns it lost it')
    t.equal(await a.save(stored('o1', 'completed'), channels), false, 'and can no longer write it')
  })

  t.test('a released transfer is an orphan at once (graceful stop)', async (t) => {
    const prefix = freshPrefix()
    const a = transferStore('A', prefix)
    const b = transferStore('B', prefix)
    t.ok((await a.open(stored('r1'), ['PJSIP/101-r'], 100)).ok)
    await a.release(['r1'])
    t.same(await b.orphans(), ['r1'])
    t.equal((await b.takeOver('r1'))?.record.id, 'r1')
  })

  t.test('an idempotency key acts once across instances and replays the first answer', async (t) => {
    const prefix = freshPrefix()
    const a = new RedisIdempotencyStore({ commands: client(), writes: client(), prefix, ttlMs: 60_000, pollMs: 10 })
    const b = new RedisIdempotencyStore({ commands: client(), writes: client(), prefix, ttlMs: 60_000, pollMs: 10 })
    const claims = await Promise.all([a.claim('k', 'fp'), b.claim('k', 'fp'), a.claim('k', 'fp')])
    const firsts = claims.filter((claim) => claim.kind === 'first')
    t.equal(firsts.length, 1, 'one of three concurrent claims is first')
    const waiting = claims.filter((claim) => claim.kind === 'same')
    t.equal(waiting.length, 2)
    const answer = { statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"id":"t1"}' }
    const first = firsts[0]
    if (first?.kind === 'first') first.finish(answer, true)
    for (const claim of waiting) if (claim.kind === 'same') t.same(await claim.answer, answer, 'duplicates get the first answer')
    const later = await b.claim('k', 'fp')
    t.equal(later.kind, 'same')
    if (later.kind === 'same') t.same(await later.answer, answer)
    t.equal((await b.claim('k', 'other')).kind, 'conflict', 'the same key for another request is a conflict')
  })

  t.test('an answer not kept frees the key for the retry', async (t) => {
    const prefix = freshPrefix()
    const a = new RedisIdempotencyStore({ commands: client(), writes: client(), prefix, ttlMs: 60_000, pollMs: 10 })
    const first = await a.claim('k2', 'fp')
    const duplicate = await a.claim('k2', 'fp')
    if (first.kind !== 'first' || duplicate.kind !== 'same') return t.fail('first then same expected')
    first.finish({ statusCode: 503, headers: {}, body: '{}' }, false)
    t.equal(await duplicate.answer, undefined, 'the waiting duplicate is told there is nothing to replay')
    t.equal((await a.claim('k2', 'fp')).kind, 'first', 'the retry acts')
  })

  t.test('the shared feed: one order and one numbering for every instance, kept across restarts', async (t) => {
    const prefix = freshPrefix()
    const feedA = new RedisFeed({ writes: client(), reader: client(), prefix, instanceId: 'A', capacity: 1000 })
    const feedB = new RedisFeed({ writes: client(), reader: client(), prefix, instanceId: 'B', capacity: 1000 })
    const logA = new EventLog({ capacity: 1000, firstId: (await feedA.history()).firstId })
    const logB = new EventLog({ capacity: 1000, firstId: (await feedB.history()).firstId })
    feedA.follow(logA)
    feedB.follow(logB)
    t.teardown(() => { feedA.stop(); feedB.stop() })
    for (let i = 0; i < 50; i++) {
      feedA.publish('asterisk:connection', { ami: true, ari: i % 2 === 0 }, 'everyone')
      feedB.publish('agent:status', { extension: String(i), status: 'available' } as never, { extensions: ['101'] })
    }
    for (let i = 0; i < 200 && (logA.since(0).events.length < 100 || logB.since(0).events.length < 100); i++) await sleep(20)
    const idsA = logA.since(0).events.map((event) => event.envelope.id)
    const idsB = logB.since(0).events.map((event) => event.envelope.id)
    t.equal(idsA.length, 100, 'every event reaches instance A')
    t.same(idsB, idsA, 'and B, with the same ids in the same order')
    t.ok(idsA.every((id, index) => index === 0 || id === (idsA[index - 1] as number) + 1), 'ids are consecutive')
    t.same(logB.since(0).events.map((event) => event.json), logA.since(0).events.map((event) => event.json), 'the same envelopes')
    const middle = idsA[59] as number
    t.same(logB.since(middle).events.map((event) => event.envelope.id), idsA.slice(60), 'a client resumes on another instance with exactly what it missed')
    const publishers = (log: EventLog): string[] => log.since(0).events.filter((event) => event.local).map((event) => event.envelope.type)
    t.same(new Set(publishers(logA)), new Set(['asterisk:connection']), 'A knows the events it published itself')
    t.same(new Set(publishers(logB)), new Set(['agent:status']), 'and B its own: host handlers run there only')
    t.equal(publishers(logA).length + publishers(logB).length, 100, 'each event local to exactly one instance')

    const restarted = new RedisFeed({ writes: client(), reader: client(), prefix, instanceId: 'A2', capacity: 30 })
    const history = await restarted.history()
    t.equal(history.events.length, 30, 'a new instance starts with the newest events')
    t.equal(history.firstId, (idsA[70] as number) - 1)

    await target.flushAll()
    const afterLoss = new RedisFeed({ writes: client(), reader: client(), prefix, instanceId: 'C', capacity: 30 })
    const logC = new EventLog({ capacity: 30, firstId: (await afterLoss.history()).firstId })
    afterLoss.follow(logC)
    t.teardown(() => { afterLoss.stop() })
    afterLoss.publish('asterisk:connection', { ami: true, ari: true }, 'everyone')
    for (let i = 0; i < 100 && logC.lastId <= (idsA.at(-1) as number); i++) await sleep(20)
    t.ok(logC.lastId > (idsA.at(-1) as number), 'after Redis lost its data, ids go on above every earlier one')
    t.ok(logC.since(middle).gap !== undefined, 'a client resuming from before the loss is told of the gap')
  })

  t.test('one leader at a time; another takes over when it stops', async (t) => {
    const prefix = freshPrefix()
    const a = new RedisLeadership(client(), { prefix, instanceId: 'A', leaseMs: 600 })
    const b = new RedisLeadership(client(), { prefix, instanceId: 'B', leaseMs: 600 })
    t.teardown(async () => { await a.stop(); await b.stop() })
    await a.claim()
    await b.claim()
    t.equal(a.isLeader, true)
    t.equal(b.isLeader, false)
    let elected = 0
    b.onElected(() => { elected++ })
    await a.stop()
    await b.claim()
    t.equal(b.isLeader, true, 'a leader that stops hands over at once')
    t.equal(elected, 1, 'the new leader is told, to publish what the old one may have left')
    await b.claim()
    t.equal(elected, 1, 'a renewal is no election')
  })

  t.test('requests reach the owner and come back with its answer or error; a gone owner is told at once', async (t) => {
    const prefix = freshPrefix()
    const owner = new CommandBus({ publisher: client(), subscriber: client(), prefix, instanceId: 'owner' })
    const asker = new CommandBus({ publisher: client(), subscriber: client(), prefix, instanceId: 'asker' })
    t.teardown(() => { owner.stop(); asker.stop() })
    await owner.start(async (command) => {
      if (command.action === 'fail') throw Object.assign(new Error('not now'), { code: 'XFER_TRANSFER_STATE', statusCode: 409, transferId: command.transferId })
      return { done: command.transferId, by: command.identity?.extension }
    })
    await asker.start(async () => undefined)
    t.same(await asker.send('owner', { action: 'complete', transferId: 't1', identity: { extension: '101', role: 'agent' } }, 2000), { done: 't1', by: '101' })
    await t.rejects(asker.send('owner', { action: 'fail', transferId: 't2' }, 2000), { code: 'XFER_TRANSFER_STATE', statusCode: 409, transferId: 't2', message: 'not now' })
    await t.rejects(asker.send('nobody', { action: 'complete', transferId: 't3' }, 2000), OwnerGoneError)
  })
}
