/**
 * The instance's connections to Redis, one per kind of use, because each kind needs its own behaviour
 * when Redis goes away:
 * - `commands` (the request path: open a transfer, claim an idempotency key, count the rate limit):
 *   fails at once while Redis is down or failing over, so the route answers 503 instead of hanging, and
 *   nothing is sent again behind its back (a command that may have run is never run twice);
 * - `writes` (what the owner of a transfer records, the events it publishes): queued while Redis is
 *   down and sent in order when it is back (ioredis also sends again what was in flight on a dead
 *   socket, so every script on it is safe to run twice: see the scripts' comments);
 * - `reader` (the feed's blocking stream read) and `subscriber` (messages between instances): a
 *   blocking read and a subscription take their connection for themselves.
 *
 * Redis is one server (a URL or ioredis options), a master found through Sentinel (ioredis `sentinels`
 * + `name`: after a failover every connection finds the new master by itself), or a Redis Cluster (a
 * list of nodes, or the host's own `Cluster`). ioredis reconnects each connection by itself;
 * `available` follows the command connection, `masters` says which master(s) it talks to.
 */
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from 'ioredis'
import { SafeEmitter } from '../support/safe-emitter.js'
import { silentLogger, type Logger } from '../support/logger.js'

/** A Redis Cluster: its nodes (`host:port` or `{ host, port }`, a few are enough) and ioredis cluster options. */
export interface RedisClusterSetting {
  cluster: ClusterNode[]
  options?: ClusterOptions
}

/**
 * A URL (`redis://…`, `rediss://…`); ioredis options (with `sentinels` and `name` for Sentinel); a
 * cluster's nodes; or a client of the host's, a `Redis` or a `Cluster` (duplicated, never closed).
 */
export type RedisSetting = string | RedisOptions | Redis | Cluster | RedisClusterSetting

/** What the stores use: one server (alone or behind Sentinel) or a cluster; both speak the same commands. */
export type RedisClient = Redis | Cluster

export interface RedisConnectionEvents {
  /** Redis became reachable (true) or was lost (false). */
  connection: [boolean]
  /** The master(s) in use changed (a failover promoted another): the new ones, and those before. */
  masters: [string[], string[]]
}

/** An instance's name among its peers: unique across hosts, containers (same pid) and restarts. */
export function newInstanceId (): string {
  return `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`
}

export function isClusterSetting (setting: unknown): setting is RedisClusterSetting {
  return typeof setting === 'object' && setting !== null && Array.isArray((setting as { cluster?: unknown }).cluster)
}

/** How each kind of connection behaves when its Redis goes away. */
interface Behaviour {
  /** Fail at once (the request path) or queue until Redis is back (the owner's writes, blocking reads). */
  failFast: boolean
  name: string
  /** On a cluster: subscribes to sharded channels (one connection per master: command-bus.ts says why). */
  sharded?: boolean
}

/**
 * Reconnects quickly: a failover is seconds, and every second waited after the new master is up is a
 * second of 503s (ioredis's default grows to 2 s between tries).
 */
const retryStrategy = (attempt: number): number => Math.min(50 * attempt, 500)

/**
 * A master demoted to replica (a manual failover, or the old master back as a replica) answers writes
 * with READONLY: reconnect, which asks Sentinel for the master again. Fail-fast connections do not send
 * the command again (1); queued ones do (2), as they would after any reconnect.
 */
const reconnectOnReadOnly = (resend: boolean) => (error: Error): boolean | 1 | 2 =>
  error.message.startsWith('READONLY') ? (resend ? 2 : 1) : false

function serverOptions ({ failFast, name }: Behaviour, sentinel: boolean): RedisOptions {
  return {
    lazyConnect: true,
    connectionName: name,
    enableOfflineQueue: !failFast,
    maxRetriesPerRequest: failFast ? 0 : null,
    retryStrategy,
    reconnectOnError: reconnectOnReadOnly(!failFast),
    // Through Sentinel: told of a failover by the sentinels' +switch-master (not only by a dead socket),
    // so a master that is still alive but demoted is left at once.
    ...(sentinel ? { failoverDetector: true, sentinelRetryStrategy: retryStrategy } : {})
  }
}

