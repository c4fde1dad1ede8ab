// Property-based fuzzing of the routes' inputs with fast-check: random bodies (objects and raw bytes),
// transfer ids, `since` values, tokens and Idempotency-Keys. Whatever is generated, a request that is
// not valid gets its 4xx with a stable code in the plugin's shape and nothing reaches the PBX; a valid
// transfer still works once the fuzzing is over. On a failure fast-check prints the seed and the
// smallest input it found.
import fc from 'fast-check'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import t from 'tap'
import Value from 'typebox/value'
import { ExecuteTransferBody } from '../../src/routes/schemas.js'
import { mountApi } from '../helpers/api-host.js'
import { AGENT, CONTEXT, CUSTOMER, FakePbx, snapshotOf } from '../helpers/fake-pbx.js'
import { AGENT_101, tokenIdentity } from '../helpers/hostile-corpus.js'

const RUNS = 250

/** Strings that look like what an attacker tries on an AMI-backed API, mixed with random ones. */
const fragment = fc.constantFrom('103', '101', '102', '\r\n', '\n', '\r', '\u0000', 'Action: Hangup', 'Channel: ', '/.*/', '/',
  '@', ',', ';', '${EXTEN}', '__proto__', 'constructor', 'prototype', '１', '\u200b', '\u202e', '😀', '\ud800', ' ', '\t', 'blind', 'attended')
const hostileString = fc.oneof(
  fc.array(fragment, { maxLength: 6 }).map((parts) => parts.join('')),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'binary-ascii', maxLength: 40 }),
  fc.string({ minLength: 30, maxLength: 2000 })
)
const hostileValue = fc.oneof(hostileString, fc.jsonValue({ maxDepth: 3 }), fc.constantFrom('103', 'blind', 'attended'))
const bodyObject = fc.tuple(
  fc.record({ targetExtension: hostileValue, transferType: hostileValue, extension: hostileValue }, { requiredKeys: [] }),
  fc.dictionary(fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'channel', 'context', 'Action')), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 })
).map(([fields, extra]) => ({ ...extra, ...fields }))

/** The percent-encoding of every byte: any string (or byte soup) becomes a path segment. */
const encoded = (bytes: Uint8Array): string => [...bytes].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('')
const segment = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }).map((text) => encoded(Buffer.from(text))),
  fc.uint8Array({ maxLength: 40 }).map(encoded),
  fc.stringMatching(/^[0-9a-f-]{30,40}$/)
)

const isValidBody = (body: unknown): boolean => Value.Check(ExecuteTransferBody, body)

