/**
 * The feed shared by every instance: one Redis Stream (`feed`), capped near the feed's capacity. A Lua
 * script numbers each event from one counter (`feed:seq`) and appends it, so ids are global, strictly
 * increasing in the stream's order and survive restarts of any instance. Each instance reads the stream
 * (a blocking read on a connection of its own) into its event log, which serves its sockets: a client
 * resumes with `since` on any instance and gets the same events, in the same order.
 *
 * Should Redis lose its data (a restart without persistence), the counter starts again at the boot
 * millisecond × 1000 of the instance that publishes first (as `bootFirstId`): above every id used
 * before, so a client resuming from an old id is told of the gap, never given others' events.
 */
import type { Redis } from 'ioredis'
import { silentLogger, type Logger } from '../support/logger.js'
import { bootFirstId, type Audience, type EventLog, type LoggedEventType } from '../domain/event-log.js'
import type { FeedEnvelope, FeedEventData } from '../domain/feed-events.js'
import type { FeedPublisher } from './feed-publisher.js'

/** KEYS: stream, counter. ARGV: max length, type, timestamp, data JSON, audience JSON, first id if new, publishing instance. */
const APPEND = `
local seq = redis.call('INCR', KEYS[2])
if seq == 1 then
  seq = tonumber(ARGV[6]) + 1
  redis.call('SET', KEYS[2], seq)
end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], seq .. '-0', 't', ARGV[2], 'ts', ARGV[3], 'd', ARGV[4], 'a', ARGV[5], 'o', ARGV[7])
return seq
`

interface Scripts {
  feedAppend: (stream: string, counter: string, maxLength: number, type: string, timestamp: string, data: string, audience: string, firstId: number, origin: string) => Promise<number>
}

type StreamEntry = [id: string, fields: string[]]

export interface RedisFeedOptions {
  /** Queued while Redis is down: events are appended in order once it is back. */
  writes: Redis
  /** The blocking reads (a connection of their own). */
  reader: Redis
  /** Reads at start-up, which fail at once while Redis is down (default: the reader). */
  commands?: Redis
  prefix: string
  /** This instance: each event carries who published it, so host handlers run where it was published. */
  instanceId: string
  /** Events kept in the stream (about: Redis trims by whole nodes). */
  capacity: number
  logger?: Logger
}

export class RedisFeed implements FeedPublisher {
  readonly #writes: Redis & Scripts
  readonly #reader: Redis
  readonly #commands: Redis
  readonly #stream: string
  readonly #counter: string
  readonly #capacity: number
  readonly #log: Logger
  readonly #instanceId: string
  #eventLog: EventLog | undefined
  #reading = false

  constructor (options: RedisFeedOptions) {
    if (!('feedAppend' in options.writes)) options.writes.defineCommand('feedAppend', { numberOfKeys: 2, lua: APPEND })
    this.#writes = options.writes as Redis & Scripts
    this.#reader = options.reader
    this.#commands = options.commands ?? options.reader
    this.#stream = `${options.prefix}feed`
    this.#counter = `${options.prefix}feed:seq`
    this.#capacity = options.capacity
    this.#instanceId = options.instanceId
    this.#log = options.logger ?? silentLogger
  }

  publish<K extends LoggedEventType>(type: K, data: FeedEventData<K>, audience: Audience): void {
    const timestamp = new Date().toISOString()
    this.#writes.feedAppend(this.#stream, this.#counter, this.#capacity, type, timestamp, JSON.stringify(data), JSON.stringify(audience), bootFirstId(), this.#instanceId)
      .catch((error: unknown) => { this.#log.error({ err: error, type }, 'an event could not be appended to the shared feed') })
  }

  /**
   * Where this instance's event log starts: the id before the oldest event still in the stream, with
   * those events to keep (oldest first). Without Redis now: a boot id, and the reader catches up later.
   */
  async history (): Promise<{ firstId: number, events: Array<{ envelope: FeedEnvelope, audience: Audience, origin: string | undefined }> }> {
    try {
      // Not the reader's connection, which would wait for Redis as long as it takes: the start of the
      // host app must not.
      const newest = await this.#commands.xrevrange(this.#stream, '+', '-', 'COUNT', this.#capacity) as StreamEntry[]
      const events = newest.reverse().map(parseEntry)
      if (events.length > 0) return { firstId: (events[0] as { envelope: FeedEnvelope }).envelope.id - 1, events }
      const counter = await this.#commands.get(this.#counter)
      return { firstId: counter === null ? bootFirstId() : Number(counter), events: [] }
    } catch (error) {
      this.#log.warn({ err: error }, 'shared feed not read at startup; catching up once Redis is reachable')
      return { firstId: bootFirstId(), events: [] }
    }
  }

  /** Reads every event appended after the log's last one into it, until `stop`. */
  follow (eventLog: EventLog): void {
    this.#eventLog = eventLog
    if (this.#reading) return
    this.#reading = true
    this.#readLoop().catch((error: unknown) => { this.#log.error({ err: error }, 'the shared feed reader stopped') })
  }

  stop (): void {
    this.#reading = false
  }

  async #readLoop (): Promise<void> {
    while (this.#reading) {
      const eventLog = this.#eventLog as EventLog
      let answer: Array<[string, StreamEntry[]]> | null
      try {
        answer = await this.#reader.xread('COUNT', 1000, 'BLOCK', 1000, 'STREAMS', this.#stream, `${eventLog.lastId}-0`) as Array<[string, StreamEntry[]]> | null
      } catch (error) {
        if (!this.#reading) return
        this.#log.debug({ err: error }, 'shared feed read failed; retrying')
        await new Promise((resolve) => setTimeout(resolve, 500))
        continue
      }
      for (const [, entries] of answer ?? []) {
        for (const entry of entries) {
          const { envelope, audience, origin } = parseEntry(entry)
          eventLog.insert(envelope, audience, origin === this.#instanceId)
        }
      }
    }
  }
}

function parseEntry ([id, fields]: StreamEntry): { envelope: FeedEnvelope, audience: Audience, origin: string | undefined } {
  const field: Record<string, string> = {}
  for (let i = 0; i + 1 < fields.length; i += 2) field[fields[i] as string] = fields[i + 1] as string
  const envelope = {
    id: Number(id.slice(0, id.indexOf('-'))),
    type: field.t,
    timestamp: field.ts,
    data: JSON.parse(field.d ?? 'null')
  } as FeedEnvelope
  return { envelope, audience: JSON.parse(field.a ?? '"everyone"') as Audience, origin: field.o }
}
