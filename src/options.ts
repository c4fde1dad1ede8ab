/**
 * The plugin's options: their schema, defaults and the check at registration. A wrong option fails
 * `register` with a message naming the option, never a confusing error at the first call.
 */
import Type, { type Static } from 'typebox'
import Value from 'typebox/value'
import type { AgentSource } from './agents/agent-directory.js'
import type { RedisSetting } from './store/redis-connections.js'
import { checkRedisSetting } from './store/redis-setting.js'
import { DEFAULT_MAX_SOCKETS_PER_IDENTITY } from './feed/websocket-feed.js'
import type { Authenticate } from './identity.js'
import type { AuthorizeTransfer } from './transfers/transfer-policy.js'
import { Destination } from './domain/destination.js'
import {
  resolveServers, serverListProblems, singleServerPool, singleServerProblems, TRANSFER_CONTEXT_PATTERN,
  type AmiConnection, type AriConnection, type ResolvedServer, type ServerOption, type ServerProblem
} from './server-options.js'

const Millis = Type.Integer({ minimum: 1, maximum: 600_000 })

/** Also the defaults of the routes context registered on its own (tests). */
export const IDEMPOTENCY_DEFAULTS = { ttlMs: 600_000, maxKeys: 10_000 }
export const RATE_LIMIT_DEFAULTS = { max: 30, timeWindowMs: 60_000 }

/**
 * The part of the options that is data (checked by schema); the hooks are checked separately, and so
 * are the servers (`server-options.ts`): `servers`, or the single `ami` + `ari`.
 */
