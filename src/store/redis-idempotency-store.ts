/**
 * Idempotency keys shared by every instance: a retry that lands on another instance than the first
 * request still gets the first answer. One hash per key (`idem:<sha256 of the scoped key>`): the
 * request's fingerprint, the token of the request that holds it, and its answer once known.
 *
 * A key held by a request still running elsewhere is polled until its answer is there. The holder's
 * claim lasts `pendingMs` at most: an instance that dies mid-request frees the key for the retry.
 *
 * Both scripts are safe to run twice with the same arguments (ioredis may send one again after a
 * failover): a claim run again finds its own token and is first again; a finish run again finds the
 * token gone and changes nothing. One key per script: any slot of a cluster.
 */
import { createHash, randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Claim, IdempotencyKeys, StoredAnswer } from './idempotency-keys.js'
import type { RedisClient } from './redis-connections.js'
import { RedisKeys } from './redis-keys.js'

/**
 * KEYS: key. ARGV: fingerprint, token, pending ms. {'first'} or {fingerprint, answer|false}. The token
 * is new for each request: found, it is this very claim run again.
 */
export const CLAIM = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'token', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {'first'}
end
if redis.call('HGET', KEYS[1], 'token') == ARGV[2] then return {'first'} end
return redis.call('HMGET', KEYS[1], 'fp', 'answer')
`

/** KEYS: key. ARGV: token, answer ('' to drop the key), ttl ms. Only the holder's own claim is finished. */
export const FINISH = `
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'answer', ARGV[2])
  redis.call('HDEL', KEYS[1], 'token')
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return 1
`

interface Scripts {
  idemClaim: (key: string, fingerprint: string, token: string, pendingMs: number) => Promise<[string, string | null] | ['first']>
  idemFinish: (key: string, token: string, answer: string, ttlMs: number) => Promise<number>
}

export interface RedisIdempotencyOptions {
  commands: RedisClient
  writes: RedisClient
  prefix: string
  ttlMs: number
  /** How long a request may hold a key before its answer is stored (longer than any transfer action). */
  pendingMs?: number
  /** How often a duplicate looks for the first request's answer. */
  pollMs?: number
}

export class RedisIdempotencyStore implements IdempotencyKeys {
  readonly #commands: RedisClient & Scripts
  readonly #writes: RedisClient & Scripts
  readonly #keys: RedisKeys
  readonly #ttlMs: number
  readonly #pendingMs: number
  readonly #pollMs: number

  constructor (options: RedisIdempotencyOptions) {
    for (const client of [options.commands, options.writes]) {
      if (!('idemClaim' in client)) client.defineCommand('idemClaim', { numberOfKeys: 1, lua: CLAIM })
      if (!('idemFinish' in client)) client.defineCommand('idemFinish', { numberOfKeys: 1, lua: FINISH })
    }
    this.#commands = options.commands as RedisClient & Scripts
    this.#writes = options.writes as RedisClient & Scripts
    this.#keys = new RedisKeys(options.prefix)
    this.#ttlMs = options.ttlMs
    this.#pendingMs = Math.min(options.pendingMs ?? 60_000, options.ttlMs)
    this.#pollMs = options.pollMs ?? 50
  }

  async claim (key: string, requestFingerprint: string): Promise<Claim> {
    const redisKey = this.#keys.idempotency(createHash('sha256').update(key).digest('hex'))
    const token = randomUUID()
    const found = await this.#commands.idemClaim(redisKey, requestFingerprint, token, this.#pendingMs)
    if (found[0] === 'first') {
      return {
        kind: 'first',
        finish: (answer, keep) => {
          const stored = keep && answer !== undefined ? JSON.stringify(answer) : ''
          // Queued while Redis is down: the answer is stored once it is back.
          this.#writes.idemFinish(redisKey, token, stored, this.#ttlMs).catch(() => {})
        }
      }
    }
    const [fingerprint, answer] = found
    if (fingerprint !== requestFingerprint) return { kind: 'conflict' }
    if (answer !== null && answer !== undefined) return { kind: 'same', answer: Promise.resolve(JSON.parse(answer) as StoredAnswer) }
    return { kind: 'same', answer: this.#awaitAnswer(redisKey, requestFingerprint) }
  }

  /** The first request's answer once stored; undefined when its claim went away without one. */
  async #awaitAnswer (redisKey: string, requestFingerprint: string): Promise<StoredAnswer | undefined> {
    for (;;) {
      await sleep(this.#pollMs)
      const [fingerprint, answer] = await this.#commands.hmget(redisKey, 'fp', 'answer')
      if (fingerprint !== requestFingerprint) return undefined
      if (answer !== null && answer !== undefined) return JSON.parse(answer) as StoredAnswer
    }
  }
}
