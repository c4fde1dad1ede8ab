/**
 * The transfer store on Redis, shared by every instance. Keys (redis-keys.ts, all in the `{transfers}`
 * hash slot, so the scripts work on a Redis Cluster too):
 * - `xfer:<id>`: the stored transfer (JSON); kept `finishedTtlMs` once it is over;
 * - `active`: the ids of the transfers in progress;
 * - `owner:<id>`: the owning instance, with a lease its owner renews;
 * - `call:<channel>`: the transfer a channel belongs to, with the same lease.
 * Every step that reads and writes is one Lua script, so two instances can never both take a call or
 * both take over a transfer.
 *
 * Every script is safe to run twice with the same arguments (the state after two runs is the state
 * after one, and the second answers as the first): ioredis sends a command again when the socket it was
 * written to dies before the answer came, which a failover does, and the first may have run.
 */
import { type Transfer, isFinal } from '../domain/transfer.js'
import type { RedisClient } from './redis-connections.js'
import { RedisKeys } from './redis-keys.js'
import { PHONE_GRACE_MS, type FoundTransfer, type OpenResult, type StoredTransfer, type TransferStore } from './transfer-store.js'

/**
 * KEYS: active set, record, owner, call locks… ARGV: record JSON, instance, lease ms, max active, id,
 * origin. A lock left by a finished transfer (kept PHONE_GRACE_MS) stops only a phone's transfer. Run
 * again: the record is there, owned by this instance already: the same answer, ok.
 */
export const OPEN = `
if redis.call('EXISTS', KEYS[2]) == 1 then
  if redis.call('GET', KEYS[3]) == ARGV[2] then return {'ok'} end
  return {'busy', ARGV[5]}
end
for i = 4, #KEYS do
  local holder = redis.call('GET', KEYS[i])
  if holder and holder ~= ARGV[5] and (ARGV[6] == 'phone' or redis.call('SISMEMBER', KEYS[1], holder) == 1) then
    return {'busy', holder}
  end
end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[4]) then return {'full'} end
for i = 4, #KEYS do redis.call('SET', KEYS[i], ARGV[5], 'PX', ARGV[3]) end
redis.call('SET', KEYS[2], ARGV[1])
redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[3])
redis.call('SADD', KEYS[1], ARGV[5])
return {'ok'}
`

/**
 * KEYS: active set, record, owner, call locks… ARGV: record JSON, instance, lease ms, id, final (1/0),
 * finished ttl ms, phone grace ms, revision. Refused (0) when another instance owns the transfer now.
 * Run again: the same values written again. An older save sent again after a newer one landed (a
 * cluster client retries each command on its own) changes nothing: not a state from before the end,
 * which never brings a finished transfer back (a finished record is the one with an expiry), nor one
 * of a lower revision than the stored one.
 */
export const SAVE = `
local owner = redis.call('GET', KEYS[3])
if owner and owner ~= ARGV[2] then return 0 end
if ARGV[5] == '0' and redis.call('PTTL', KEYS[2]) > 0 then return 1 end
local current = redis.call('GET', KEYS[2])
if current then
  local ok, stored = pcall(cjson.decode, current)
  if ok and type(stored) == 'table' and (tonumber(stored.revision) or 0) > (tonumber(ARGV[8]) or 0) then return 1 end
end
if ARGV[5] == '1' then
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[6])
  redis.call('SREM', KEYS[1], ARGV[4])
  redis.call('DEL', KEYS[3])
  for i = 4, #KEYS do
    if redis.call('GET', KEYS[i]) == ARGV[4] then redis.call('PEXPIRE', KEYS[i], ARGV[7]) end
  end
else
  redis.call('SET', KEYS[2], ARGV[1])
  redis.call('SADD', KEYS[1], ARGV[4])
  redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[3])
  for i = 4, #KEYS do redis.call('SET', KEYS[i], ARGV[4], 'PX', ARGV[3]) end
end
return 1
`

/** KEYS: owner, call locks… ARGV: instance, lease ms, id. 0 when another instance owns it now. */
export const RENEW = `
local owner = redis.call('GET', KEYS[1])
if owner and owner ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
for i = 2, #KEYS do
  local holder = redis.call('GET', KEYS[i])
  if not holder or holder == ARGV[3] then redis.call('SET', KEYS[i], ARGV[3], 'PX', ARGV[2]) end
end
return 1
`

/**
 * KEYS: active set. ARGV: what goes before `owner:<id>` (the same hash tag: same slot). The ids in
 * progress whose owner key is gone.
 */
export const ORPHANS = `
local orphans = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[1] .. 'owner:' .. id) == 0 then table.insert(orphans, id) end
end
return orphans
`

/**
 * KEYS: active set, record, owner. ARGV: instance, lease ms, id, gone owner ('' if none). The record
 * when taken over, else nil. Run again: this instance owns it already, and gets the record again.
 */
export const TAKE_OVER = `
if redis.call('SISMEMBER', KEYS[1], ARGV[3]) == 0 then return nil end
local owner = redis.call('GET', KEYS[3])
if owner and owner ~= ARGV[4] and owner ~= ARGV[1] then return nil end
redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[2])
return redis.call('GET', KEYS[2])
`

/** KEYS: owner keys. ARGV: instance. Deletes the ones this instance holds. */
export const RELEASE = `
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('DEL', KEYS[i]) end
end
return 1
`

/** KEYS: active set. ARGV: what goes before `xfer:<id>`. Every record in progress. */
export const ACTIVE = `
local records = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local record = redis.call('GET', ARGV[1] .. 'xfer:' .. id)
  if record then table.insert(records, record) end
end
return records
`

