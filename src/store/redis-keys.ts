/**
 * Every Redis key the shared state uses, in one place, because a Redis Cluster decides where a key
 * lives by its hash slot and refuses (CROSSSLOT) a script or transaction whose keys are in different
 * slots. The keys one script touches together carry one hash tag (the part in `{…}`, which alone is
 * hashed), so they share a slot on a cluster; on one server the tags are just part of the name.
 *
 * - `{transfers}`: the records, owners, call locks and the set of transfers in progress. One slot for
 *   all of them: opening a transfer checks the locks of its calls, which other transfers' keys hold,
 *   and the cap, in one atomic step. A few writes per transfer: far below what one master serves.
 * - `{feed}`: the stream, its counter and what each publisher appended last (appended in one script).
 * - single keys (spread over the cluster): the leader's lease, each idempotency key.
 *
 * Channel names are taken as they come (opaque): a lock is `…call:<channel>`, whatever the channel.
 */

export class RedisKeys {
  readonly #prefix: string
  readonly #transfers: string
  readonly #feed: string

  /** `prefix` goes before every key (several apps or environments share one Redis). */
  constructor (prefix: string) {
    this.#prefix = prefix
    this.#transfers = `${prefix}{transfers}:`
    this.#feed = `${prefix}{feed}`
  }

  /** What the transfer scripts put before an id to build a key themselves (same slot as the others). */
  get transfersBase (): string {
    return this.#transfers
  }

  get activeTransfers (): string {
    return `${this.#transfers}active`
  }

  record (id: string): string {
    return `${this.#transfers}xfer:${id}`
  }

  owner (id: string): string {
    return `${this.#transfers}owner:${id}`
  }

  call (channel: string): string {
    return `${this.#transfers}call:${channel}`
  }

  get feedStream (): string {
    return this.#feed
  }

  get feedCounter (): string {
    return `${this.#feed}:seq`
  }

  /** Which master the counter was last advanced on (its replication id): a new one may have lost the newest ids. */
  get feedMaster (): string {
    return `${this.#feed}:master`
  }

  /** What one publishing instance appended last, so a batch sent again is not appended twice. */
  feedOrigin (instanceId: string): string {
    return `${this.#feed}:origin:${instanceId}`
  }

  get leader (): string {
    return `${this.#prefix}leader`
  }

  idempotency (hash: string): string {
    return `${this.#prefix}idem:${hash}`
  }

  /** A pub/sub channel (not a key: published to every node of a cluster). */
  inbox (instanceId: string): string {
    return `${this.#prefix}inbox:${instanceId}`
  }
}