export const PluginDataOptions = Type.Object({
  prefix: Type.String({ pattern: '^(/[A-Za-z0-9._~-]+)*$', default: '/api' }),
  /** Where transfer targets are dialed: every server's, unless a server of `servers` gives its own. */
  transferContext: Type.String({ pattern: TRANSFER_CONTEXT_PATTERN, default: 'from-internal' }),
  channelTechnology: Type.String({ pattern: '^[A-Za-z0-9_]{1,16}$', default: 'PJSIP' }),
  actionTimeoutMs: Type.Optional(Millis),
  /** How long an attended transfer may take to show its Hold and dial; defaults to actionTimeoutMs. */
  consultationTimeoutMs: Type.Optional(Millis),
  reconnect: Type.Object({
    initialDelayMs: Type.Integer({ minimum: 10, default: 500 }),
    maxDelayMs: Type.Integer({ minimum: 10, default: 10_000 })
  }, { default: {} }),
  amiPingIntervalMs: Type.Integer({ minimum: 0, default: 15_000 }),
  /** How often transfers in progress are checked against the PBX (they also are after every reconnect); 0: only then. */
  reconcileIntervalMs: Type.Integer({ minimum: 0, maximum: 3_600_000, default: 30_000 }),
  /** How long each state that is not final may last; past it the transfer is checked and, if stuck, failed. */
  deadlines: Type.Object({
    initiatedMs: Type.Integer({ minimum: 1000, maximum: 86_400_000, default: 60_000 }),
    redirectedMs: Type.Integer({ minimum: 1000, maximum: 86_400_000, default: 3_600_000 }),
    consultingMs: Type.Integer({ minimum: 1000, maximum: 86_400_000, default: 600_000 }),
    targetAnsweredMs: Type.Integer({ minimum: 1000, maximum: 86_400_000, default: 14_400_000 })
  }, { default: {} }),
  /** How often `GET /asterisk/ping` checks that ARI is alive (a refused or reset ARI is otherwise only seen by a request timing out); 0 disables it. */
  ariPingIntervalMs: Type.Integer({ minimum: 0, default: 15_000 }),
  /** Named transfer destinations beyond agents: queues, voicemail boxes, external numbers, parking lots. */
  destinations: Type.Record(Type.String({ pattern: '^[0-9A-Za-z*#+_-]{1,32}$' }), Destination, { default: {} }),
  /**
   * Write Asterisk's own `queue_log` lines (`BLINDTRANSFER`, `ATTENDEDTRANSFER`, through AMI `QueueLog`,
   * which needs `agent`, read and write) for transfers of calls that came through a queue, where Asterisk writes
   * none (see queue-log-lines.ts): queue reports then count them.
   */
  queueLog: Type.Boolean({ default: false }),
  /** Let targets that are neither agents nor destinations through (any extension of transferContext). */
  allowFreeDialing: Type.Boolean({ default: false }),
  /** Transfer recall for blind transfers to agents; `false` in the options turns it off. */
  recall: Type.Object({
    /** How long the target may ring before the customer comes back (shorter than the usual 30 s Dial). */
    afterMs: Type.Integer({ minimum: 1000, maximum: 600_000, default: 20_000 }),
    /** How long the transferring agent's phone rings for the recall before the fallback. */
    ringAgentMs: Type.Integer({ minimum: 1000, maximum: 600_000, default: 15_000 }),
    /** A destination (from `destinations`) for customers the agent cannot take back. */
    fallback: Type.Optional(Type.String({ pattern: '^[0-9A-Za-z*#+_-]{1,32}$' })),
    /** The dialplan context the plugin adds for it (over AMI, at start and after reloads). */
    context: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,79}$', default: 'fastify-transfer-recall' })
  }, { default: {} }),
  /**
   * Keep the customer recorded through a transfer when the agent's leg is recorded (MixMonitor on the
   * agent's side, which ends with that leg): the plugin records the customer's channel too.
   */
  followRecordings: Type.Boolean({ default: false }),
  /** A transfer to an agent on a call: refused (409 XFER_TARGET_BUSY) or allowed (call waiting, or recall). */
  busyTargets: Type.Union([Type.Literal('refuse'), Type.Literal('allow')], { default: 'refuse' }),
  feed: Type.Object({
    /** Events kept for clients that reconnect with `?since=`. */
    capacity: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1000 }),
    heartbeatIntervalMs: Type.Integer({ minimum: 10, default: 30_000 }),
    /** Unsent bytes a socket may hold before it is closed as a slow consumer (close code 4008). */
    maxBufferedBytes: Type.Integer({ minimum: 1024, default: 1024 * 1024 }),
    /** Open feed sockets per identity; one more is closed at once with close code 4029. */
    maxSocketsPerIdentity: Type.Integer({ minimum: 1, maximum: 10_000, default: DEFAULT_MAX_SOCKETS_PER_IDENTITY })
  }, { default: {} }),
  /** Replays for a repeated `Idempotency-Key` on execute, complete and cancel. */
  idempotency: Type.Object({
    /** How long a key is remembered after its first use: longer than any client retries. */
    ttlMs: Type.Integer({ minimum: 1000, maximum: 86_400_000, default: IDEMPOTENCY_DEFAULTS.ttlMs }),
    /** Keys remembered at most (the oldest is forgotten first): bounds the memory. */
    maxKeys: Type.Integer({ minimum: 1, maximum: 1_000_000, default: IDEMPOTENCY_DEFAULTS.maxKeys })
  }, { default: {} }),
  /** Transfer actions (execute, complete, cancel together) per identity per window; `false` in the options turns it off. */
  rateLimit: Type.Object({
    max: Type.Integer({ minimum: 1, maximum: 1_000_000, default: RATE_LIMIT_DEFAULTS.max }),
    timeWindowMs: Type.Integer({ minimum: 1000, maximum: 86_400_000, default: RATE_LIMIT_DEFAULTS.timeWindowMs })
  }, { default: {} }),
  /** With `redis`: how the instances share it. */
  sharedState: Type.Object({
    /** Put before every key: several apps (or environments) can share one Redis. */
    keyPrefix: Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,64}$', default: 'fastify-asterisk-transfer:' }),
    /** How long an instance's claim on its transfers lasts unrenewed: how soon another takes over a lost instance's. */
    leaseMs: Type.Integer({ minimum: 1000, maximum: 600_000, default: 10_000 })
  }, { default: {} }),
  /** Liveness and readiness routes for load balancers and orchestrators, outside `prefix` and its authentication. */
  health: Type.Object({
    livePath: Type.Union([Type.String({ pattern: '^(/[A-Za-z0-9._~-]+)+$' }), Type.Literal(false)], { default: '/health/live' }),
    readyPath: Type.Union([Type.String({ pattern: '^(/[A-Za-z0-9._~-]+)+$' }), Type.Literal(false)], { default: '/health/ready' })
  }, { default: {} })
})

/**
 * Prometheus metrics (`metrics: true`, or these): off unless asked. `path: false` serves no route; the
 * host exposes `asteriskTransfers.metrics` itself (on its own port, behind its own auth).
 */
export const MetricsOptions = Type.Object({
  /** Put before every metric's name: one prefix per app when several share a Prometheus job. */
  prefix: Type.String({ pattern: '^[a-zA-Z_:][a-zA-Z0-9_:]{0,63}$', default: 'asterisk_transfer_' }),
  /** Where the host app serves the scrape, outside `prefix` and its authentication. */
  path: Type.Union([Type.String({ pattern: '^(/[A-Za-z0-9._~-]+)+$' }), Type.Literal(false)], { default: '/metrics' })
}, { additionalProperties: false })

type DataOptions = Static<typeof PluginDataOptions>
export type ResolvedMetricsOptions = Static<typeof MetricsOptions>

