/**
 * The feed shared by every instance: one Redis Stream, capped near the feed's capacity. A Lua script
 * numbers each event from one counter and appends it, so ids are global, strictly increasing in the
 * stream's order and survive restarts of any instance. Each instance reads the stream (a blocking read
 * on a connection of its own) into its event log, which serves its sockets: a client resumes with
 * `since` on any instance and gets the same events, in the same order.
 *
 * What a failover of Redis may do, and what stops it:
 * - The promoted replica may lack the newest entries (replication is asynchronous), and its counter
 *   with them: numbering on from there would give ids that clients saw with other content. The script
 *   remembers on which master (replication id) it last numbered; on another one (or after Redis lost
 *   its data) it jumps to above every id given before: the master's clock in ms × 1000, and at least a
 *   million above the counter it found. The first event after the jump is marked, and each instance's
 *   log tells a client resuming from before it of a possible gap (`feed:gap`), since what was lost is
 *   unknown.
 * - ioredis sends a command again when its socket died before the answer: the append may then run
 *   twice. Each instance publishes in numbered batches, one at a time; the script skips a batch that
 *   it appended already (`origin:<instance>` holds the last number), and a batch appended on the old
 *   master, read by some instances and lost with it, is appended anew under new ids: readers skip an
 *   event whose publisher's number they have seen, so nobody gets it twice under two ids.
 * - A blocking read on a socket that died silently would wait forever: a read that does not answer
 *   within its block time and a margin drops the connection, which reconnects (to the new master).
 */
import type { Cluster, Redis } from 'ioredis'
import { silentLogger, type Logger } from '../support/logger.js'
import { bootFirstId, ID_EPOCH_MS, type Audience, type EventLog, type LoggedEventType } from '../domain/event-log.js'
import type { FeedEnvelope, FeedEventData } from '../domain/feed-events.js'
import type { FeedPublisher } from './feed-publisher.js'
import type { RedisClient } from './redis-connections.js'
import { RedisKeys } from './redis-keys.js'

/**
 * KEYS: stream, counter, master, origin. ARGV: max length, origin instance, the batch's first number,
 * id epoch ms, then 4 per event: type, timestamp, data JSON, audience JSON. Returns the last id given
 * (as a string: ids pass 2^53 nowhere, but Lua prints numbers above 1e14 with an exponent otherwise).
 * Run again with the same arguments: the batch is appended already and nothing changes.
 */
export const APPEND = `
if redis.replicate_commands then redis.replicate_commands() end
local last = tonumber(redis.call('GET', KEYS[4]) or '0')
local first = tonumber(ARGV[3])
local count = (#ARGV - 4) / 4
if first + count - 1 <= last then return redis.call('GET', KEYS[2]) end
local replid = string.match(redis.call('INFO', 'replication'), 'master_replid:(%w+)')
local seq = tonumber(redis.call('GET', KEYS[2]) or '0')
local jumped = redis.call('GET', KEYS[3]) ~= replid
if jumped then
  local now = redis.call('TIME')
  local floor = (tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - tonumber(ARGV[4])) * 1000
  if seq > 0 then seq = seq + 1000000 end
  if floor > seq then seq = floor end
  -- Never below the stream's own top: a counter behind it (two jumps in one millisecond, a counter
  -- lost while the stream was kept) would make XADD refuse the id and the event would be lost.
  local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
  if top then
    local topSeq = tonumber(string.match(top[1], '^(%d+)'))
    if topSeq > seq then seq = topSeq end
  end
  redis.call('SET', KEYS[3], replid)
end
for i = 0, count - 1 do
  local n = first + i
  if n > last then
    seq = seq + 1
    local at = 5 + i * 4
    local fields = {'t', ARGV[at], 'ts', ARGV[at + 1], 'd', ARGV[at + 2], 'a', ARGV[at + 3], 'o', ARGV[2], 'n', string.format('%d', n)}
    if jumped then
      table.insert(fields, 'j')
      table.insert(fields, '1')
      jumped = false
    end
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], string.format('%d-0', seq), unpack(fields))
  end
end
redis.call('SET', KEYS[2], string.format('%d', seq))
redis.call('SET', KEYS[4], string.format('%d', first + count - 1), 'PX', 86400000)
return string.format('%d', seq)
`

interface Scripts {
  feedAppend: (stream: string, counter: string, master: string, origin: string, ...args: Array<string | number>) => Promise<string>
}

type StreamEntry = [id: string, fields: string[]]