/**
 * The hash slots of `{transfers}` and `{feed}` (redis-keys.ts): CRC16 of the tag modulo 16384, as Redis
 * computes it (checked against CLUSTER KEYSLOT by test/store/redis-cluster-failover.test.ts's suite).
 */
export const SHARED_SLOTS = [277, 5677]

/** The states of a node's connection that mean its master is not reachable now. */
const LOST = new Set(['close', 'reconnecting', 'end'])

function clusterOptions ({ failFast, name, sharded = false }: Behaviour): ClusterOptions {
  return {
    lazyConnect: true,
    shardedSubscribers: sharded,
    enableOfflineQueue: !failFast,
    // A command on a master that died is sent again by the cluster client after a pause
    // (retryDelayOnFailover): never for the fail-fast one, whose command may have run already and must
    // answer now; the queued ones keep trying through the cluster's failover (node timeout + election).
    retryDelayOnFailover: failFast ? 0 : 200,
    retryDelayOnClusterDown: failFast ? 0 : 200,
    maxRedirections: failFast ? 16 : 1000,
    // The request path's connection and the subscriber also read the slot map every second: a cluster
    // client learns of a failover only from an error or a redirection, so an instance that sent nothing
    // to the failed master's slots went on naming the old masters (readiness, metrics), and the sharded
    // subscriptions moved to the promoted master only seconds later (ioredis's backoff): meanwhile a
    // live instance looked gone, and answers sent to it were lost.
    ...(failFast || sharded ? { slotsRefreshInterval: 1000 } : {}),
    redisOptions: { connectionName: name, maxRetriesPerRequest: failFast ? 0 : null }
  }
}

function hasSentinels (setting: RedisSetting): boolean {
  return typeof setting === 'object' && !(setting instanceof Redis) && !(setting instanceof Cluster) &&
    Array.isArray((setting as RedisOptions).sentinels)
}

function connect (setting: RedisSetting, behaviour: Behaviour): RedisClient {
  if (setting instanceof Cluster) return setting.duplicate([], clusterOptions(behaviour))
  if (isClusterSetting(setting)) {
    const given = setting.options ?? {}
    const own = clusterOptions(behaviour)
    return new Cluster(setting.cluster, { ...given, ...own, redisOptions: { ...given.redisOptions, ...own.redisOptions } })
  }
  if (setting instanceof Redis) {
    return setting.duplicate(serverOptions(behaviour, Array.isArray(setting.options.sentinels)))
  }
  const own = serverOptions(behaviour, hasSentinels(setting))
  return typeof setting === 'string' ? new Redis(setting, own) : new Redis({ ...setting, ...own })
}

export class RedisConnections {
  readonly commands: RedisClient
  readonly writes: RedisClient
  readonly reader: RedisClient
  readonly subscriber: RedisClient
  readonly events: SafeEmitter<RedisConnectionEvents>
  /** 'cluster', 'sentinel' or 'server': what readiness and the docs call it. */
  readonly mode: 'cluster' | 'sentinel' | 'server'
  readonly #log: Logger
  #available = false
  /** The master(s) last seen in use; kept while disconnected, to tell a failover from a reconnect. */
  #masters: string[] = []
  /** When the masters last changed or Redis came back (0: never). */
  #changedAt = 0