t.test('fuzzed requests: a stable 4xx every time, nothing sent to the PBX, and the server still transfers', async (t) => {
  const pbx = new FakePbx(snapshotOf([CUSTOMER, AGENT]))
  const { app } = await mountApi(t, pbx, { authenticate: tokenIdentity, rateLimit: false })
  let requests = 0
  const send = async (options: InjectOptions): Promise<LightMyRequestResponse> => {
    requests++
    return await app.inject({ ...options, headers: { authorization: AGENT_101, ...options.headers } })
  }
  /** Throws (which fails the property) unless the answer is a 4xx with one of `codes` in the plugin's shape. */
  const expectRefusal = (response: LightMyRequestResponse, codes: string[]): void => {
    const body = response.json()
    const keys = Object.keys(body).sort().join(',')
    if (response.statusCode < 400 || response.statusCode > 499 || !codes.includes(body.code) || keys !== 'code,error,message,statusCode' || body.statusCode !== response.statusCode) {
      throw new Error(`answered ${response.statusCode} ${response.body.slice(0, 200)}`)
    }
    if (pbx.actions().length > 0) throw new Error(`an action reached the PBX: ${JSON.stringify(pbx.actions())}`)
  }

  await t.resolves(fc.assert(fc.asyncProperty(bodyObject, async (body) => {
    fc.pre(!isValidBody(body))
    expectRefusal(await send({ method: 'POST', url: '/api/transfers/execute', payload: body }), ['XFER_INVALID_INPUT'])
  }), { numRuns: RUNS }), 'execute: random objects')

  const rawBody = fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.json({ maxDepth: 3 }), bodyObject.map((body) => JSON.stringify(body).slice(0, -1)))
  await t.resolves(fc.assert(fc.asyncProperty(rawBody, async (raw) => {
    let parsed: unknown
    try { parsed = JSON.parse(raw) } catch { parsed = undefined }
    fc.pre(!isValidBody(parsed))
    expectRefusal(await send({ method: 'POST', url: '/api/transfers/execute', payload: raw, headers: { 'content-type': 'application/json' } }), ['XFER_INVALID_INPUT'])
  }), { numRuns: RUNS }), 'execute: random raw bodies')

  const idRoute = fc.constantFrom('GET /api/transfers/:id', 'POST /api/transfers/:id/complete', 'POST /api/transfers/:id/cancel')
  await t.resolves(fc.assert(fc.asyncProperty(idRoute, segment, async (route, id) => {
    const [method, path] = route.split(' ') as ['GET' | 'POST', string]
    const response = await send({ method, url: path.replace(':id', id) })
    // An id of the right shape is merely unknown; an empty or too long one names no route; broken
    // percent-encoding is refused by Fastify's router before any route runs.
    expectRefusal(response, ['XFER_INVALID_INPUT', 'XFER_TRANSFER_NOT_FOUND', 'XFER_ROUTE_NOT_FOUND', 'FST_ERR_BAD_URL'])
  }), { numRuns: RUNS }), 'transfer ids')

  await t.resolves(fc.assert(fc.asyncProperty(segment, async (since) => {
    const response = await send({ method: 'GET', url: `/api/events?since=${since}` })
    // A valid since on a plain GET: the feed asks for the upgrade.
    const valid = /^[0-9]{1,15}$/.test(decodeURIComponentSafe(since))
    expectRefusal(response, valid ? ['XFER_UPGRADE_REQUIRED'] : ['XFER_INVALID_INPUT'])
  }), { numRuns: RUNS }), 'feed since')

  const headerText = fc.string({ unit: 'binary', maxLength: 200 }).map((text) => text.replace(/[^\t\x20-\x7e\x80-\xff]/g, ''))
  await t.resolves(fc.assert(fc.asyncProperty(headerText, fc.boolean(), async (token, bearer) => {
    const authorization = bearer ? `Bearer ${token}` : token
    fc.pre(!/^Bearer token-(10[1-7]|super)$/.test(authorization))
    expectRefusal(await send({ method: 'POST', url: '/api/transfers/execute', headers: { authorization }, payload: { targetExtension: '103', transferType: 'blind' } }), ['XFER_UNAUTHENTICATED'])
  }), { numRuns: RUNS }), 'tokens')

  const printable = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 300 })
  const badKey = fc.oneof(
    fc.tuple(printable, fc.constantFrom('\t', '\u0080', 'é', '\u00ff', 'ß'), printable).map((parts) => parts.join('')),
    fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((code) => String.fromCharCode(code)), minLength: 256, maxLength: 2000 })
  )
  await t.resolves(fc.assert(fc.asyncProperty(badKey, async (key) => {
    expectRefusal(await send({ method: 'POST', url: '/api/transfers/execute', headers: { 'idempotency-key': key }, payload: { targetExtension: '103', transferType: 'blind' } }), ['XFER_INVALID_INPUT'])
  }), { numRuns: RUNS }), 'Idempotency-Keys')

  t.ok(requests > RUNS * 4, `${requests} fuzzed requests`)
  const transfer = await send({ method: 'POST', url: '/api/transfers/execute', payload: { targetExtension: '103', transferType: 'blind' } })
  t.equal(transfer.statusCode, 200, 'the server still transfers a call')
  t.same(pbx.actions(), [{ method: 'redirect', args: [CUSTOMER, '103', CONTEXT] }])
})

function decodeURIComponentSafe (text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}