interface Scripts {
  xferOpen: (count: number, ...keysAndArgs: Array<string | number>) => Promise<string[]>
  xferSave: (count: number, ...keysAndArgs: Array<string | number>) => Promise<number>
  xferRenew: (count: number, ...keysAndArgs: Array<string | number>) => Promise<number>
  xferOrphans: (count: number, ...keysAndArgs: Array<string | number>) => Promise<string[]>
  xferTakeOver: (count: number, ...keysAndArgs: Array<string | number>) => Promise<string | null>
  xferRelease: (count: number, ...keysAndArgs: Array<string | number>) => Promise<number>
  xferActive: (count: number, ...keysAndArgs: Array<string | number>) => Promise<string[]>
}

function withScripts (client: RedisClient): RedisClient & Scripts {
  const scripts = { xferOpen: OPEN, xferSave: SAVE, xferRenew: RENEW, xferOrphans: ORPHANS, xferTakeOver: TAKE_OVER, xferRelease: RELEASE, xferActive: ACTIVE }
  for (const [name, lua] of Object.entries(scripts)) {
    if (!(name in client)) client.defineCommand(name, { lua })
  }
  return client as RedisClient & Scripts
}

export interface RedisTransferStoreOptions {
  instanceId: string
  /** The request path's connection (fails at once while Redis is down). */
  commands: RedisClient
  /** The owner's writes (queued while Redis is down, sent in order). */
  writes: RedisClient
  prefix: string
  /** How long an owner's claim lasts without renewal: how soon a lost instance's transfers are taken over. */
  leaseMs: number
  /** How long a finished record stays readable (`GET /transfers/:id`). */
  finishedTtlMs: number
}

export class RedisTransferStore implements TransferStore {
  readonly instanceId: string
  readonly #commands: RedisClient & Scripts
  readonly #writes: RedisClient & Scripts
  readonly #keys: RedisKeys
  readonly #leaseMs: number
  readonly #finishedTtlMs: number

  constructor (options: RedisTransferStoreOptions) {
    this.instanceId = options.instanceId
    this.#commands = withScripts(options.commands)
    this.#writes = withScripts(options.writes)
    this.#keys = new RedisKeys(options.prefix)
    this.#leaseMs = options.leaseMs
    this.#finishedTtlMs = options.finishedTtlMs
  }

  async open (stored: StoredTransfer, channels: readonly string[], maxActive: number): Promise<OpenResult> {
    const { id } = stored.record
    const keys = [this.#keys.activeTransfers, this.#keys.record(id), this.#keys.owner(id), ...channels.map((channel) => this.#keys.call(channel))]
    const [answer, holder] = await this.#commands.xferOpen(keys.length, ...keys, JSON.stringify(stored), this.instanceId, this.#leaseMs, maxActive, id, stored.record.origin)
    if (answer === 'busy') return { ok: false, busyWith: holder as string }
    if (answer === 'full') return { ok: false, full: true }
    return { ok: true }
  }

  async save (stored: StoredTransfer, channels: readonly string[]): Promise<boolean> {
    const { id } = stored.record
    const keys = [this.#keys.activeTransfers, this.#keys.record(id), this.#keys.owner(id), ...channels.map((channel) => this.#keys.call(channel))]
    const final = isFinal(stored.record.status) ? '1' : '0'
    const saved = await this.#writes.xferSave(keys.length, ...keys, JSON.stringify(stored), this.instanceId, this.#leaseMs, id, final, this.#finishedTtlMs, PHONE_GRACE_MS, stored.revision ?? 0)
    return saved === 1
  }

  async get (id: string): Promise<FoundTransfer | undefined> {
    const [record, owner] = await this.#commands.mget(this.#keys.record(id), this.#keys.owner(id))
    if (record === null || record === undefined) return undefined
    return { stored: JSON.parse(record) as StoredTransfer, owner: owner ?? undefined }
  }

  async active (): Promise<Transfer[]> {
    const records = await this.#commands.xferActive(1, this.#keys.activeTransfers, this.#keys.transfersBase)
    return records.map((json) => (JSON.parse(json) as StoredTransfer).record)
  }

  async renew (owned: ReadonlyArray<{ id: string, channels: readonly string[] }>): Promise<string[]> {
    if (owned.length === 0) return []
    const pipeline = this.#commands.pipeline() as ReturnType<RedisClient['pipeline']> & { xferRenew: (...args: Array<string | number>) => unknown }
    for (const { id, channels } of owned) {
      const keys = [this.#keys.owner(id), ...channels.map((channel) => this.#keys.call(channel))]
      pipeline.xferRenew(keys.length, ...keys, this.instanceId, this.#leaseMs, id)
    }
    const results = (await pipeline.exec()) ?? []
    return owned.filter((_, index) => results[index]?.[1] === 0).map(({ id }) => id)
  }

  async orphans (): Promise<string[]> {
    return await this.#commands.xferOrphans(1, this.#keys.activeTransfers, this.#keys.transfersBase)
  }

  async takeOver (id: string, from = ''): Promise<StoredTransfer | undefined> {
    const record = await this.#commands.xferTakeOver(3, this.#keys.activeTransfers, this.#keys.record(id), this.#keys.owner(id), this.instanceId, this.#leaseMs, id, from)
    return record === null ? undefined : JSON.parse(record) as StoredTransfer
  }

  async release (ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return
    const keys = ids.map((id) => this.#keys.owner(id))
    await this.#writes.xferRelease(keys.length, ...keys, this.instanceId)
  }
}
