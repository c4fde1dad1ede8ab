/**
 * The rate limit's counts in Redis, as a store of @fastify/rate-limit (its `store` option), with the one
 * thing the library's own Redis store lacks: giving a count back. A transfer action refused 503
 * XFER_STORE_UNAVAILABLE after it was counted did nothing, and its client is told to retry: counted, a
 * client retrying through a Redis failover spent its whole budget on refusals and was then refused 429 for
 * the rest of the window, after Redis was back.
 *
 * The counting is the library's own (a fixed window opened by the first request, in one script).
 */
import type { RedisClient } from './redis-connections.js'

/** KEYS: the identity's count. ARGV: the window (ms). `{count, ms left in the window}`. */
const COUNT = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if count == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`

/** KEYS: the identity's count. One less, never below zero, the window kept. */
const REFUND = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then return redis.call('DECR', KEYS[1]) end
return 0
`

interface Scripts {
  xferRateCount: (key: string, windowMs: number) => Promise<[number, number]>
  xferRateRefund: (key: string) => Promise<number>
}

type Counted = (error: Error | null, result?: { current: number, ttl: number }) => void

export class RedisRateCounts {
  readonly #redis: RedisClient & Scripts
  readonly #prefix: string

  /** `prefix` goes before the identity (one key per identity; in a cluster, each on its own slot). */
  constructor (redis: RedisClient, prefix: string) {
    if (!('xferRateCount' in redis)) redis.defineCommand('xferRateCount', { numberOfKeys: 1, lua: COUNT })
    if (!('xferRateRefund' in redis)) redis.defineCommand('xferRateRefund', { numberOfKeys: 1, lua: REFUND })
    this.#redis = redis as RedisClient & Scripts
    this.#prefix = prefix
  }

  /** The library's `incr`: counts one request of `identity`. */
  incr (identity: string, counted: Counted, timeWindowMs: number): void {
    this.#redis.xferRateCount(this.#prefix + identity, timeWindowMs).then(
      ([current, ttl]) => { counted(null, { current, ttl }) },
      (error: Error) => { counted(error) })
  }

  /** The library's `child` (a budget per route): the plugin gives every action one budget, so the same counts. */
  child (): this {
    return this
  }

  /**
   * Gives back one count of `identity`: its request did nothing. Sent again after a failover it could give
   * back one more than was counted, which at worst lets one more request through: a budget against floods,
   * not an account.
   */
  async refund (identity: string): Promise<void> {
    await this.#redis.xferRateRefund(this.#prefix + identity)
  }
}
