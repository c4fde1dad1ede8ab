// Several instances of the host app sharing one state, in memory: what the Redis transfer store
// (src/store/redis-transfer-store.ts) and the command bus (src/store/command-bus.ts) do, step for step,
// for unit tests of the cluster path. Each instance gets a `TransferStore` and the `peers` option of a
// `TransferService`; the test drives what Redis and the network would: leases running out, an instance
// gone, Redis unreachable from one instance, Redis losing its data.
//
// Kept to the Redis store's semantics (its Lua scripts, each safe to run twice): a key with a lease is
// gone once the cluster's clock passes it; every operation is applied in one step, a round trip after it was asked (so two
// instances can race, as over the network); records travel as JSON. Like the plugin's connections to
// Redis, an instance cut off from Redis fails its requests at once (`open`, `get`, a message to a
// peer...) but queues what its transfers' owner writes (`save`, `release`) and sends it in order once
// it is back; and it stops hearing its peers (a request sent to it finds nobody: `OwnerGoneError`).
import { isFinal, type Transfer } from '../../src/domain/transfer.js'
import { OwnerGoneError, type CommandHandler, type RemoteCommand, type RemoteError } from '../../src/store/command-bus.js'
import { PHONE_GRACE_MS, type FoundTransfer, type OpenResult, type StoredTransfer, type TransferStore } from '../../src/store/transfer-store.js'

/** A value with a lease (expiry on the cluster's clock), or none (kept until deleted). */
interface Entry<T> { value: T, expiresAt?: number }

export interface FakeClusterOptions {
  /** How long an owner's claim (and its call locks) lasts without renewal. */
  leaseMs?: number
  /** How long a finished record stays readable. */
  finishedTtlMs?: number
}

/** The error an instance's request gets while Redis is unreachable from it (ioredis, offline queue off). */
export class RedisUnreachableError extends Error {
  override name = 'RedisUnreachableError'
  constructor () {
    super('Stream isn\'t writeable and enableOfflineQueue options is false')
  }
}

/** A round trip to Redis: the operation is applied after what is already on its way. */
const roundTrip = async (): Promise<void> => { await new Promise((resolve) => setImmediate(resolve)) }

export class FakeCluster {
  readonly leaseMs: number
  readonly finishedTtlMs: number
  /** The cluster's clock (ms), against which leases and the phone grace run out; moved by `advance`. */
  now = 0
  /** `xfer:<id>`: the stored transfer, as JSON. */
  readonly #records = new Map<string, Entry<string>>()
  /** `xfers:active`. */
  readonly #active = new Set<string>()
  /** `owner:<id>`. */
  readonly #owners = new Map<string, Entry<string>>()
  /** `call:<channel>`: the transfer it belongs to. */
  readonly #locks = new Map<string, Entry<string>>()
  readonly #instances = new Map<string, ClusterInstance>()

  constructor (options: FakeClusterOptions = {}) {
    this.leaseMs = options.leaseMs ?? 30_000
    this.finishedTtlMs = options.finishedTtlMs ?? 3_600_000
  }

  /** A new instance of the host app, connected to Redis, not yet answering its peers (`listen`). */
  join (instanceId: string, leaseRenewMs = 3_600_000): ClusterInstance {
    const instance = new ClusterInstance(this, instanceId, leaseRenewMs)
    this.#instances.set(instanceId, instance)
    return instance
  }

  instance (instanceId: string): ClusterInstance | undefined {
    return this.#instances.get(instanceId)
  }

  /** Time passes for Redis: leases and graces that run out within `ms` are gone. */
  advance (ms: number): void {
    this.now += ms
  }

