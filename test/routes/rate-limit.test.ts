import { EventEmitter } from 'node:events'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import type { CallSnapshot } from '../../src/asterisk/pbx.js'
import { resolveOptions } from '../../src/options.js'
import { MemoryTransferStore } from '../../src/store/memory-transfer-store.js'
import { TransferService } from '../../src/transfers/transfer-service.js'
import type { RateLimitOptions } from '../../src/routes/rate-limit.js'
import { FakePbx, snapshotOf } from '../helpers/fake-pbx.js'
import { mountApi } from '../helpers/api-host.js'

/** Call `n` of agent `extension` with a customer: a new call each time, so each transfer is a new one. */
function callOf (extension: string, n: number): CallSnapshot {
  const sequence = String(n).padStart(8, '0')
  return snapshotOf([`PJSIP/trunk-${sequence}`, `PJSIP/${extension}-${sequence}`])
}

interface Host {
  app: FastifyInstance
  pbx: FakePbx
  /** A blind transfer of the caller's current call to 103, on a new call each time. */
  execute: (who: string, headers?: Record<string, string>) => Promise<LightMyRequestResponse>
}

/** The plugin's routes context on a fake PBX. */
async function setup (t: Test, rateLimit: RateLimitOptions | false): Promise<Host> {
  const pbx = new FakePbx()
  const { app } = await mountApi(t, pbx, { rateLimit })
  let calls = 0
  const execute = async (who: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> => {
    pbx.snapshotValue = callOf(who, ++calls)
    return await app.inject({
      method: 'POST',
      url: '/api/transfers/execute',
      headers: { authorization: `Bearer ${who}`, ...headers },
      payload: { targetExtension: '103', transferType: 'blind' }
    })
  }
  return { app, pbx, execute }
}

const as = (who: string): Record<string, string> => ({ authorization: `Bearer ${who}` })

t.test('max + 1 transfer actions: the last is 429 XFER_RATE_LIMITED with Retry-After, nothing sent to the PBX', async (t) => {
  const { pbx, execute } = await setup(t, { max: 3, timeWindowMs: 60_000 })
  for (let i = 0; i < 3; i++) t.equal((await execute('101')).statusCode, 200)
  t.equal(pbx.count('redirect'), 3)
  const callsBefore = pbx.calls.length
  const limited = await execute('101')
  t.equal(limited.statusCode, 429)
  t.same(limited.json(), {
    statusCode: 429,
    code: 'XFER_RATE_LIMITED',
    error: 'Too Many Requests',
    message: 'Too many transfer requests: retry in 1 minute'
  })
  t.equal(limited.headers['retry-after'], '60')
  t.equal(pbx.calls.length, callsBefore, 'the PBX was not even looked at')
})

t.test('one budget per identity: another agent is not limited', async (t) => {
  const { execute } = await setup(t, { max: 2, timeWindowMs: 60_000 })
  await execute('101')
  await execute('101')
  t.equal((await execute('101')).statusCode, 429)
  t.equal((await execute('102')).statusCode, 200)
  t.equal((await execute('102')).statusCode, 200)
  t.equal((await execute('102')).statusCode, 429)
})

t.test('execute, complete and cancel share the budget', async (t) => {
  const { app, execute } = await setup(t, { max: 3, timeWindowMs: 60_000 })
  const id = '00000000-0000-0000-0000-00000000000a'
  t.equal((await execute('101')).statusCode, 200)
  t.equal((await app.inject({ method: 'POST', url: `/api/transfers/${id}/complete`, headers: as('101') })).statusCode, 404)
  t.equal((await app.inject({ method: 'POST', url: `/api/transfers/${id}/cancel`, headers: as('101') })).statusCode, 404)
  const limited = await app.inject({ method: 'POST', url: `/api/transfers/${id}/cancel`, headers: as('101') })
  t.equal(limited.statusCode, 429)
  t.equal(limited.json().code, 'XFER_RATE_LIMITED')
})

t.test('swap and three-way share the same budget', async (t) => {
  const { app } = await setup(t, { max: 2, timeWindowMs: 60_000 })
  const id = '00000000-0000-0000-0000-00000000000a'
  t.equal((await app.inject({ method: 'POST', url: `/api/transfers/${id}/swap`, headers: as('101') })).statusCode, 404)
  t.equal((await app.inject({ method: 'POST', url: `/api/transfers/${id}/three-way`, headers: as('101') })).statusCode, 404)
  const limited = await app.inject({ method: 'POST', url: `/api/transfers/${id}/swap`, headers: as('101') })
  t.equal(limited.statusCode, 429)
  t.equal(limited.json().code, 'XFER_RATE_LIMITED')
})

t.test('GET routes are not limited', async (t) => {
  const { app, execute } = await setup(t, { max: 1, timeWindowMs: 60_000 })
  await execute('101')
  t.equal((await execute('101')).statusCode, 429)
  for (let i = 0; i < 5; i++) {
    t.equal((await app.inject({ method: 'GET', url: '/api/transfers', headers: as('101') })).statusCode, 200)
    t.equal((await app.inject({ method: 'GET', url: '/api/transfers/available-agents', headers: as('101') })).statusCode, 200)
  }
})

t.test('a refused request spends nothing: no identity, an invalid body', async (t) => {
  const { app, execute } = await setup(t, { max: 1, timeWindowMs: 60_000 })
  const url = '/api/transfers/execute'
  t.equal((await app.inject({ method: 'POST', url, payload: { targetExtension: '103', transferType: 'blind' } })).statusCode, 401)
  t.equal((await app.inject({ method: 'POST', url, headers: as('101'), payload: { targetExtension: '10 3', transferType: 'blind' } })).statusCode, 400)
  t.equal((await execute('101')).statusCode, 200)
})

t.test('an idempotent replay is not limited: it sends nothing to Asterisk', async (t) => {
  const { pbx, execute } = await setup(t, { max: 1, timeWindowMs: 60_000 })
  const first = await execute('101', { 'idempotency-key': 'key-1' })
  t.equal(first.statusCode, 200)
  const replay = await execute('101', { 'idempotency-key': 'key-1' })
  t.equal(replay.statusCode, 200)
  t.equal(replay.headers['idempotency-replayed'], 'true')
  t.equal(replay.body, first.body)
  t.equal((await execute('101', { 'idempotency-key': 'key-2' })).statusCode, 429, 'a new request is limited')
  t.equal(pbx.count('redirect'), 1)
})

t.test('a 429 is not kept for the key: once the window is over, the same key acts', async (t) => {
  const { pbx, execute } = await setup(t, { max: 1, timeWindowMs: 200 })
  t.equal((await execute('101')).statusCode, 200)
  const limited = await execute('101', { 'idempotency-key': 'key-late' })
  t.equal(limited.statusCode, 429)
  await new Promise((resolve) => setTimeout(resolve, 250))
  const retry = await execute('101', { 'idempotency-key': 'key-late' })
  t.equal(retry.statusCode, 200)
  t.equal(retry.headers['idempotency-replayed'], undefined)
  t.equal(pbx.count('redirect'), 2)
})

t.test('rateLimit: false turns it off', async (t) => {
  const { pbx, execute } = await setup(t, false)
  for (let i = 0; i < 40; i++) t.equal((await execute('101')).statusCode, 200)
  t.equal(pbx.count('redirect'), 40)
})

t.test('plugin options: rateLimit defaults, false, limits', async (t) => {
  const base = {
    ami: { host: 'pbx.example', port: 5038, username: 'transfer', password: 'secret' },
    ari: { url: 'http://pbx.example:8088', username: 'transfer', password: 'secret' },
    authenticate: () => null
  }
  t.same(resolveOptions(base).rateLimit, { max: 30, timeWindowMs: 60_000 })
  t.same(resolveOptions({ ...base, rateLimit: { max: 5 } }).rateLimit, { max: 5, timeWindowMs: 60_000 })
  t.equal(resolveOptions({ ...base, rateLimit: false }).rateLimit, false)
  t.throws(() => resolveOptions({ ...base, rateLimit: { max: 0 } }), /option "rateLimit\.max"/)
  t.throws(() => resolveOptions({ ...base, rateLimit: { timeWindowMs: 1.5 } }), /option "rateLimit\.timeWindowMs"/)
  t.throws(() => resolveOptions({ ...base, rateLimit: true } as unknown as typeof base), /option "rateLimit"/)
})

t.test('with Redis: a refund that fails at first (the count\'s own master failing over) is tried again until it lands', async (t) => {
  // Counts as the plugin's Redis scripts keep them; the first two refunds fail as on a master being failed over.
  const counts = new Map<string, number>()
  let refundsToFail = 2
  const redis = {
    defineCommand () {},
    async xferRateCount (key: string, windowMs: number): Promise<[number, number]> {
      counts.set(key, (counts.get(key) ?? 0) + 1)
      return [counts.get(key) as number, windowMs]
    },
    async xferRateRefund (key: string): Promise<number> {
      if (refundsToFail-- > 0) throw new Error('Connection is closed.')
      counts.set(key, (counts.get(key) as number) - 1)
      return counts.get(key) as number
    }
  }
  const pbx = new FakePbx(callOf('101', 1))
  // The shared store fails under the request, after the count: the 503 the count is given back for.
  const store = new MemoryTransferStore('A')
  store.open = async () => { throw new Error('Connection is closed.') }
  const transfers = new TransferService(pbx, { transferContext: 'from-internal', channelTechnology: 'PJSIP', consultationTimeoutMs: 1000, store })
  const { app } = await mountApi(t, pbx, {
    transfers,
    rateLimit: { max: 2, timeWindowMs: 60_000 },
    sharedState: { available: true, redis: redis as unknown as Redis, keyPrefix: 'p:', events: new EventEmitter() }
  })
  const refused = await app.inject({ method: 'POST', url: '/api/transfers/execute', headers: as('101'), payload: { targetExtension: '103', transferType: 'blind' } })
  t.equal(refused.json().code, 'XFER_STORE_UNAVAILABLE')
  t.equal(counts.get('p:rate:101'), 1, 'counted, and the first refund failed')
  const deadline = Date.now() + 3000
  while (counts.get('p:rate:101') !== 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(counts.get('p:rate:101'), 0, 'given back once Redis answers again')
  t.equal(refundsToFail, -1, 'after two failed tries, once')
  t.same(pbx.actions(), [], 'nothing reached Asterisk')
})
