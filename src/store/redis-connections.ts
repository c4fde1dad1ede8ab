/**
 * The instance's connections to Redis, one per kind of use, because each kind needs its own behaviour
 * when Redis goes away:
 * - `commands` (the request path: open a transfer, claim an idempotency key): fails at once while Redis
 *   is down, so the route answers 503 instead of hanging, and nothing is sent later behind its back;
 * - `writes` (what the owner of a transfer records, the events it publishes): queued while Redis is
 *   down and sent in order when it is back, so nothing is lost and nothing overtakes;
 * - `reader` (the feed's blocking stream read) and `subscriber` (messages between instances): a
 *   blocking read and a subscription take their connection for themselves.
 * ioredis reconnects each by itself; `available` follows the command connection.
 */
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { Redis, type RedisOptions } from 'ioredis'
import { SafeEmitter } from '../support/safe-emitter.js'
import { silentLogger, type Logger } from '../support/logger.js'

/** A URL (`redis://…`, `rediss://…`), ioredis options, or a client of the host's (duplicated, never closed). */
export type RedisSetting = string | RedisOptions | Redis

export interface RedisConnectionEvents {
  /** Redis became reachable (true) or was lost (false). */
  connection: [boolean]
}

/** An instance's name among its peers: unique across hosts, containers (same pid) and restarts. */
export function newInstanceId (): string {
  return `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`
}

export class RedisConnections {
  readonly commands: Redis
  readonly writes: Redis
  readonly reader: Redis
  readonly subscriber: Redis
  readonly events: SafeEmitter<RedisConnectionEvents>
  readonly #log: Logger
  #available = false

  constructor (setting: RedisSetting, logger: Logger = silentLogger) {
    this.#log = logger
    this.events = new SafeEmitter({ logger, name: 'Redis connection' })
    const make = (options: RedisOptions): Redis => {
      if (setting instanceof Redis) return setting.duplicate(options)
      return typeof setting === 'string' ? new Redis(setting, { lazyConnect: true, ...options }) : new Redis({ lazyConnect: true, ...setting, ...options })
    }
    this.commands = make({ enableOfflineQueue: false, maxRetriesPerRequest: 0, connectionName: 'fastify-asterisk-transfer:commands' })
    this.writes = make({ enableOfflineQueue: true, maxRetriesPerRequest: null, connectionName: 'fastify-asterisk-transfer:writes' })
    this.reader = make({ enableOfflineQueue: true, maxRetriesPerRequest: null, connectionName: 'fastify-asterisk-transfer:reader' })
    this.subscriber = make({ enableOfflineQueue: true, maxRetriesPerRequest: null, connectionName: 'fastify-asterisk-transfer:subscriber' })
    for (const client of this.#all()) client.on('error', (error: Error) => { this.#log.debug({ err: error }, 'Redis connection error') })
    this.commands.on('ready', () => { this.#set(true) })
    this.commands.on('close', () => { this.#set(false) })
  }

  get available (): boolean {
    return this.#available
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
      if (client.status === 'ready') await client.quit()
      else client.disconnect()
    }))
    this.#set(false)
  }

  #all (): Redis[] {
    return [this.commands, this.writes, this.reader, this.subscriber]
  }

  #set (available: boolean): void {
    if (available === this.#available) return
    this.#available = available
    if (available) this.#log.info({}, 'Redis connected')
    else this.#log.warn({}, 'Redis connection lost')
    this.events.emit('connection', available)
  }
}
