import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import type { CallSnapshot } from '../../src/asterisk/pbx.js'
import { AsteriskUnavailableError } from '../../src/errors.js'
import { resolveOptions } from '../../src/options.js'
import { IdempotencyStore, canonicalJson, fingerprint, isKept, type Claim, type StoredAnswer } from '../../src/routes/idempotency.js'
import { FakePbx, hold, scenes, sequences, snapshotOf, unhold } from '../helpers/fake-pbx.js'
import { mountApi } from '../helpers/api-host.js'

// 101 and 102 each talk to a customer; 101 transfers to 103.
const CALL_101 = { agent: 'PJSIP/101-0000002a', customer: 'PJSIP/trunk-00000029', target: 'PJSIP/103-0000002d' }
const CALL_102 = { agent: 'PJSIP/102-0000002b', customer: 'PJSIP/trunk-00000030', target: 'PJSIP/103-0000002e' }

/** 101 and 102 each talking to a customer. */
const bothTalking = (): CallSnapshot => snapshotOf([CALL_101.customer, CALL_101.agent], [CALL_102.customer, CALL_102.agent])
const noCalls = (): CallSnapshot => ({ channels: [], bridges: [] })

const TTL_MS = 60_000

interface Host {
  app: FastifyInstance
  pbx: FakePbx
  /** The idempotency store's clock, in ms. */
  clock: { now: number }
}

/** The plugin's routes context on a fake PBX, without the rate limit (tested on its own). */
async function setup (t: Test): Promise<Host> {
  const pbx = new FakePbx(bothTalking())
  const clock = { now: 0 }
  const { app } = await mountApi(t, pbx, { idempotency: { ttlMs: TTL_MS, maxKeys: 100, now: () => clock.now }, rateLimit: false })
  return { app, pbx, clock }
}

const BLIND_TO_103 = { targetExtension: '103', transferType: 'blind' }

/** POST as agent `who`, with an Idempotency-Key when one is given; `payload` as an object or raw JSON. */
async function post (app: FastifyInstance, who: string, url: string, key: string | undefined, payload?: object | string): Promise<LightMyRequestResponse> {
  return await app.inject({
    method: 'POST',
    url,
    headers: {
      authorization: `Bearer ${who}`,
      ...(key === undefined ? {} : { 'idempotency-key': key }),
      ...(typeof payload === 'string' ? { 'content-type': 'application/json' } : {})
    },
    ...(payload === undefined ? {} : { payload })
  })
}

const execute = async (app: FastifyInstance, who: string, key: string | undefined, payload: object | string = BLIND_TO_103): Promise<LightMyRequestResponse> =>
  await post(app, who, '/api/transfers/execute', key, payload)

/** The same answer: status, body byte for byte, content type. */
function sameAnswer (t: Test, replay: LightMyRequestResponse, first: LightMyRequestResponse, message: string): void {
  t.equal(replay.statusCode, first.statusCode, `${message}: status`)
  t.equal(replay.body, first.body, `${message}: body`)
  t.equal(replay.headers['content-type'], first.headers['content-type'], `${message}: content type`)
}

const answer = (statusCode: number, body = '{}'): StoredAnswer => ({ statusCode, headers: {}, body })

function firstOf (t: Test, claim: Claim): Extract<Claim, { kind: 'first' }>['finish'] {
  if (claim.kind !== 'first') {
    t.fail(`expected a new key, got ${claim.kind}`)
    return () => {}
  }
  return claim.finish
}

