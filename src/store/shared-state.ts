/**
 * What the instances of a host app share, behind one object: the transfers and their owners, the
 * idempotency keys, the feed's log, who publishes Asterisk's own events, and the way to reach the
 * owner of a transfer. Without Redis it is this process alone, with nothing to configure (the embedded
 * default); with Redis, every instance behind a load balancer works from the same state.
 */
import { SafeEmitter } from '../support/safe-emitter.js'
import { silentLogger, type Logger } from '../support/logger.js'
import { bootFirstId, EventLog, type EventLogOptions } from '../domain/event-log.js'
import { CommandBus, type CommandHandler } from './command-bus.js'
import { localPublisher, type FeedPublisher } from './feed-publisher.js'
import type { IdempotencyKeys } from './idempotency-keys.js'
import { RedisLeadership, SOLE_LEADER, type Leadership } from './leadership.js'
import { MemoryTransferStore } from './memory-transfer-store.js'
import { newInstanceId, RedisConnections, type RedisClient, type RedisConnectionEvents, type RedisSetting } from './redis-connections.js'
import { RedisFeed } from './redis-feed.js'
import { RedisIdempotencyStore } from './redis-idempotency-store.js'
import { RedisTransferStore } from './redis-transfer-store.js'
import type { TransferStore } from './transfer-store.js'

export interface SharedStateOptions {
  /** Redis (a URL, ioredis options, Sentinel, a cluster or a client); undefined: this process alone. */
  redis?: RedisSetting
  /** Put before every key, so several apps (or test runs) can share one Redis. */
  keyPrefix: string
  /** How long an instance's claim on its transfers (and on publishing Asterisk's events) lasts unrenewed. */
  leaseMs: number
  idempotencyTtlMs: number
  feedCapacity: number
  logger?: Logger
}

export interface SharedState {
  readonly instanceId: string
  /** Whether other instances share it (Redis). */
  readonly distributed: boolean
  /** Whether it can be used now (always, in one process). */
  readonly available: boolean
  /** What goes before every key in Redis (`SharedStateOptions.keyPrefix`). */
  readonly keyPrefix: string
  readonly events: SafeEmitter<RedisConnectionEvents>
  readonly transfers: TransferStore
  /** Undefined: the routes keep their keys in this process (bounded by `maxKeys`). */
  readonly idempotency: IdempotencyKeys | undefined
  readonly leadership: Leadership
  /** How to reach the owner of a transfer; undefined in one process. */
  readonly peers: CommandBus | undefined
  /** The Redis client the rate limiter counts on; undefined in one process. */
  readonly redis: RedisClient | undefined
  /** The Redis master(s) in use now (`host:port`); empty in one process or while Redis is unreachable. */
  masters: () => string[]
  /** The feed's log (filled with the shared feed's recent events) and where to publish to it. */
  openFeed: (options: Omit<EventLogOptions, 'firstId'>) => Promise<{ eventLog: EventLog, publisher: FeedPublisher }>
  /** Starts answering other instances' requests with `handler`. */
  start: (handler: CommandHandler) => Promise<void>
  close: () => Promise<void>
}

export function createSharedState (options: SharedStateOptions): SharedState {
  return options.redis === undefined ? new LocalState(options) : new RedisState(options.redis, options)
}

class LocalState implements SharedState {
  readonly instanceId = newInstanceId()
  readonly distributed = false
  readonly available = true
  readonly keyPrefix: string
  readonly events: SafeEmitter<RedisConnectionEvents>
  readonly transfers: TransferStore
  readonly idempotency = undefined
  readonly leadership = SOLE_LEADER
  readonly peers = undefined
  readonly redis = undefined
  masters (): string[] { return [] }

  constructor (options: SharedStateOptions) {
    this.keyPrefix = options.keyPrefix
    this.events = new SafeEmitter({ logger: options.logger ?? silentLogger, name: 'shared state' })
    this.transfers = new MemoryTransferStore(this.instanceId)
  }

  async openFeed (options: Omit<EventLogOptions, 'firstId'>): Promise<{ eventLog: EventLog, publisher: FeedPublisher }> {
    // Ids carry the boot time: a client resuming with an id from before a restart is told of the gap.
    const eventLog = new EventLog({ ...options, firstId: bootFirstId() })
    return { eventLog, publisher: localPublisher(eventLog) }
  }

  async start (): Promise<void> {}
  async close (): Promise<void> {}
}

class RedisState implements SharedState {
  readonly instanceId = newInstanceId()
  readonly distributed = true
  readonly keyPrefix: string
  readonly transfers: TransferStore
  readonly idempotency: IdempotencyKeys
  readonly leadership: RedisLeadership
  readonly peers: CommandBus
  readonly #connections: RedisConnections
  readonly #feed: RedisFeed

  constructor (setting: RedisSetting, options: SharedStateOptions) {
    const logger = options.logger ?? silentLogger
    const prefix = options.keyPrefix
    this.keyPrefix = prefix
    this.#connections = new RedisConnections(setting, logger)
    const { commands, writes, reader, subscriber } = this.#connections
    this.transfers = new RedisTransferStore({ instanceId: this.instanceId, commands, writes, prefix, leaseMs: options.leaseMs, finishedTtlMs: 3_600_000 })
    this.idempotency = new RedisIdempotencyStore({ commands, writes, prefix, ttlMs: options.idempotencyTtlMs })
    this.leadership = new RedisLeadership(commands, { prefix, instanceId: this.instanceId, leaseMs: options.leaseMs, logger })
    this.peers = new CommandBus({ publisher: commands, subscriber, prefix, instanceId: this.instanceId, logger, settling: () => this.#connections.changedWithin(5000) })
    this.#feed = new RedisFeed({ writes, reader, commands, prefix, instanceId: this.instanceId, capacity: options.feedCapacity, logger })
    // Redis back: this instance may lead again at once rather than at its next renewal.
    this.#connections.events.on('connection', (up) => { if (up) void this.leadership.claim() })
  }

  get available (): boolean {
    return this.#connections.available
  }

  get events (): SafeEmitter<RedisConnectionEvents> {
    return this.#connections.events
  }

  get redis (): RedisClient {
    return this.#connections.commands
  }

  masters (): string[] {
    return this.#connections.masters()
  }

  async openFeed (options: Omit<EventLogOptions, 'firstId'>): Promise<{ eventLog: EventLog, publisher: FeedPublisher }> {
    await this.#connections.start()
    const history = await this.#feed.history()
    const eventLog = new EventLog({ ...options, firstId: history.firstId })
    // Events from before this instance started: nobody's handlers here run for them.
    for (const { envelope, audience } of history.events) eventLog.insert(envelope, audience, false)
    this.#feed.follow(eventLog)
    return { eventLog, publisher: this.#feed }
  }

  async start (handler: CommandHandler): Promise<void> {
    await this.#connections.start()
    await this.leadership.claim()
    // Subscribed once Redis is reachable (ioredis queues it, and subscribes again after each reconnect).
    void this.peers.start(handler)
  }

  async close (): Promise<void> {
    // The events published last are appended before the connections close (bounded: Redis may be gone).
    await Promise.race([this.#feed.flushed(), new Promise((resolve) => setTimeout(resolve, 2000).unref())])
    this.#feed.stop()
    this.peers.stop()
    await this.leadership.stop()
    await this.#connections.close()
  }
}