  constructor (setting: RedisSetting, logger: Logger = silentLogger) {
    this.#log = logger
    this.events = new SafeEmitter({ logger, name: 'Redis connection' })
    this.mode = setting instanceof Cluster || isClusterSetting(setting)
      ? 'cluster'
      : (setting instanceof Redis ? Array.isArray(setting.options.sentinels) : hasSentinels(setting)) ? 'sentinel' : 'server'
    this.commands = connect(setting, { failFast: true, name: 'fastify-asterisk-transfer:commands' })
    this.writes = connect(setting, { failFast: false, name: 'fastify-asterisk-transfer:writes' })
    this.reader = connect(setting, { failFast: false, name: 'fastify-asterisk-transfer:reader' })
    this.subscriber = connect(setting, { failFast: false, name: 'fastify-asterisk-transfer:subscriber', sharded: true })
    for (const client of this.#all()) client.on('error', (error: Error) => { this.#log.debug({ err: error }, 'Redis connection error') })
    this.commands.on('ready', () => {
      this.#set(true)
      this.#checkMasters()
    })
    // A cluster stays ready through one master's failover: its new slot map tells of the promoted one.
    this.commands.on('refresh', () => { this.#checkMasters() })
    this.commands.on('close', () => { this.#set(false) })
  }

  /**
   * Whether the request path can use Redis now. On a cluster, also whether the masters serving the
   * transfers' and the feed's slots are connected: with one of them dead (until its replica takes over)
   * every action would fail after being counted by the rate limit, so the routes refuse first.
   */
  get available (): boolean {
    if (!this.#available) return false
    const { commands } = this
    if (!(commands instanceof Cluster)) return true
    // A master's connection is made on first use ('wait' until then); a dead one is closed and leaves
    // the cluster client's nodes until the slot map names its successor.
    const usable = new Set(commands.nodes('master').filter((node) => !LOST.has(node.status)).map((node) => `${node.options.host ?? ''}:${String(node.options.port)}`))
    return SHARED_SLOTS.every((slot) => {
      const master = (commands.slots as Array<string[] | undefined>)[slot]?.[0]
      return master !== undefined && usable.has(master)
    })
  }

  /** Whether the master(s) changed, or Redis came back, less than `ms` ago: connections may still be moving. */
  changedWithin (ms: number): boolean {
    return Date.now() - this.#changedAt < ms
  }

  /**
   * The master(s) the request path talks to now (`host:port`), for readiness and metrics: after a
   * failover, the promoted one. Empty while disconnected.
   */
  masters (): string[] {
    const { commands } = this
    if (commands instanceof Cluster) {
      if (commands.status !== 'ready') return []
      return commands.nodes('master').map((node) => `${node.options.host ?? ''}:${String(node.options.port)}`).sort()
    }
    const stream = commands.stream as { remoteAddress?: string, remotePort?: number } | undefined
    if (commands.status !== 'ready' || stream?.remoteAddress === undefined) return []
    return [`${stream.remoteAddress}:${String(stream.remotePort)}`]
  }

  /**
   * Connects every client. A Redis that is not reachable yet does not fail the start: the clients keep
   * trying, and what needs Redis answers 503 meanwhile.
   */
  async start (): Promise<void> {
    const results = await Promise.allSettled(this.#all().map(async (client) => {
      if (client.status === 'wait') await client.connect()
    }))
    const failed = results.find((result) => result.status === 'rejected')
    if (failed !== undefined) this.#log.warn({ err: (failed as PromiseRejectedResult).reason }, 'Redis not reachable at startup; retrying in the background')
    if (this.commands.status === 'ready') this.#set(true)
  }

  async close (): Promise<void> {
    await Promise.allSettled(this.#all().map(async (client) => {
      // Writes still queued are sent first when Redis is up; otherwise there is nobody to send them to.
      if (client.status === 'ready') await client.quit().catch(() => {})
      // Also after QUIT: through Sentinel, only this stops the connections that listen to the
      // sentinels for failovers (they would keep the host's process alive).
      client.disconnect()
    }))
    this.#set(false)
  }

  #all (): RedisClient[] {
    return [this.commands, this.writes, this.reader, this.subscriber]
  }

  #checkMasters (): void {
    const now = this.masters()
    if (now.length === 0 || now.join(',') === this.#masters.join(',')) return
    const before = this.#masters
    this.#masters = now
    if (before.length > 0) this.#changedAt = Date.now()
    if (before.length > 0) this.#log.warn({ masters: now, before }, 'Redis master changed')
    this.events.emit('masters', now, before)
  }

  #set (available: boolean): void {
    if (available === this.#available) return
    this.#available = available
    if (available) this.#changedAt = Date.now()
    if (available) this.#log.info({ masters: this.masters() }, 'Redis connected')
    else this.#log.warn({}, 'Redis connection lost')
    this.events.emit('connection', available)
  }
}
