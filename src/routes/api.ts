/**
 * The plugin's HTTP surface in one encapsulated context: its own error shape, identity before anything
 * else, the transfer routes and the event feed. The host app's own routes are untouched by any of it.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { AgentService } from '../agents/agent-service.js'
import type { CallMonitor } from '../calls/call-monitor.js'
import type { EventLog } from '../domain/event-log.js'
import { eventFeedRoutes, type FeedStoreEvents } from '../feed/websocket-feed.js'
import type { ApiObserver } from '../metrics/api-observer.js'
import type { Authenticate } from '../identity.js'
import { RouteNotFoundError, StoreUnavailableError } from '../errors.js'
import { serializeRequest } from '../log-redaction.js'
import { IDEMPOTENCY_DEFAULTS, RATE_LIMIT_DEFAULTS } from '../options.js'
import type { TransferService } from '../transfers/transfer-service.js'
import type { Transfer } from '../domain/transfer.js'
import { requireIdentity } from '../authentication.js'
import { callRoutes } from './call-routes.js'
import { transferErrorHandler } from './error-handler.js'
import { replayIdempotentRequests, type IdempotencyOptions } from './idempotency.js'
import { limitTransferActions, type RateLimitOptions } from './rate-limit.js'
import { transferRoutes } from './transfer-routes.js'
import type { DestinationMap } from '../domain/destination.js'

export interface ApiRoutesOptions {
  transfers: TransferService
  monitor: Pick<CallMonitor, 'allCalls' | 'callsOf'>
  agents: Pick<AgentService, 'all' | 'available'>
  eventLog: EventLog
  authenticate: Authenticate
  feed?: { heartbeatIntervalMs?: number, maxBufferedBytes?: number, maxSocketsPerIdentity?: number, flushIntervalMs?: number }
  /** Replays of the transfer actions for a repeated `Idempotency-Key`. */
  idempotency?: IdempotencyOptions
  /** Per-identity limit of the transfer actions; `false`: none. */
  rateLimit?: RateLimitOptions | false
  destinations?: DestinationMap
  observer?: ApiObserver
  /** The transfer a channel is in, whichever instance owns it (default: the ones this instance owns). */
  transferOn?: (channel: string) => Transfer | undefined
  /** Several instances share their state: the routes that need it refuse with 503 while it is unreachable. */
  sharedState?: SharedStateView
}

/** What the routes need of the shared state (store/shared-state.ts). */
export interface SharedStateView {
  readonly available: boolean
  /** The Redis client the rate limiter counts on, so every instance counts the same budget. */
  readonly redis: RateLimitOptions['redis']
  /** What goes before the shared state's keys, the rate limit's counts too. */
  readonly keyPrefix: string
  readonly events: FeedStoreEvents
}

export const apiRoutes: FastifyPluginAsync<ApiRoutesOptions> = async (api, {
  transfers, monitor, agents, eventLog, authenticate, feed = {}, destinations = {},
  idempotency = IDEMPOTENCY_DEFAULTS, rateLimit = RATE_LIMIT_DEFAULTS, observer, sharedState,
  transferOn = (channel) => transfers.activeHereOnChannel(channel)
}) => {
  api.setErrorHandler(transferErrorHandler)
  redactRequestLines(api)
  if (observer !== undefined) observeAnswers(api, observer)
  requireIdentity(api, authenticate)
  // Unknown paths under the prefix answer in the plugin's shape too, after the identity check like the
  // routes. A catch-all route rather than a not-found handler, which would take neither the route
  // serializers (the URL would be logged with its token) nor the body parsing's error codes. The router
  // prefers every other route to it. Without a prefix the paths are the host's, and so is their 404.
  if (api.prefix !== '') {
    // `hide` keeps it out of an OpenAPI document (@fastify/swagger reads it; Fastify ignores it).
    const hidden = { hide: true } as Record<string, unknown>
    api.all('/*', { schema: hidden }, async (request: FastifyRequest) => { throw new RouteNotFoundError(request.method, pathOf(request.url)) })
  }
  // Both are preHandlers, run in this order. A replay, or a duplicate waiting for the first request's
  // answer, is answered before the rate limit: it sends nothing to Asterisk, so it spends nothing of the
  // budget, and a client retrying after a lost answer is not refused what it already got.
  if (sharedState !== undefined) refuseWithoutSharedState(api, sharedState)
  replayIdempotentRequests(api, idempotency)
  if (rateLimit !== false) await limitTransferActions(api, sharedState?.redis === undefined ? rateLimit : { ...rateLimit, redis: sharedState.redis, keyPrefix: sharedState.keyPrefix })
  await api.register(transferRoutes, { transfers, agents, destinations })
  await api.register(callRoutes, { monitor, transferOn })
  await api.register(eventFeedRoutes, {
    eventLog,
    ...feed,
    ...(observer === undefined ? {} : { observer: observer.feed }),
    ...(sharedState === undefined ? {} : { store: sharedState.events, storeAvailable: () => sharedState.available })
  })
}

/**
 * A transfer action (and its idempotency key, its rate budget) needs the shared state: while Redis is
 * unreachable it is refused at once with 503, before anything is claimed, counted or sent to Asterisk.
 */
function refuseWithoutSharedState (api: FastifyInstance, sharedState: SharedStateView): void {
  api.addHook('preHandler', async (request) => {
    const { config } = request.routeOptions
    if ((config.idempotent === true || config.rateLimited === true) && !sharedState.available) {
      throw new StoreUnavailableError('Redis is not connected')
    }
  })
}

/** Replays and rate-limit refusals, as answered: told by the replay's header and the 429 of a limited route. */
function observeAnswers (api: FastifyInstance, observer: ApiObserver): void {
  api.addHook('onResponse', async (request, reply) => {
    if (reply.getHeader('idempotency-replayed') === 'true') observer.replayed()
    else if (reply.statusCode === 429 && request.routeOptions.config.rateLimited === true) observer.rateLimited()
  })
}

/** The path alone, shortened: the query may hold a token, and the answer need not echo a huge URL. */
function pathOf (url: string): string {
  const query = url.indexOf('?')
  const path = query === -1 ? url : url.slice(0, query)
  return path.length > 120 ? `${path.slice(0, 120)}…` : path
}

/**
 * The feed's `?token=` stays out of the `incoming request` line of the plugin's routes, whatever the
 * host's logger options (`logRedaction` covers the host's other lines). Fastify has merged the
 * context's serializers into the route's before onRoute runs; ours goes on top of them.
 */
function redactRequestLines (api: FastifyInstance): void {
  api.addHook('onRoute', (route) => {
    // Fastify's typings say a serializer returns a string; pino takes any value.
    const req = serializeRequest as unknown as (value: unknown) => string
    route.logSerializers = Object.assign(Object.create(route.logSerializers ?? null) as Record<string, (value: unknown) => string>, { req })
  })
}