export interface FastifyAsteriskTransferOptions extends Partial<Omit<DataOptions, 'reconnect' | 'feed' | 'idempotency' | 'rateLimit' | 'deadlines' | 'recall' | 'sharedState' | 'health'>> {
  /**
   * Several instances behind a load balancer share their state on Redis: a URL (`redis://…`), ioredis
   * options (with `sentinels` and `name`: the master that Sentinel names, followed across failovers),
   * a cluster (`{ cluster: ['host:port', …], options? }`), or the host's own ioredis `Redis` or
   * `Cluster` (duplicated, never closed). Without it, this process alone.
   */
  redis?: RedisSetting
  sharedState?: Partial<DataOptions['sharedState']>
  health?: Partial<DataOptions['health']>
  recall?: Partial<DataOptions['recall']> | false
  deadlines?: Partial<DataOptions['deadlines']>
  /** The agents: a list or a function (e.g. the host's user directory); default: Asterisk's endpoints. */
  agents?: AgentSource
  /** Business rules checked before every transfer asked through the routes. */
  authorizeTransfer?: AuthorizeTransfer
  /**
   * The Asterisk servers the plugin drives, each `{ name, ami, ari, transferContext? }`: at least one,
   * names unique (a lowercase letter, then up to 31 lowercase letters, digits, _ or -). Or, for one
   * server, `ami` and `ari` alone: a pool of one named `default`. Not both.
   */
  servers?: readonly ServerOption[]
  /** The single server's AMI (without `servers`). */
  ami?: AmiConnection
  /** The single server's ARI (without `servers`). */
  ari?: AriConnection
  reconnect?: Partial<Static<typeof PluginDataOptions>['reconnect']>
  feed?: Partial<Static<typeof PluginDataOptions>['feed']>
  idempotency?: Partial<DataOptions['idempotency']>
  rateLimit?: Partial<DataOptions['rateLimit']> | false
  /** Prometheus metrics: off by default; `true` serves them at `/metrics`. */
  metrics?: boolean | Partial<ResolvedMetricsOptions>
  authenticate: Authenticate
}

export type ResolvedOptions = Omit<DataOptions, 'rateLimit' | 'recall'> & {
  /** The pool, in the order given: at least one server, names unique, each with its transfer context. */
  servers: ResolvedServer[]
  redis?: RedisSetting
  rateLimit: DataOptions['rateLimit'] | false
  metrics: ResolvedMetricsOptions | false
  recall: DataOptions['recall'] | false
  actionTimeoutMs: number
  consultationTimeoutMs: number
  authenticate: Authenticate
  agents?: AgentSource
  authorizeTransfer?: AuthorizeTransfer
}

const DEFAULT_ACTION_TIMEOUT_MS = 5000

export function resolveOptions (options: FastifyAsteriskTransferOptions): ResolvedOptions {
  const { authenticate, agents, authorizeTransfer, rateLimit, metrics, recall, redis, servers, ami, ari, ...rest } = options as FastifyAsteriskTransferOptions & Record<string, unknown>
  // `false` is taken out before the check, so a wrong limit is named precisely (a union would only say
  // "must be boolean"); it is put back below.
  const data = { ...rest, ...(rateLimit === false ? {} : { rateLimit }), ...(recall === false ? {} : { recall }) }
  const withDefaults = Value.Default(PluginDataOptions, Value.Clone(data)) as DataOptions
  const [problem] = Value.Errors(PluginDataOptions, withDefaults)
  if (problem !== undefined) {
    // A missing property is reported at its parent: name the property itself.
    const missing = (problem.params as { requiredProperties?: string[] }).requiredProperties?.[0]
    const path = [...problem.instancePath.split('/').filter(Boolean), ...(missing === undefined ? [] : [missing])]
    const where = path.join('.') || 'options'
    throw new Error(`fastify-asterisk-transfer: option "${where}" ${missing === undefined ? problem.message : 'is required'}`)
  }
  const pool = resolvePool({ servers, ami, ari }, withDefaults.transferContext)
  if (typeof authenticate !== 'function') {
    throw new Error('fastify-asterisk-transfer: option "authenticate" must be a function (request) => { extension, role } | null')
  }
  if (authorizeTransfer !== undefined && typeof authorizeTransfer !== 'function') {
    throw new Error('fastify-asterisk-transfer: option "authorizeTransfer" must be a function (context) => boolean | { allowed, reason }')
  }
  if (agents !== undefined && typeof agents !== 'function' && !isAgentList(agents)) {
    throw new Error('fastify-asterisk-transfer: option "agents" must be a list of { extension, name?, groups? } or a function returning one')
  }
  if (withDefaults.reconnect.maxDelayMs < withDefaults.reconnect.initialDelayMs) {
    throw new Error('fastify-asterisk-transfer: option "reconnect.maxDelayMs" must be >= reconnect.initialDelayMs')
  }
  const fallback = recall === false ? undefined : withDefaults.recall.fallback
  if (fallback !== undefined && !Object.hasOwn(withDefaults.destinations, fallback)) {
    throw new Error(`fastify-asterisk-transfer: option "recall.fallback" must name one of the destinations (${Object.keys(withDefaults.destinations).join(', ') || 'none configured'})`)
  }
  const queueOnly = queueOnlyProblem(withDefaults.destinations)
  if (queueOnly !== undefined) throw new Error(`fastify-asterisk-transfer: option "destinations.${queueOnly.path}" ${queueOnly.message}`)
  if (redis !== undefined) checkRedisSetting(redis)
  const actionTimeoutMs = withDefaults.actionTimeoutMs ?? DEFAULT_ACTION_TIMEOUT_MS
  return {
    ...withDefaults,
    servers: pool,
    rateLimit: rateLimit === false ? false : withDefaults.rateLimit,
    metrics: resolveMetrics(metrics),
    recall: recall === false ? false : withDefaults.recall,
    actionTimeoutMs,
    consultationTimeoutMs: withDefaults.consultationTimeoutMs ?? actionTimeoutMs,
    authenticate,
    ...(agents === undefined ? {} : { agents }),
    ...(redis === undefined ? {} : { redis }),
    ...(authorizeTransfer === undefined ? {} : { authorizeTransfer })
  }
}

