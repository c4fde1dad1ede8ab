/**
 * Remembers which extensions exist in the dialplan, so a transfer does not pay an AMI round trip
 * (`Getvar DIALPLAN_EXISTS`) for a target it checked a moment ago. Only "exists" is remembered, and
 * not for long: a missing extension is asked again every time (it may be added), and the whole memory
 * is dropped when Asterisk reloads its configuration or the connection is lost (a restarted Asterisk
 * may have another dialplan). Bounded: the oldest answer is forgotten first.
 */
export interface DialplanCacheOptions {
  /** How long an "exists" stays trusted. */
  ttlMs?: number
  maxEntries?: number
  now?: () => number
}

export class DialplanCache {
  readonly #known = new Map<string, number>()
  readonly #ttlMs: number
  readonly #maxEntries: number
  readonly #now: () => number

  constructor ({ ttlMs = 60_000, maxEntries = 10_000, now = Date.now }: DialplanCacheOptions = {}) {
    this.#ttlMs = ttlMs
    this.#maxEntries = maxEntries
    this.#now = now
  }

  /** Whether `exten@context` exists: from memory when it was seen to exist lately, else from `ask`. */
  async exists (context: string, exten: string, ask: () => Promise<boolean>): Promise<boolean> {
    const key = `${exten}@${context}`
    const seenAt = this.#known.get(key)
    if (seenAt !== undefined && this.#now() - seenAt < this.#ttlMs) return true
    const exists = await ask()
    this.#known.delete(key)
    if (exists) {
      this.#known.set(key, this.#now())
      if (this.#known.size > this.#maxEntries) this.#known.delete(this.#known.keys().next().value as string)
    }
    return exists
  }

  /** Forgets everything: the dialplan was reloaded, or Asterisk may have restarted. */
  clear (): void {
    this.#known.clear()
  }

  get size (): number {
    return this.#known.size
  }
}
