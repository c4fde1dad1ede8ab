/**
 * Idempotency keys and the answers they replay: what `claim` says of a key, and the store of one
 * process (keys in the order they were first used). Several instances share theirs on Redis
 * (`redis-idempotency-store.ts`). The HTTP side is `routes/idempotency.ts`.
 */

export interface IdempotencyStoreOptions {
  /** How long a key is remembered, from its first use. */
  ttlMs: number
  /** Keys remembered at most; the oldest is forgotten first. */
  maxKeys: number
  /** The clock (tests inject one). */
  now?: () => number
}

/** What a replay sends again. */
export interface StoredAnswer {
  statusCode: number
  headers: Record<string, string>
  body: string
}

/** Where keys are claimed: this process's memory, or a store every instance shares. */
export interface IdempotencyKeys {
  /**
   * Looks the key up and, if it is new, takes it, in one atomic step: of concurrent requests with one
   * key, exactly one is `first`; the others get its answer once it is known.
   */
  claim: (key: string, requestFingerprint: string) => Claim | Promise<Claim>
}

/**
 * What `claim` found: the key is new (this request acts, then `finish`es), it was used for the same
 * request (its answer, perhaps still to come), or for a different one.
 */
export type Claim =
  | { kind: 'first', finish: (answer: StoredAnswer | undefined, keep: boolean) => void }
  | { kind: 'same', answer: Promise<StoredAnswer | undefined> }
  | { kind: 'conflict' }

interface Entry {
  fingerprint: string
  createdAt: number
  /** Resolves when the first request answered: `undefined` if it had nothing to share. */
  answer: Promise<StoredAnswer | undefined>
}

/**
 * Keys with their answers, in the order they were first used. No timer: expired keys are dropped when
 * the store is next used, and the oldest make room when `maxKeys` is reached.
 */
export class IdempotencyStore implements IdempotencyKeys {
  readonly #entries = new Map<string, Entry>()
  readonly #ttlMs: number
  readonly #maxKeys: number
  readonly #now: () => number

  constructor ({ ttlMs, maxKeys, now = Date.now }: IdempotencyStoreOptions) {
    this.#ttlMs = ttlMs
    this.#maxKeys = maxKeys
    this.#now = now
  }

  get size (): number {
    this.#dropExpired()
    return this.#entries.size
  }

  /**
   * Looks the key up and, if it is new, takes it, in one synchronous step: of concurrent requests
   * with one key, exactly one is `first`; the others get its answer once it is known.
   */
  claim (key: string, requestFingerprint: string): Claim {
    this.#dropExpired()
    const found = this.#entries.get(key)
    if (found !== undefined && !this.#expired(found)) {
      return found.fingerprint === requestFingerprint ? { kind: 'same', answer: found.answer } : { kind: 'conflict' }
    }
    this.#entries.delete(key)
    while (this.#entries.size >= this.#maxKeys) this.#dropOldest()
    let settle: (answer: StoredAnswer | undefined) => void = () => {}
    const entry: Entry = {
      fingerprint: requestFingerprint,
      createdAt: this.#now(),
      answer: new Promise((resolve) => { settle = resolve })
    }
    this.#entries.set(key, entry)
    return {
      kind: 'first',
      finish: (answer, keep) => {
        settle(answer)
        // Nothing to replay is never kept, or later requests would wait on it forever. Only this
        // entry: the key may have expired meanwhile and been taken again.
        const kept = keep && answer !== undefined
        if (!kept && this.#entries.get(key) === entry) this.#entries.delete(key)
      }
    }
  }

  #expired (entry: Entry): boolean {
    return this.#now() - entry.createdAt >= this.#ttlMs
  }

  /** Entries are in the order of their creation, so the expired ones are at the front. */
  #dropExpired (): void {
    for (const [key, entry] of this.#entries) {
      if (!this.#expired(entry)) return
      this.#entries.delete(key)
    }
  }

  #dropOldest (): void {
    const oldest = this.#entries.keys().next()
    if (oldest.done !== true) this.#entries.delete(oldest.value)
  }
}
