/**
 * Per-identity rate limit of the transfer actions (routes marked `config: { rateLimited: true }`),
 * through @fastify/rate-limit: a runaway softphone or script cannot flood Asterisk with actions.
 * Refusals are 429 XFER_RATE_LIMITED in the plugin's error shape, with `Retry-After`.
 */
import fastifyRateLimit from '@fastify/rate-limit'
import type { Cluster, Redis } from 'ioredis'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { RateLimitedError, StoreUnavailableError } from '../errors.js'
import { identityOf } from '../authentication.js'

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
}

/**
 * Registers the limiter in `fastify` (the routes context) as a preHandler: after the identity hook
 * (the key is the authenticated extension, so agents behind one NAT do not share a budget) and after
 * validation (a malformed request is refused without spending the budget).
 */
export async function limitTransferActions (fastify: FastifyInstance, { max, timeWindowMs, redis }: RateLimitOptions): Promise<void> {
  const limits = {
    max,
    timeWindow: timeWindowMs,
    keyGenerator: (request: FastifyRequest) => identityOf(request).extension,
    errorResponseBuilder: (_request: FastifyRequest, { after }: { after: string }) => new RateLimitedError(after)
  }
  // global: false: only the routes given the limiter below are limited, never the feed or the host's routes.
  // With Redis: counted there, under the plugin's own namespace; a Redis error refuses (skipOnError
  // false) rather than letting actions through uncounted, and the shared-state check answers 503 first.
  const store = redis === undefined ? {} : { redis, nameSpace: 'fastify-asterisk-transfer:rate:', skipOnError: false }
  await fastify.register(fastifyRateLimit, { global: false, ...limits, ...store })
  // One limiter for all the marked routes: an identity has one budget, not one per route.
  const limit = fastify.rateLimit(limits)
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
  })
}