interface ParsedEntry {
  envelope: FeedEnvelope
  audience: Audience
  origin: string | undefined
  /** The publisher's own number for it (absent in entries of older versions). */
  number: number | undefined
  /** The first event numbered on a master that may have lost the newest ones. */
  jumped: boolean
}

/** Events per append: bounds one script's run (Redis serves nobody else meanwhile). */
const MAX_BATCH = 200
/** How long a read may go unanswered beyond its block time before its connection is dropped. */
const READ_MARGIN_MS = 3000
const BLOCK_MS = 1000

export interface RedisFeedOptions {
  /** Queued while Redis is down: events are appended in order once it is back. */
  writes: RedisClient
  /** The blocking reads (a connection of their own). */
  reader: RedisClient
  /** Reads at start-up, which fail at once while Redis is down (default: the reader). */
  commands?: RedisClient
  prefix: string
  /** This instance: each event carries who published it, so host handlers run where it was published. */
  instanceId: string
  /** Events kept in the stream (about: Redis trims by whole nodes). */
  capacity: number
  logger?: Logger
}

interface Pending {
  type: string
  timestamp: string
  data: string
  audience: string
}

export class RedisFeed implements FeedPublisher {
  readonly #writes: RedisClient & Scripts
  readonly #reader: RedisClient
  readonly #commands: RedisClient
  readonly #keys: RedisKeys
  readonly #capacity: number
  readonly #log: Logger
  readonly #instanceId: string
  #eventLog: EventLog | undefined
  #reading = false
  /** Where the reader is in the stream (an entry skipped as a duplicate is read past, not logged). */
  #position = '0-0'
  /** The highest number of each publisher's events logged here. */
  readonly #seen = new Map<string, number>()
  /** Events published, not yet sent; the batch being sent; the number of the next event. */
  #queue: Pending[] = []
  #sending: Promise<void> | undefined
  #nextNumber = 1

  constructor (options: RedisFeedOptions) {
    if (!('feedAppend' in options.writes)) options.writes.defineCommand('feedAppend', { numberOfKeys: 4, lua: APPEND })
    this.#writes = options.writes as RedisClient & Scripts
    this.#reader = options.reader
    this.#commands = options.commands ?? options.reader
    this.#keys = new RedisKeys(options.prefix)
    this.#capacity = options.capacity
    this.#instanceId = options.instanceId
    this.#log = options.logger ?? silentLogger
  }