t.test('fingerprint: the canonical JSON of the body', async (t) => {
  t.equal(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: 'z' } }), '{"a":{"c":"z","d":[1,{"x":1,"y":2}]},"b":1}')
  t.equal(fingerprint({ targetExtension: '103', transferType: 'blind' }), fingerprint({ transferType: 'blind', targetExtension: '103' }), 'key order does not matter')
  t.equal(fingerprint({ a: { b: 1, c: [{ d: 1, e: 2 }] } }), fingerprint({ a: { c: [{ e: 2, d: 1 }], b: 1 } }), 'nor nested')
  t.not(fingerprint({ a: [1, 2] }), fingerprint({ a: [2, 1] }), 'array order does')
  t.not(fingerprint({ targetExtension: '103' }), fingerprint({ targetExtension: '104' }), 'values do')
  t.not(fingerprint({ a: '1' }), fingerprint({ a: 1 }), 'and types')
  t.equal(fingerprint({ a: 1, b: undefined }), fingerprint({ a: 1 }), 'an undefined property is absent, as in JSON')
  t.equal(fingerprint(undefined), fingerprint(null))
  t.match(fingerprint({}), /^[0-9a-f]{64}$/, 'SHA-256, hex')
})

t.test('which answers are kept', async (t) => {
  for (const status of [200, 201, 204, 400, 404, 409, 422]) t.ok(isKept(status), String(status))
  for (const status of [429, 500, 502, 503, 504, 101, 302]) t.notOk(isKept(status), String(status))
})

t.test('store: a key is found with its answer until its ttl, counted from its first use', async (t) => {
  let now = 1000
  const store = new IdempotencyStore({ ttlMs: 500, maxKeys: 10, now: () => now })
  firstOf(t, store.claim('k', 'print'))(answer(200, '{"id":1}'), true)
  now = 1499
  const again = store.claim('k', 'print')
  t.equal(again.kind, 'same')
  if (again.kind === 'same') t.same(await again.answer, answer(200, '{"id":1}'))
  t.same(store.claim('k', 'other print'), { kind: 'conflict' }, 'another body')
  now = 1500
  t.equal(store.claim('k', 'other print').kind, 'first', 'expired: the key is new again, whatever the body')
  now = 2000
  t.equal(store.size, 0, 'expired entries are dropped without a timer, on the next use')
})

t.test('store: at maxKeys the oldest key is forgotten first', async (t) => {
  let now = 0
  const store = new IdempotencyStore({ ttlMs: 10_000, maxKeys: 3, now: () => now })
  for (const key of ['a', 'b', 'c', 'd']) {
    firstOf(t, store.claim(key, 'print'))(answer(200), true)
    now += 1
  }
  t.equal(store.size, 3)
  t.equal(store.claim('b', 'print').kind, 'same')
  t.equal(store.claim('c', 'print').kind, 'same')
  t.equal(store.claim('d', 'print').kind, 'same')
  t.equal(store.claim('a', 'print').kind, 'first', 'a was evicted')
  t.equal(store.size, 3, 'still bounded')
  t.equal(store.claim('b', 'print').kind, 'first', 'then b, the oldest left')
})

t.test('store: concurrent claims; an answer not kept frees the key after its waiters got it', async (t) => {
  const store = new IdempotencyStore({ ttlMs: 10_000, maxKeys: 10 })
  const finish = firstOf(t, store.claim('k', 'print'))
  const waiting = [store.claim('k', 'print'), store.claim('k', 'print')]
  t.same(waiting.map((claim) => claim.kind), ['same', 'same'], 'one first, the others wait')
  finish(answer(503), false)
  for (const claim of waiting) if (claim.kind === 'same') t.same(await claim.answer, answer(503))
  t.equal(store.claim('k', 'print').kind, 'first', 'the next request acts again')
})

t.test('store: no answer to replay (the first got none out) is never kept', async (t) => {
  const store = new IdempotencyStore({ ttlMs: 10_000, maxKeys: 10 })
  const finish = firstOf(t, store.claim('k', 'print'))
  const waiting = store.claim('k', 'print')
  finish(undefined, true)
  if (waiting.kind === 'same') t.equal(await waiting.answer, undefined, 'the waiter learns it must act itself')
  t.equal(store.claim('k', 'print').kind, 'first')
})

