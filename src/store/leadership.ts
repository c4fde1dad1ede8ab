/**
 * Which instance publishes what Asterisk alone says (`call:status`, `agent:status`,
 * `asterisk:connection`): every instance sees every AMI event and derives the same changes, so only
 * one of them, the leader, publishes them, or clients would get each one once per instance.
 * Leadership is a lease in Redis (`leader`) that its holder renews; when the holder stops renewing,
 * another instance takes it within one lease. In one process this instance always leads.
 */
import { silentLogger, type Logger } from '../support/logger.js'
import type { RedisClient } from './redis-connections.js'
import { RedisKeys } from './redis-keys.js'

export interface Leadership {
  readonly isLeader: boolean
  /** Calls `listener` each time this instance becomes the leader after another one (not at its start). */
  onElected: (listener: () => void) => void
  stop: () => Promise<void>
}

export const SOLE_LEADER: Leadership = { isLeader: true, onElected: () => {}, stop: async () => {} }

/** KEYS: leader. ARGV: instance, lease ms. The holder after the attempt. Run again: the same holder, renewed. */
export const CLAIM = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] or not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
return holder
`

/** KEYS: leader. ARGV: instance. Run again: nothing left to delete. */
export const RESIGN = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`

interface Scripts {
  leaderClaim: (key: string, instanceId: string, leaseMs: number) => Promise<string>
  leaderResign: (key: string, instanceId: string) => Promise<number>
}

export class RedisLeadership implements Leadership {
  readonly #client: RedisClient & Scripts
  readonly #key: string
  readonly #instanceId: string
  readonly #leaseMs: number
  readonly #log: Logger
  readonly #timer: NodeJS.Timeout
  /** When this instance last held the lease, as Redis confirmed: it leads until that lease runs out. */
  #heldSince: number | undefined
  readonly #electedListeners: Array<() => void> = []
  #claimedOnce = false

  constructor (client: RedisClient, options: { prefix: string, instanceId: string, leaseMs: number, logger?: Logger }) {
    if (!('leaderClaim' in client)) client.defineCommand('leaderClaim', { numberOfKeys: 1, lua: CLAIM })
    if (!('leaderResign' in client)) client.defineCommand('leaderResign', { numberOfKeys: 1, lua: RESIGN })
    this.#client = client as RedisClient & Scripts
    this.#key = new RedisKeys(options.prefix).leader
    this.#instanceId = options.instanceId
    this.#leaseMs = options.leaseMs
    this.#log = options.logger ?? silentLogger
    this.#timer = setInterval(() => { void this.claim() }, Math.max(100, Math.floor(options.leaseMs / 3)))
    this.#timer.unref()
  }

  get isLeader (): boolean {
    return this.#heldSince !== undefined && Date.now() - this.#heldSince < this.#leaseMs
  }

  /** Takes or renews the lease when free or ours. */
  async claim (): Promise<boolean> {
    const before = this.isLeader
    const attemptAt = Date.now()
    try {
      const holder = await this.#client.leaderClaim(this.#key, this.#instanceId, this.#leaseMs)
      this.#heldSince = holder === this.#instanceId ? attemptAt : undefined
    } catch {
      // Redis unreachable: the lease held runs out by itself (isLeader reads its age).
    }
    if (this.isLeader !== before) this.#log.info({ leader: this.isLeader }, this.isLeader ? 'this instance now publishes Asterisk\'s own events' : 'another instance publishes Asterisk\'s own events')
    // Elected later than at the start: the leader before may have left events unpublished.
    if (this.isLeader && !before && this.#claimedOnce) for (const listener of this.#electedListeners) listener()
    this.#claimedOnce = true
    return this.isLeader
  }

  onElected (listener: () => void): void {
    this.#electedListeners.push(listener)
  }

  async stop (): Promise<void> {
    clearInterval(this.#timer)
    if (this.#heldSince === undefined) return
    this.#heldSince = undefined
    await this.#client.leaderResign(this.#key, this.#instanceId).catch(() => {})
  }
}