  publish<K extends LoggedEventType>(type: K, data: FeedEventData<K>, audience: Audience): void {
    this.#queue.push({ type, timestamp: new Date().toISOString(), data: JSON.stringify(data), audience: JSON.stringify(audience) })
    // Events published in the same tick go in one batch; one batch at a time keeps them in order.
    if (this.#sending === undefined) this.#sending = Promise.resolve().then(async () => { await this.#send() })
  }

  /** Resolves once every event published so far is appended (or could not be: logged). */
  async flushed (): Promise<void> {
    while (this.#sending !== undefined) await this.#sending
  }

  async #send (): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, MAX_BATCH)
        const first = this.#nextNumber
        this.#nextNumber += batch.length
        const args = batch.flatMap((event) => [event.type, event.timestamp, event.data, event.audience])
        try {
          await this.#writes.feedAppend(this.#keys.feedStream, this.#keys.feedCounter, this.#keys.feedMaster, this.#keys.feedOrigin(this.#instanceId), this.#capacity, this.#instanceId, first, ID_EPOCH_MS, ...args)
        } catch (error) {
          // The writes connection queues while Redis is down; what fails here is a script error, or a
          // cluster that gave up its retries. Sent again later would overtake nothing, but it could
          // wait forever behind a broken event: logged and dropped.
          this.#log.error({ err: error, events: batch.length }, 'events could not be appended to the shared feed')
        }
      }
    } finally {
      this.#sending = undefined
    }
  }

  /**
   * Where this instance's event log starts: the id before the oldest event still in the stream, with
   * those events to keep (oldest first). Without Redis now: a boot id, and the reader catches up later.
   */
  async history (): Promise<{ firstId: number, events: Array<{ envelope: FeedEnvelope, audience: Audience, origin: string | undefined }> }> {
    try {
      // Not the reader's connection, which would wait for Redis as long as it takes: the start of the
      // host app must not.
      const newest = await this.#commands.xrevrange(this.#keys.feedStream, '+', '-', 'COUNT', this.#capacity) as StreamEntry[]
      const events = newest.reverse().map(parseEntry)
      for (const event of events) this.#remember(event)
      if (events.length > 0) {
        const oldest = events[0] as ParsedEntry
        this.#position = `${String(oldest.envelope.id - 1)}-0`
        return { firstId: oldest.envelope.id - 1, events }
      }
      const counter = await this.#commands.get(this.#keys.feedCounter)
      // An empty stream never numbered: its first id will come from the master's clock, as this does.
      const firstId = counter === null ? await this.#clockFloor() : Number(counter)
      return { firstId, events: [] }
    } catch (error) {
      this.#log.warn({ err: error }, 'shared feed not read at startup; catching up once Redis is reachable')
      return { firstId: bootFirstId(), events: [] }
    }
  }

  /** Reads every event appended after the log's last one into it, until `stop`. */
  follow (eventLog: EventLog): void {
    this.#eventLog = eventLog
    if (this.#position === '0-0' || Number(this.#position.slice(0, this.#position.indexOf('-'))) < eventLog.lastId) this.#position = `${String(eventLog.lastId)}-0`
    if (this.#reading) return
    this.#reading = true
    this.#readLoop().catch((error: unknown) => { this.#log.error({ err: error }, 'the shared feed reader stopped') })
  }

  stop (): void {
    this.#reading = false
  }

  async #clockFloor (): Promise<number> {
    const [seconds, micros] = await this.#commands.time() as unknown as [string | number, string | number]
    return bootFirstId(Number(seconds) * 1000 + Math.floor(Number(micros) / 1000))
  }

  async #readLoop (): Promise<void> {
    while (this.#reading) {
      const eventLog = this.#eventLog as EventLog
      let answer: Array<[string, StreamEntry[]]> | null
      try {
        answer = await this.#read()
      } catch (error) {
        if (!this.#reading) return
        this.#log.debug({ err: error }, 'shared feed read failed; retrying')
        await new Promise((resolve) => setTimeout(resolve, 500))
        continue
      }
      for (const [, entries] of answer ?? []) {
        for (const entry of entries) {
          this.#position = entry[0]
          const parsed = parseEntry(entry)
          if (!this.#remember(parsed)) continue
          // Numbered on a master that may have lost the newest events: a client resuming from before
          // cannot be sure it missed nothing.
          if (parsed.jumped && eventLog.lastId > 0) eventLog.markGap()
          eventLog.insert(parsed.envelope, parsed.audience, parsed.origin === this.#instanceId)
        }
      }
    }
  }

  /** One blocking read; a connection that answers nothing in time is dropped (it reconnects). */
  async #read (): Promise<Array<[string, StreamEntry[]]> | null> {
    const read = this.#reader.xread('COUNT', 1000, 'BLOCK', BLOCK_MS, 'STREAMS', this.#keys.feedStream, this.#position) as Promise<Array<[string, StreamEntry[]]> | null>
    let timer: NodeJS.Timeout | undefined
    const watchdog = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        this.#log.warn({}, 'shared feed read unanswered; reconnecting its connection')
        ;(this.#reader as Redis | Cluster).disconnect(true)
        reject(new Error('shared feed read unanswered'))
      }, BLOCK_MS + READ_MARGIN_MS)
    })
    try {
      return await Promise.race([read, watchdog])
    } finally {
      clearTimeout(timer)
      // The read abandoned may still answer after the reconnect: nothing waits for it then.
      read.catch(() => {})
    }
  }

  /** Notes a publisher's number; false when that event was logged here already (appended again after a failover). */
  #remember ({ origin, number }: ParsedEntry): boolean {
    if (origin === undefined || number === undefined) return true
    const seen = this.#seen.get(origin) ?? 0
    if (number <= seen) return false
    this.#seen.set(origin, number)
    return true
  }
}

function parseEntry ([id, fields]: StreamEntry): ParsedEntry {
  const field: Record<string, string> = {}
  for (let i = 0; i + 1 < fields.length; i += 2) field[fields[i] as string] = fields[i + 1] as string
  const envelope = {
    id: Number(id.slice(0, id.indexOf('-'))),
    type: field.t,
    timestamp: field.ts,
    data: JSON.parse(field.d ?? 'null')
  } as FeedEnvelope
  return {
    envelope,
    audience: JSON.parse(field.a ?? '"everyone"') as Audience,
    origin: field.o,
    number: field.n === undefined ? undefined : Number(field.n),
    jumped: field.j === '1'
  }
}