/**
 * What the schema cannot say of the destinations: a priority or a queue name is for a queue only (on a
 * voicemail box it would be silently ignored). The first problem, with its path under `destinations`.
 */
export function queueOnlyProblem (destinations: Readonly<Record<string, Destination>>): { path: string, message: string } | undefined {
  for (const [name, destination] of Object.entries(destinations)) {
    const key = (['priority', 'queue'] as const).find((field) => destination[field] !== undefined)
    if (destination.kind !== 'queue' && key !== undefined) return { path: `${name}.${key}`, message: 'is only for destinations of kind "queue"' }
  }
  return undefined
}

/** The servers: `servers`, or `ami` + `ari` as a pool of one; `transferContext` is every server's default. */
function resolvePool (given: { servers: unknown, ami: unknown, ari: unknown }, transferContext: string): ResolvedServer[] {
  const { servers, ami, ari } = given
  if (servers !== undefined) {
    const single = [ami === undefined ? [] : ['"ami"'], ari === undefined ? [] : ['"ari"']].flat()
    if (single.length > 0) {
      throw new Error(`fastify-asterisk-transfer: option "servers" cannot be given with ${single.join(' and ')}: a single server is either "ami" + "ari" or one entry of "servers"`)
    }
    throwFirst(serverListProblems(servers, 'servers'))
    return resolveServers(servers as ServerOption[], transferContext)
  }
  if (ami === undefined && ari === undefined) {
    throw new Error('fastify-asterisk-transfer: option "ami" is required (with "ari"), or "servers" for a list of servers')
  }
  throwFirst(singleServerProblems({ ami, ari }))
  return singleServerPool(ami as AmiConnection, ari as AriConnection, transferContext)
}

function throwFirst (problems: readonly ServerProblem[]): void {
  const [problem] = problems
  if (problem !== undefined) throw new Error(`fastify-asterisk-transfer: option "${problem.path}" ${problem.message}`)
}

function resolveMetrics (metrics: FastifyAsteriskTransferOptions['metrics']): ResolvedMetricsOptions | false {
  if (metrics === undefined || metrics === false) return false
  const given = metrics === true ? {} : metrics
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    throw new Error('fastify-asterisk-transfer: option "metrics" must be a boolean or { prefix?, path? }')
  }
  const withDefaults = Value.Default(MetricsOptions, Value.Clone(given))
  const [problem] = Value.Errors(MetricsOptions, withDefaults)
  if (problem !== undefined) {
    const where = ['metrics', ...problem.instancePath.split('/').filter(Boolean)].join('.')
    // An unknown property is reported at itself, against the `false` schema of additionalProperties.
    const unknown = problem.schemaPath === '#/additionalProperties'
    throw new Error(`fastify-asterisk-transfer: option "${where}" ${unknown ? 'is not an option (prefix, path)' : problem.message}`)
  }
  return withDefaults as ResolvedMetricsOptions
}

function isAgentList (value: unknown): boolean {
  return Array.isArray(value) && value.every((agent) =>
    typeof agent === 'object' && agent !== null && typeof (agent as { extension?: unknown }).extension === 'string')
}