t.test('plugin options: idempotency defaults and limits', async (t) => {
  const base = {
    ami: { host: 'pbx.example', port: 5038, username: 'transfer', password: 'secret' },
    ari: { url: 'http://pbx.example:8088', username: 'transfer', password: 'secret' },
    authenticate: () => null
  }
  t.same(resolveOptions(base).idempotency, { ttlMs: 600_000, maxKeys: 10_000 })
  t.same(resolveOptions({ ...base, idempotency: { maxKeys: 5 } }).idempotency, { ttlMs: 600_000, maxKeys: 5 })
  t.throws(() => resolveOptions({ ...base, idempotency: { maxKeys: 0 } }), /option "idempotency\.maxKeys"/)
  t.throws(() => resolveOptions({ ...base, idempotency: { ttlMs: 10 } }), /option "idempotency\.ttlMs"/)
})

t.test('the same key twice: one Redirect, the first answer again with Idempotency-Replayed', async (t) => {
  const { app, pbx } = await setup(t)
  const first = await execute(app, '101', 'key-1')
  t.equal(first.statusCode, 200)
  t.equal(first.headers['idempotency-replayed'], undefined)
  const callsAfterFirst = pbx.calls.length
  // The same body with its keys in another order.
  const replay = await execute(app, '101', 'key-1', '{"transferType":"blind","targetExtension":"103"}')
  sameAnswer(t, replay, first, 'replay')
  t.equal(replay.headers['idempotency-replayed'], 'true')
  t.equal(pbx.count('redirect'), 1)
  t.equal(pbx.calls.length, callsAfterFirst, 'the PBX is not even looked at')
})

t.test('10 concurrent requests with one key: the handler runs once, 10 identical answers', async (t) => {
  const { app, pbx } = await setup(t)
  // The Redirect takes a while, so the others arrive while the first is still acting.
  pbx.hooks.redirect = async () => { await new Promise((resolve) => setTimeout(resolve, 50)) }
  const answers = await Promise.all(Array.from({ length: 10 }, async () => await execute(app, '101', 'key-concurrent')))
  t.equal(pbx.count('redirect'), 1)
  const [first] = answers.filter((response) => response.headers['idempotency-replayed'] === undefined)
  t.equal(answers.filter((response) => response.headers['idempotency-replayed'] === 'true').length, 9)
  if (first === undefined) return
  t.equal(first.statusCode, 200)
  for (const response of answers) sameAnswer(t, response, first, 'each answer')
})

t.test('the same key with another body: 422 XFER_IDEMPOTENCY_KEY_REUSED, nothing done', async (t) => {
  const { app, pbx } = await setup(t)
  t.equal((await execute(app, '101', 'key-1')).statusCode, 200)
  const callsAfterFirst = pbx.calls.length
  const reused = await execute(app, '101', 'key-1', { targetExtension: '102', transferType: 'blind' })
  t.equal(reused.statusCode, 422)
  t.same(reused.json(), {
    statusCode: 422,
    code: 'XFER_IDEMPOTENCY_KEY_REUSED',
    error: 'Unprocessable Entity',
    message: 'This Idempotency-Key was already used for a different request body'
  })
  t.equal(pbx.calls.length, callsAfterFirst)
})

t.test('two agents with the same key: two key spaces, two Redirects', async (t) => {
  const { app, pbx } = await setup(t)
  const [of101, of102] = await Promise.all([execute(app, '101', 'shared-key'), execute(app, '102', 'shared-key')])
  t.equal(of101.statusCode, 200)
  t.equal(of102.statusCode, 200)
  t.equal(of101.headers['idempotency-replayed'], undefined)
  t.equal(of102.headers['idempotency-replayed'], undefined)
  t.match(of101.json(), { extension: '101' })
  t.match(of102.json(), { extension: '102' })
  t.same(pbx.actions().map((call) => call.args[0]).sort(), [CALL_101.customer, CALL_102.customer])
})

t.test('a refusal (404 no active channel) is kept and replayed, even once the call exists', async (t) => {
  const { app, pbx } = await setup(t)
  pbx.snapshotValue = noCalls()
  const refused = await execute(app, '101', 'key-404')
  t.equal(refused.statusCode, 404)
  t.equal(refused.json().code, 'XFER_NO_ACTIVE_CHANNEL')
  pbx.snapshotValue = bothTalking()
  const callsAfterFirst = pbx.calls.length
  const replay = await execute(app, '101', 'key-404')
  sameAnswer(t, replay, refused, 'replay')
  t.equal(replay.headers['idempotency-replayed'], 'true')
  t.equal(pbx.calls.length, callsAfterFirst)
})