  /**
   * The instance stopped renewing long enough: its owner leases, and its transfers' call locks (they
   * share the lease), run out now. The others' leases are untouched.
   */
  expireLeasesOf (instanceId: string): void {
    for (const [id, owner] of this.#owners) {
      if (owner.value !== instanceId || !this.#live(owner)) continue
      owner.expiresAt = this.now
      for (const lock of this.#locks.values()) if (lock.value === id && lock.expiresAt !== undefined) lock.expiresAt = this.now
    }
  }

  /** Redis lost its data (a restart without persistence). */
  flushAll (): void {
    this.#records.clear()
    this.#active.clear()
    this.#owners.clear()
    this.#locks.clear()
  }

  /** The instance that owns a transfer now (its lease not run out), as `GET owner:<id>`. */
  ownerOf (id: string): string | undefined {
    return this.#get(this.#owners, id)
  }

  /** The transfer a channel is locked to now, as `GET call:<channel>`. */
  lockOf (channel: string): string | undefined {
    return this.#get(this.#locks, channel)
  }

  /** The ids in progress, as `SMEMBERS xfers:active`. */
  activeIds (): string[] {
    return [...this.#active]
  }

  // What the Lua scripts of redis-transfer-store.ts do, one function each, applied in one step.

  open (instanceId: string, stored: StoredTransfer, channels: readonly string[], maxActive: number): OpenResult {
    const { id } = stored.record
    if (this.#get(this.#records, id) !== undefined) {
      // Run again (a command re-sent after a failover): already this instance's, the same answer.
      return this.#get(this.#owners, id) === instanceId ? { ok: true } : { ok: false, busyWith: id }
    }
    for (const channel of channels) {
      const holder = this.#get(this.#locks, channel)
      // A lock left by a finished transfer (kept PHONE_GRACE_MS) stops only a phone's transfer.
      if (holder !== undefined && holder !== id && (stored.record.origin === 'phone' || this.#active.has(holder))) return { ok: false, busyWith: holder }
    }
    if (this.#active.size >= maxActive) return { ok: false, full: true }
    for (const channel of channels) this.#set(this.#locks, channel, id, this.leaseMs)
    this.#set(this.#records, id, JSON.stringify(stored))
    this.#set(this.#owners, id, instanceId, this.leaseMs)
    this.#active.add(id)
    return { ok: true }
  }

  save (instanceId: string, stored: StoredTransfer, channels: readonly string[]): boolean {
    const { id } = stored.record
    const owner = this.#get(this.#owners, id)
    if (owner !== undefined && owner !== instanceId) return false
    // A state from before the end, arriving after the final one, never brings a finished transfer back.
    if (!isFinal(stored.record.status) && this.#records.get(id)?.expiresAt !== undefined && this.#get(this.#records, id) !== undefined) return true
    // An older save arriving after a newer one changes nothing, as in Redis's script.
    const current = this.#get(this.#records, id)
    if (current !== undefined && ((JSON.parse(current) as StoredTransfer).revision ?? 0) > (stored.revision ?? 0)) return true
    if (isFinal(stored.record.status)) {
      this.#set(this.#records, id, JSON.stringify(stored), this.finishedTtlMs)
      this.#active.delete(id)
      this.#owners.delete(id)
      for (const channel of channels) {
        if (this.#get(this.#locks, channel) === id) this.#set(this.#locks, channel, id, PHONE_GRACE_MS)
      }
    } else {
      this.#set(this.#records, id, JSON.stringify(stored))
      this.#active.add(id)
      this.#set(this.#owners, id, instanceId, this.leaseMs)
      for (const channel of channels) this.#set(this.#locks, channel, id, this.leaseMs)
    }
    return true
  }

  get (id: string): FoundTransfer | undefined {
    const json = this.#get(this.#records, id)
    if (json === undefined) return undefined
    return { stored: JSON.parse(json) as StoredTransfer, owner: this.#get(this.#owners, id) }
  }

  active (): Transfer[] {
    return [...this.#active].flatMap((id) => {
      const json = this.#get(this.#records, id)
      return json === undefined ? [] : [(JSON.parse(json) as StoredTransfer).record]
    })
  }

  renew (instanceId: string, owned: ReadonlyArray<{ id: string, channels: readonly string[] }>): string[] {
    const lost: string[] = []
    for (const { id, channels } of owned) {
      const owner = this.#get(this.#owners, id)
      if (owner !== undefined && owner !== instanceId) {
        lost.push(id)
        continue
      }
      this.#set(this.#owners, id, instanceId, this.leaseMs)
      for (const channel of channels) {
        const holder = this.#get(this.#locks, channel)
        if (holder === undefined || holder === id) this.#set(this.#locks, channel, id, this.leaseMs)
      }
    }
    return lost
  }

  orphans (): string[] {
    return [...this.#active].filter((id) => this.#get(this.#owners, id) === undefined)
  }

  takeOver (instanceId: string, id: string, from = ''): StoredTransfer | undefined {
    if (!this.#active.has(id)) return undefined
    const owner = this.#get(this.#owners, id)
    // Run again: this instance owns it already, and gets the record again.
    if (owner !== undefined && owner !== from && owner !== instanceId) return undefined
    this.#set(this.#owners, id, instanceId, this.leaseMs)
    const json = this.#get(this.#records, id)
    return json === undefined ? undefined : JSON.parse(json) as StoredTransfer
  }

  release (instanceId: string, ids: readonly string[]): void {
    for (const id of ids) {
      if (this.#get(this.#owners, id) === instanceId) this.#owners.delete(id)
    }
  }

  /**
   * Answers to requests are lost on the way back, as pub/sub loses a message published while the
   * asker's subscription moves to a new master: the owner acts, the asker hears nothing.
   */
  loseAnswers = false

  /** What the command bus does with a request: published to the owner's inbox, answered through the asker's. */
  async send (from: ClusterInstance, owner: string, command: RemoteCommand, timeoutMs: number): Promise<unknown> {
    from.assertReachable()
    const receiver = this.#instances.get(owner)
    const handler = receiver?.listening
    // PUBLISH reached no subscriber: the owner is gone (or cut off from Redis).
    if (handler === undefined) throw new OwnerGoneError(`instance ${owner} is gone`)
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(Object.assign(new Error(`instance ${owner} did not answer ${command.action} of transfer ${command.transferId} within ${timeoutMs} ms`), { code: 'XFER_ASTERISK_TIMEOUT', statusCode: 504 }))
      }, timeoutMs)
      const settle = (body: { result?: unknown, error?: RemoteError }): void => {
        if (this.loseAnswers) return
        clearTimeout(timer)
        if (body.error === undefined) resolve(body.result)
        else reject(Object.assign(new Error(body.error.message), body.error))
      }
      roundTrip().then(async () => await handler(JSON.parse(JSON.stringify(command)) as RemoteCommand)).then(
        // The answer crosses as JSON, as over Redis.
        (result) => { settle({ result: result === undefined ? undefined : JSON.parse(JSON.stringify(result)) }) },
        (error: unknown) => {
          const { message, code, statusCode, transferId } = error as Error & RemoteError
          settle({ error: { message, ...(code === undefined ? {} : { code }), ...(statusCode === undefined ? {} : { statusCode }), ...(typeof transferId === 'string' ? { transferId } : {}) } })
        }
      )
    })
  }

  #live (entry: Entry<unknown>): boolean {
    return entry.expiresAt === undefined || entry.expiresAt > this.now
  }

  #get<T> (map: Map<string, Entry<T>>, key: string): T | undefined {
    const entry = map.get(key)
    if (entry === undefined) return undefined
    if (this.#live(entry)) return entry.value
    map.delete(key)
    return undefined
  }

  #set<T> (map: Map<string, Entry<T>>, key: string, value: T, ttlMs?: number): void {
    map.set(key, ttlMs === undefined ? { value } : { value, expiresAt: this.now + ttlMs })
  }
}

/** The peers of one instance, as `TransferService` takes them (`peers` option), with what was sent. */
export interface FakePeers {
  send: (owner: string, command: RemoteCommand, timeoutMs: number) => Promise<unknown>
  leaseRenewMs: number
  available: () => boolean
  /** Every request this instance sent to another, in order. */
  readonly sent: Array<{ owner: string, command: RemoteCommand, timeoutMs: number }>
}

export class ClusterInstance {
  readonly id: string
  readonly store: FakeClusterStore
  readonly peers: FakePeers
  /** The handler answering its peers' requests, while it listens (`listen`, until `leave`). */
  listening: CommandHandler | undefined
  #reachable = true
  #crashed = false
  /** Writes on their way to Redis, or waiting for it (unreachable), applied in order. */
  readonly #queued: Array<{ apply: () => void, drop: (error: Error) => void }> = []

  constructor (cluster: FakeCluster, id: string, leaseRenewMs: number) {
    this.id = id
    this.store = new FakeClusterStore(cluster, this)
    const sent: FakePeers['sent'] = []
    this.peers = {
      send: async (owner, command, timeoutMs) => {
        sent.push({ owner, command, timeoutMs })
        return await cluster.send(this, owner, command, timeoutMs)
      },
      leaseRenewMs,
      available: () => this.#reachable,
      sent
    }
  }

  /** Starts answering its peers' requests (the plugin gives it `TransferService.handleRemote`). */
  listen (handler: CommandHandler): void {
    this.listening = handler
  }

  /** The instance is gone (stopped, cut off): nobody answers its peers any more. Its leases run on. */
  leave (): void {
    this.listening = undefined
  }

  /**
   * The instance's process died: it answers nobody, and nothing it still asks or writes reaches Redis
   * (what it had queued is lost). Its leases run on until they run out (`FakeCluster.expireLeasesOf`).
   */
  crash (): void {
    this.listening = undefined
    this.#reachable = false
    this.#crashed = true
    for (const write of this.#queued.splice(0)) write.drop(new Error(`instance ${this.id} crashed`))
  }

  get reachable (): boolean {
    return this.#reachable
  }

  /** Redis is unreachable from this instance: its requests fail, its writes wait. */
  disconnect (): void {
    this.#reachable = false
  }

  /** Redis is reachable again: the writes made meanwhile go out, in order. */
  async reconnect (): Promise<void> {
    if (this.#crashed) throw new Error(`instance ${this.id} crashed`)
    this.#reachable = true
    await this.#flush()
  }

  assertReachable (): void {
    if (this.#crashed) throw new Error(`instance ${this.id} crashed`)
    if (!this.#reachable) throw new RedisUnreachableError()
  }

  /** A request on the command connection: fails at once while Redis is unreachable. */
  async command<T> (step: () => T): Promise<T> {
    this.assertReachable()
    await roundTrip()
    this.assertReachable()
    return step()
  }

  /** A write on the writes connection: queued while Redis is unreachable, in order with the others. */
  async write<T> (step: () => T): Promise<T> {
    if (this.#crashed) throw new Error(`instance ${this.id} crashed`)
    return await new Promise<T>((resolve, reject) => {
      this.#queued.push({ apply: () => { resolve(step()) }, drop: reject })
      if (this.#reachable) void this.#flush()
    })
  }

  /** Sends what is queued, a round trip from now, unless Redis became unreachable meanwhile. */
  async #flush (): Promise<void> {
    await roundTrip()
    if (!this.#reachable) return
    for (const write of this.#queued.splice(0)) write.apply()
  }
}

/** One instance's view of the shared transfers, as `RedisTransferStore` gives it; `calls` says what it was asked. */
export class FakeClusterStore implements TransferStore {
  readonly instanceId: string
  /** The operations asked of the store, in order (`renew`, `orphans`...). */
  readonly calls: string[] = []
  readonly #cluster: FakeCluster
  readonly #instance: ClusterInstance

  constructor (cluster: FakeCluster, instance: ClusterInstance) {
    this.#cluster = cluster
    this.#instance = instance
    this.instanceId = instance.id
  }

  async open (stored: StoredTransfer, channels: readonly string[], maxActive: number): Promise<OpenResult> {
    this.calls.push('open')
    return await this.#instance.command(() => this.#cluster.open(this.instanceId, stored, channels, maxActive))
  }

  async save (stored: StoredTransfer, channels: readonly string[]): Promise<boolean> {
    this.calls.push('save')
    // Serialised now: what the owner writes is what it knew when it wrote, whenever it reaches Redis.
    const copy = JSON.parse(JSON.stringify(stored)) as StoredTransfer
    return await this.#instance.write(() => this.#cluster.save(this.instanceId, copy, channels))
  }

  async get (id: string): Promise<FoundTransfer | undefined> {
    this.calls.push('get')
    return await this.#instance.command(() => this.#cluster.get(id))
  }

  async active (): Promise<Transfer[]> {
    this.calls.push('active')
    return await this.#instance.command(() => this.#cluster.active())
  }

  async renew (owned: ReadonlyArray<{ id: string, channels: readonly string[] }>): Promise<string[]> {
    this.calls.push('renew')
    if (owned.length === 0) return []
    return await this.#instance.command(() => this.#cluster.renew(this.instanceId, owned))
  }

  async orphans (): Promise<string[]> {
    this.calls.push('orphans')
    return await this.#instance.command(() => this.#cluster.orphans())
  }

  async takeOver (id: string, from?: string): Promise<StoredTransfer | undefined> {
    this.calls.push('takeOver')
    return await this.#instance.command(() => this.#cluster.takeOver(this.instanceId, id, from))
  }

  async release (ids: readonly string[]): Promise<void> {
    this.calls.push('release')
    if (ids.length === 0) return
    await this.#instance.write(() => { this.#cluster.release(this.instanceId, ids) })
  }
}
