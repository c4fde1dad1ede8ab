/**
 * Per-identity rate limit of the transfer actions (routes marked `config: { rateLimited: true }`),
 * through @fastify/rate-limit: a runaway softphone or script cannot flood Asterisk with actions.
 * Refusals are 429 XFER_RATE_LIMITED in the plugin's error shape, with `Retry-After`. A request refused
 * 503 XFER_STORE_UNAVAILABLE after it was counted did nothing: its count is given back.
 */
import fastifyRateLimit, { type FastifyRateLimitStoreCtor } from '@fastify/rate-limit'
import type { Cluster, Redis } from 'ioredis'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify'
import { RateLimitedError, StoreUnavailableError } from '../errors.js'
import { identityOf } from '../authentication.js'
import { RedisRateCounts } from '../store/redis-rate-counts.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Counts against the identity's budget of transfer actions (routes/rate-limit.ts). Not
     * @fastify/rate-limit's own `rateLimit` config, which would give each route a budget of its own.
     */
    rateLimited?: boolean
  }
}

export interface RateLimitOptions {
  /** Transfer actions (execute, complete and cancel together) one identity may ask per window. */
  max: number
  timeWindowMs: number
  /** Counts in Redis, shared by every instance (one budget per identity, whichever instance it reaches). */
  redis?: Redis | Cluster | undefined
  /** Put before the counts' keys in Redis (the shared state's `keyPrefix`). */
  keyPrefix?: string
}

/**
 * Registers the limiter in `fastify` (the routes context) as a preHandler: after the identity hook
 * (the key is the authenticated extension, so agents behind one NAT do not share a budget) and after
 * validation (a malformed request is refused without spending the budget).
 */
export async function limitTransferActions (fastify: FastifyInstance, { max, timeWindowMs, redis, keyPrefix = 'fastify-asterisk-transfer:' }: RateLimitOptions): Promise<void> {
  const limits = {
    max,
    timeWindow: timeWindowMs,
    keyGenerator: (request: FastifyRequest) => identityOf(request).extension,
    errorResponseBuilder: (_request: FastifyRequest, { after }: { after: string }) => new RateLimitedError(after)
  }
  // global: false: only the routes given the limiter below are limited, never the feed or the host's routes.
  // With Redis: counted there, under the shared state's prefix; a Redis error refuses (skipOnError false)
  // rather than letting actions through uncounted, and the shared-state check answers 503 first.
  const counts = redis === undefined ? undefined : new RedisRateCounts(redis, `${keyPrefix}rate:`)
  const store = counts === undefined ? {} : { store: prebuilt(counts), skipOnError: false }
  await fastify.register(fastifyRateLimit, { global: false, ...limits, ...store })
  // One limiter for all the marked routes: an identity has one budget, not one per route.
  const limit = fastify.rateLimit(limits)
  const counted = new WeakSet<FastifyRequest>()
  fastify.addHook('preHandler', async function (request, reply) {
    if (request.routeOptions.config.rateLimited !== true) return
    try {
      await limit.call(this, request, reply)
    } catch (error) {
      // The counter's Redis failed under the request (a master dying between the shared-state check and
      // the count, or one master of a cluster down): nothing was done, retry later, as for the store.
      if ((error as { code?: string }).code?.startsWith('XFER_') === true || redis === undefined) throw error
      throw new StoreUnavailableError((error as Error).message)
    }
    counted.add(request)
  })
  if (counts === undefined) return
  // Refused for the shared state after the count (its master died meanwhile, or the one of a cluster slot
  // the count does not live on): nothing reached Asterisk, and the client is told to retry, which must
  // not spend the budget it needs once Redis is back. Only without Redis is there no such refusal.
  fastify.addHook('onError', async (request, _reply, error) => {
    if (error.code !== 'XFER_STORE_UNAVAILABLE' || !counted.has(request)) return
    await giveBack(counts, identityOf(request).extension, request.log)
  })
}

/** How long a refund is tried again while the count's master is failing over (a failover takes 2-3 s). */
const REFUND_RETRY_MS = 250
const REFUND_RETRIES = 20

/**
 * Gives the count back: the first try is awaited (it lands before the client's retry), the next ones,
 * when the count's own master is the one failing over, run in the background until it is back.
 */
async function giveBack (counts: RedisRateCounts, identity: string, log: FastifyBaseLogger): Promise<void> {
  try {
    await counts.refund(identity)
  } catch {
    void (async () => {
      for (let attempt = 1; attempt <= REFUND_RETRIES; attempt++) {
        await sleep(REFUND_RETRY_MS, undefined, { ref: false })
        try {
          await counts.refund(identity)
          return
        } catch (error) {
          if (attempt === REFUND_RETRIES) log.warn({ err: error, identity }, 'a refused request\'s rate-limit count could not be given back')
        }
      }
    })()
  }
}

/** @fastify/rate-limit builds its store with `new`; this one is built already, as it is refunded here. */
function prebuilt (counts: RedisRateCounts): FastifyRateLimitStoreCtor {
  // A constructor that returns an object gives that object to `new`.
  return function PrebuiltStore () { return counts } as unknown as FastifyRateLimitStoreCtor
}