t.test('a 5xx (Asterisk unavailable) is not kept: the retry acts', async (t) => {
  const { app, pbx } = await setup(t)
  pbx.snapshotError = new AsteriskUnavailableError('ARI is not connected')
  const failed = await execute(app, '101', 'key-503')
  t.equal(failed.statusCode, 503)
  t.equal(failed.json().code, 'XFER_ASTERISK_UNAVAILABLE')
  pbx.snapshotError = undefined
  const retry = await execute(app, '101', 'key-503')
  t.equal(retry.statusCode, 200)
  t.equal(retry.headers['idempotency-replayed'], undefined)
  t.equal(pbx.count('redirect'), 1)
  const again = await execute(app, '101', 'key-503')
  sameAnswer(t, again, retry, 'the success is kept')
})

t.test('an invalid key: 400 XFER_INVALID_INPUT and nothing done', async (t) => {
  const { app, pbx } = await setup(t)
  for (const key of ['', 'k'.repeat(256), 'clé', 'tab\there']) {
    const response = await execute(app, '101', key)
    t.equal(response.statusCode, 400, JSON.stringify(key))
    t.match(response.json(), { statusCode: 400, code: 'XFER_INVALID_INPUT', message: /Idempotency-Key/ })
  }
  t.same(pbx.calls, [])
  t.equal((await execute(app, '101', 'k'.repeat(255))).statusCode, 200, '255 characters are fine')
})

t.test('without a key nothing is replayed', async (t) => {
  const { app, pbx } = await setup(t)
  pbx.snapshotValue = noCalls()
  await execute(app, '101', undefined)
  const callsAfterFirst = pbx.calls.length
  const second = await execute(app, '101', undefined)
  t.equal(second.headers['idempotency-replayed'], undefined)
  t.ok(pbx.calls.length > callsAfterFirst, 'the second looked at the PBX again')
})

t.test('after the ttl the key acts again', async (t) => {
  const { app, pbx, clock } = await setup(t)
  pbx.snapshotValue = noCalls()
  t.equal((await execute(app, '101', 'key-ttl')).statusCode, 404)
  pbx.snapshotValue = bothTalking()
  clock.now = TTL_MS - 1
  t.equal((await execute(app, '101', 'key-ttl')).headers['idempotency-replayed'], 'true', 'still replayed just before')
  clock.now = TTL_MS
  const after = await execute(app, '101', 'key-ttl')
  t.equal(after.statusCode, 200)
  t.equal(after.headers['idempotency-replayed'], undefined)
  t.equal(pbx.count('redirect'), 1)
})

/** 101 in an attended transfer to 103, 103 answered. */
async function inConsultation (t: Test, { app, pbx }: Host): Promise<string> {
  pbx.hooks.attendedTransfer = () => {
    pbx.snapshotValue = scenes.consultation(CALL_101)
    void pbx.emitLater(...sequences.consultationStarts(CALL_101), ...sequences.targetAnswers(CALL_101))
  }
  const response = await execute(app, '101', undefined, { targetExtension: '103', transferType: 'attended' })
  t.equal(response.statusCode, 200, 'in consultation')
  return response.json().id
}

/** Each route's PBX action, and how Asterisk then ends the consultation (played by the fake PBX). */
const settles = {
  complete: {
    action: 'hangup',
    status: 'completed',
    arrange: (pbx: FakePbx) => {
      pbx.hooks.hangup = () => {
        pbx.snapshotValue = scenes.customerWithTargetThroughLocal(CALL_101)
        pbx.emit(...sequences.agentLeaves(CALL_101))
      }
    }
  },
  cancel: {
    action: 'cancelAttendedTransfer',
    status: 'cancelled',
    arrange: (pbx: FakePbx) => {
      pbx.hooks.cancelAttendedTransfer = () => {
        pbx.snapshotValue = bothTalking()
        void pbx.emitLater(...sequences.consultationCancelled(CALL_101))
      }
    }
  }
} as const

