// Two instances' routes sharing one real redis-server or a real Redis Cluster, each on its own fake PBX
// (the same calls): what a load balancer spreading one softphone's requests over both must not break.
// Run by test/store/shared-routes*.test.ts.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { Cluster, Redis } from 'ioredis'
import type { Test } from 'tap'
import { EventEmitter } from 'node:events'
import { CommandBus } from '../../src/store/command-bus.js'
import { RedisIdempotencyStore } from '../../src/store/redis-idempotency-store.js'
import { RedisTransferStore } from '../../src/store/redis-transfer-store.js'
import { TransferService } from '../../src/transfers/transfer-service.js'
import { FakePbx, snapshotOf } from './fake-pbx.js'
import { mountApi } from './api-host.js'
import { redisTarget, type RedisTarget } from './redis-target.js'

const AGENT = 'PJSIP/101-0000002a'
const CUSTOMER = 'PJSIP/trunk-00000029'
const BLIND_TO_103 = { targetExtension: '103', transferType: 'blind' }

/** Every test below, on `kind` (test/store/shared-routes*.test.ts). */
export function sharedRoutesSuite (t: Test, kind: RedisTarget['name']): void {
  let target: RedisTarget
  t.before(async () => { target = await redisTarget(kind) })
  t.teardown(async () => { await target.stop() })

  let prefixCount = 0

  interface Instance {
    app: FastifyInstance
    pbx: FakePbx
    transfers: TransferService
    state: { available: boolean }
    /** Cuts the transfer store's own connection: the rest (idempotency keys, rate limit) still works. */
    cutTransferStore: () => void
  }

  /** One instance: its own PBX view and clients, the shared Redis under `prefix`. */
  async function instance (t: Test, name: string, prefix: string, rateLimit: { max: number, timeWindowMs: number } | false = false): Promise<Instance> {
    const connect = (): Redis | Cluster => {
      const client = target.client({ maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => 200 })
      t.teardown(() => { client.disconnect() })
      return client
    }
    const commands = connect()
    const transferCommands = connect()
    await Promise.all([commands, transferCommands].map(async (client) => await new Promise((resolve) => client.once('ready', resolve))))
    const pbx = new FakePbx(snapshotOf([CUSTOMER, AGENT]))
    // A subscription waits for its connection (as the plugin's own subscriber connection does).
    const subscriber = target.client({ maxRetriesPerRequest: null })
    t.teardown(() => { subscriber.disconnect() })
    const bus = new CommandBus({ publisher: commands, subscriber, prefix, instanceId: name })
    const transfers = new TransferService(pbx, {
      transferContext: 'from-internal',
      channelTechnology: 'PJSIP',
      consultationTimeoutMs: 1000,
      store: new RedisTransferStore({ instanceId: name, commands: transferCommands, writes: transferCommands, prefix, leaseMs: 10_000, finishedTtlMs: 60_000 }),
      peers: { send: async (owner, command, timeoutMs) => await bus.send(owner, command, timeoutMs), leaseRenewMs: 60_000 }
    })
    await bus.start(async (command) => await transfers.handleRemote(command))
    t.teardown(() => { bus.stop() })
    const state = { available: true }
    const { app } = await mountApi(t, pbx, {
      transfers,
      idempotency: { ttlMs: 60_000, maxKeys: 100, store: new RedisIdempotencyStore({ commands, writes: commands, prefix, ttlMs: 60_000, pollMs: 10 }) },
      rateLimit,
      sharedState: { get available () { return state.available && commands.status === 'ready' }, redis: rateLimit === false ? undefined : commands, keyPrefix: prefix, events: new EventEmitter() }
    })
    return { app, pbx, transfers, state, cutTransferStore: () => { transferCommands.disconnect() } }
  }

  async function execute (app: FastifyInstance, key?: string): Promise<LightMyRequestResponse> {
    return await app.inject({
      method: 'POST',
      url: '/api/transfers/execute',
      headers: { authorization: 'Bearer 101', ...(key === undefined ? {} : { 'idempotency-key': key }) },
      payload: BLIND_TO_103
    })
  }

  const redirects = (pbx: FakePbx): number => pbx.actions().filter((action) => action.method === 'redirect').length

  t.test('an Idempotency-Key sent to A then B acts once: B replays A\'s answer', async (t) => {
    const prefix = `routes${++prefixCount}:`
    const a = await instance(t, 'A', prefix)
    const b = await instance(t, 'B', prefix)
    const first = await execute(a.app, 'retry-1')
    t.equal(first.statusCode, 200)
    const retry = await execute(b.app, 'retry-1')
    t.equal(retry.statusCode, 200)
    t.equal(retry.body, first.body, 'the same answer, byte for byte')
    t.equal(retry.headers['idempotency-replayed'], 'true')
    t.equal(redirects(a.pbx) + redirects(b.pbx), 1, 'one Redirect in all')
  })

  t.test('concurrent requests for one call over A and B: one transfer, the other 409', async (t) => {
    const prefix = `routes${++prefixCount}:`
    const a = await instance(t, 'A', prefix)
    const b = await instance(t, 'B', prefix)
    const answers = await Promise.all([execute(a.app), execute(b.app), execute(a.app), execute(b.app)])
    const codes = answers.map((answer) => answer.statusCode).sort()
    t.same(codes, [200, 409, 409, 409])
    for (const answer of answers.filter((one) => one.statusCode === 409)) t.equal(answer.json().code, 'XFER_TRANSFER_IN_PROGRESS')
    t.equal(redirects(a.pbx) + redirects(b.pbx), 1, 'one Redirect in all')
    const id = (answers.find((answer) => answer.statusCode === 200)?.json() as { id: string }).id
    for (const { app } of [a, b]) {
      const read = await app.inject({ url: `/api/transfers/${id}`, headers: { authorization: 'Bearer 101' } })
      t.equal(read.statusCode, 200, 'the transfer is readable on both instances')
      const list = await app.inject({ url: '/api/transfers', headers: { authorization: 'Bearer 101' } })
      t.same(list.json().transfers.map((transfer: { id: string }) => transfer.id), [id], 'and listed on both')
    }
  })

  t.test('the rate limit is one budget per identity over every instance', async (t) => {
    const prefix = `routes${++prefixCount}:`
    const limit = { max: 2, timeWindowMs: 60_000 }
    const a = await instance(t, 'A', prefix, limit)
    const b = await instance(t, 'B', prefix, limit)
    const complete = async (app: FastifyInstance): Promise<number> => {
      const answer = await app.inject({ method: 'POST', url: '/api/transfers/00000000-0000-4000-8000-000000000000/complete', headers: { authorization: 'Bearer 777' } })
      if (answer.statusCode >= 500) t.comment(answer.body)
      return answer.statusCode
    }
    t.equal(await complete(a.app), 404)
    t.equal(await complete(b.app), 404)
    t.equal(await complete(a.app), 429, 'the third action, wherever it lands, is over the budget')
  })

  t.test('a request refused 503 after it was counted gives its count back: the budget is whole once Redis is', async (t) => {
    const prefix = `routes${++prefixCount}:`
    const limit = { max: 2, timeWindowMs: 60_000 }
    const a = await instance(t, 'A', prefix, limit)
    // The shared-state check passes and the count is made, then the transfer store fails under the
    // request (as when the master of the transfers' slot dies between the two).
    a.cutTransferStore()
    const complete = async (app: FastifyInstance): Promise<LightMyRequestResponse> =>
      await app.inject({ method: 'POST', url: '/api/transfers/00000000-0000-4000-8000-000000000000/complete', headers: { authorization: 'Bearer 101' } })
    for (let i = 0; i < 3; i++) {
      const refused = await complete(a.app)
      t.equal(refused.statusCode, 503, `refusal ${i + 1}: 503`)
      t.equal(refused.json().code, 'XFER_STORE_UNAVAILABLE')
    }
    const b = await instance(t, 'B', prefix, limit)
    t.equal((await complete(b.app)).statusCode, 404, 'the whole budget is left: the first action')
    t.equal((await complete(b.app)).statusCode, 404, 'the second')
    t.equal((await complete(b.app)).statusCode, 429, 'and only the third is over it')
  })

  t.test('without Redis: 503 XFER_STORE_UNAVAILABLE and nothing sent to Asterisk', async (t) => {
    const prefix = `routes${++prefixCount}:`
    const a = await instance(t, 'A', prefix)
    a.state.available = false
    const refused = await execute(a.app, 'key-1')
    t.equal(refused.statusCode, 503)
    t.equal(refused.json().code, 'XFER_STORE_UNAVAILABLE')
    t.equal(a.pbx.actions().length, 0, 'no action reached the PBX')
    a.state.available = true
    t.equal((await execute(a.app, 'key-1')).statusCode, 200, 'the retry acts once Redis is back')
  })

  t.test('Redis losing its data: the owner records its transfers again and the others find them', async (t) => {
    const prefix = `routes${++prefixCount}:`
    const a = await instance(t, 'A', prefix)
    const b = await instance(t, 'B', prefix)
    const started = await execute(a.app)
    t.equal(started.statusCode, 200)
    const { id } = started.json() as { id: string }
    await target.flushAll()
    const read = async (): Promise<number> => (await b.app.inject({ url: `/api/transfers/${id}`, headers: { authorization: 'Bearer 101' } })).statusCode
    t.equal(await read(), 404, 'gone with the data')
    a.transfers.recordAll()
    for (let i = 0; i < 50 && await read() !== 200; i++) await new Promise((resolve) => setTimeout(resolve, 20))
    t.equal(await read(), 200, 'known again')
    t.equal((await execute(b.app)).statusCode, 409, 'and its call is locked again')
  })
}
