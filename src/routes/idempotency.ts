/**
 * `Idempotency-Key` on the routes marked `config: { idempotent: true }`: a softphone that retries a
 * transfer action (its request timed out, the answer was lost) gets the first answer again instead of
 * transferring the call twice. The fingerprint and the store are plain code, tested apart from Fastify.
 */
import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { IdempotencyKeyReusedError, InvalidInputError, StoreUnavailableError } from '../errors.js'
import { identityOf } from '../authentication.js'
import { IdempotencyStore, type Claim, type IdempotencyKeys, type StoredAnswer } from '../store/idempotency-keys.js'

export { IdempotencyStore, type Claim, type IdempotencyKeys, type StoredAnswer } from '../store/idempotency-keys.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A repeated `Idempotency-Key` gets the first answer again (routes/idempotency.ts). */
    idempotent?: boolean
  }
}

export interface IdempotencyOptions {
  /** How long a key is remembered, from its first use. */
  ttlMs: number
  /** Keys remembered at most; the oldest is forgotten first. */
  maxKeys: number
  /** The clock (tests inject one). */
  now?: () => number
  /** Where the keys live: shared by every instance (Redis), or this process's memory (the default). */
  store?: IdempotencyKeys
}

/** JSON with object keys sorted at every depth, so `{a, b}` and `{b, a}` read the same. */
export function canonicalJson (value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const fields = Object.entries(value)
      .filter(([, field]) => field !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, field]) => `${JSON.stringify(name)}:${canonicalJson(field)}`)
    return `{${fields.join(',')}}`
  }
  return JSON.stringify(value ?? null)
}

/** SHA-256 of the canonical JSON: a request is compared to the first one without keeping its body. */
export function fingerprint (value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex')
}

const KEY_HEADER = 'idempotency-key'
/** 1 to 255 printable ASCII characters: long enough for a UUID or a ULID with a prefix. */
const VALID_KEY = /^[\x20-\x7E]{1,255}$/
/** The first answer's headers that a replay repeats; the others (rate-limit counters) told of that moment. */
const REPLAYED_HEADERS = ['content-type', 'retry-after']

/**
 * Kept: successes and refusals, which a retry would only repeat. Not kept: 5xx (Asterisk unavailable,
 * timed out), so the retry acts again, and 429, so the retry after `Retry-After` is not refused again.
 */
export function isKept (statusCode: number): boolean {
  return (statusCode >= 200 && statusCode < 300) || (statusCode >= 400 && statusCode < 500 && statusCode !== 429)
}

/** A store that cannot be reached (Redis down) refuses the request: nothing was done, retry later. */
async function claimOrRefuse (store: IdempotencyKeys, key: string, print: string): Promise<Claim> {
  try {
    return await store.claim(key, print)
  } catch (error) {
    throw new StoreUnavailableError((error as Error).message)
  }
}

/** The key of the request, `undefined` without one; refuses a malformed key before anything is done. */
function idempotencyKeyOf (request: FastifyRequest): string | undefined {
  const key = request.headers[KEY_HEADER]
  if (key === undefined) return undefined
  if (typeof key !== 'string' || !VALID_KEY.test(key)) {
    throw new InvalidInputError('Idempotency-Key must be 1 to 255 printable ASCII characters')
  }
  return key
}

/** The identity's own key space, per route and resource: one key on transfer A and B means two things. */
function scopedKey (request: FastifyRequest, key: string): string {
  const query = request.url.indexOf('?')
  const path = query === -1 ? request.url : request.url.slice(0, query)
  return JSON.stringify([identityOf(request).extension, request.method, path, key])
}

/** Only what the route validated counts: a body sent to a route without a body schema is ignored. */
function requestFingerprint (request: FastifyRequest): string {
  return fingerprint(request.routeOptions.schema?.body === undefined ? null : request.body)
}

function storedAnswer (reply: FastifyReply, payload: unknown): StoredAnswer | undefined {
  if (typeof payload !== 'string') return undefined
  const headers: Record<string, string> = {}
  for (const name of REPLAYED_HEADERS) {
    const value = reply.getHeader(name)
    if (value !== undefined) headers[name] = String(value)
  }
  return { statusCode: reply.statusCode, headers, body: payload }
}

/**
 * Adds the hooks to `fastify` (the routes context). The preHandler runs after validation and identity;
 * the answer is stored in onSend, where it is final (serialized, error handler applied).
 */
export function replayIdempotentRequests (fastify: FastifyInstance, options: IdempotencyOptions): void {
  const store = options.store ?? new IdempotencyStore(options)
  const finishes = new WeakMap<FastifyRequest, (answer: StoredAnswer | undefined, keep: boolean) => void>()

  /** The answer this request must replay, or `undefined` once it holds the key and may act. */
  const answerToReplay = async (request: FastifyRequest, key: string): Promise<StoredAnswer | undefined> => {
    const print = requestFingerprint(request)
    for (;;) {
      const claim = await claimOrRefuse(store, key, print)
      if (claim.kind === 'conflict') throw new IdempotencyKeyReusedError()
      if (claim.kind === 'first') {
        finishes.set(request, claim.finish)
        return undefined
      }
      // Concurrent duplicates share the first one's answer, even a 5xx: they were the same attempt.
      // Nothing to share (the first got no answer out): the key is free again, take it.
      // Redis lost while waiting for it (a failover): nothing was done for this request, retry later.
      const answer = await claim.answer.catch((error: unknown) => { throw new StoreUnavailableError((error as Error).message) })
      if (answer !== undefined) return answer
    }
  }

  fastify.addHook('preHandler', async (request, reply) => {
    if (request.routeOptions.config.idempotent !== true) return
    const key = idempotencyKeyOf(request)
    if (key === undefined) return
    const answer = await answerToReplay(request, scopedKey(request, key))
    if (answer === undefined) return
    request.log.info({ statusCode: answer.statusCode }, 'idempotent request replayed')
    void reply.code(answer.statusCode).headers(answer.headers).header('idempotency-replayed', 'true').send(answer.body)
    return reply
  })

  const finish = (request: FastifyRequest, answer: StoredAnswer | undefined, keep: boolean): void => {
    const settle = finishes.get(request)
    if (settle === undefined) return
    finishes.delete(request)
    settle(answer, keep)
  }

  fastify.addHook('onSend', async (request, reply, payload) => {
    finish(request, storedAnswer(reply, payload), isKept(reply.statusCode))
    return payload
  })

  // Should a first request end without onSend, its key must not stay taken with its duplicates waiting.
  fastify.addHook('onResponse', async (request) => { finish(request, undefined, false) })
}