for (const route of ['complete', 'cancel'] as const) {
  const { action, status, arrange } = settles[route]
  t.test(`${route} with one key twice: one ${action}, the ${status} transfer again`, async (t) => {
    const host = await setup(t)
    const { app, pbx } = host
    const id = await inConsultation(t, host)
    arrange(pbx)
    const first = await post(app, '101', `/api/transfers/${id}/${route}`, `key-${route}`)
    t.equal(first.statusCode, 200)
    t.match(first.json(), { id, status })
    const replay = await post(app, '101', `/api/transfers/${id}/${route}`, `key-${route}`)
    sameAnswer(t, replay, first, 'replay')
    t.equal(replay.headers['idempotency-replayed'], 'true')
    t.equal(pbx.count(action), 1)
  })
}

t.test('swap with one key twice: the digits pressed once, the swapped transfer again (a second swap would swap back)', async (t) => {
  const host = await setup(t)
  const { app, pbx } = host
  const id = await inConsultation(t, host)
  await pbx.setVariable(CALL_101.agent, 'FEATURE(atxferswap)', '*4')
  pbx.hooks.pressDigits = () => {
    pbx.snapshotValue = scenes.swappedToCustomer(CALL_101)
    void pbx.emitLater(hold(CALL_101.agent), unhold(CALL_101.agent))
  }
  const first = await post(app, '101', `/api/transfers/${id}/swap`, 'key-swap')
  t.equal(first.statusCode, 200, first.body)
  t.match(first.json(), { id, talkingTo: 'customer' })
  const replay = await post(app, '101', `/api/transfers/${id}/swap`, 'key-swap')
  sameAnswer(t, replay, first, 'replay')
  t.equal(replay.headers['idempotency-replayed'], 'true')
  t.equal(pbx.count('pressDigits'), 1)
})

t.test('one key on another route or another transfer is another request', async (t) => {
  const { app } = await setup(t)
  const transferA = '00000000-0000-0000-0000-00000000000a'
  const transferB = '00000000-0000-0000-0000-00000000000b'
  const onA = await post(app, '101', `/api/transfers/${transferA}/complete`, 'same-key')
  t.equal(onA.statusCode, 404)
  const onB = await post(app, '101', `/api/transfers/${transferB}/complete`, 'same-key')
  t.equal(onB.headers['idempotency-replayed'], undefined)
  t.match(onB.json(), { code: 'XFER_TRANSFER_NOT_FOUND', message: new RegExp(transferB) })
  const cancelA = await post(app, '101', `/api/transfers/${transferA}/cancel`, 'same-key')
  t.equal(cancelA.headers['idempotency-replayed'], undefined)
  const executed = await execute(app, '101', 'same-key')
  t.equal(executed.statusCode, 200, 'nor is the body of complete (none) compared with that of execute')
})

t.test('a body sent to complete is ignored: the route takes none', async (t) => {
  const { app } = await setup(t)
  const url = '/api/transfers/00000000-0000-0000-0000-00000000000a/complete'
  const first = await post(app, '101', url, 'key-body')
  const withBody = await post(app, '101', url, 'key-body', { anything: true })
  t.equal(withBody.headers['idempotency-replayed'], 'true')
  sameAnswer(t, withBody, first, 'replay')
})

t.test('GET routes are not concerned', async (t) => {
  const { app, pbx } = await setup(t)
  for (let i = 0; i < 2; i++) {
    const response = await app.inject({ method: 'GET', url: '/api/transfers', headers: { authorization: 'Bearer 101', 'idempotency-key': '' } })
    t.equal(response.statusCode, 200, 'not even the key is checked')
    t.equal(response.headers['idempotency-replayed'], undefined)
  }
  t.same(pbx.calls, [])
})
