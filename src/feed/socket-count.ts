/** Open sockets per identity, so that one identity (or a stolen token) cannot hold the server's memory. */
export class SocketCount {
  readonly #open = new Map<string, number>()
  readonly #max: number

  constructor (max: number) {
    this.#max = max
  }

  /** Counts one more socket for `key`, unless it already holds the maximum. */
  take (key: string): boolean {
    const open = this.#open.get(key) ?? 0
    if (open >= this.#max) return false
    this.#open.set(key, open + 1)
    return true
  }

  release (key: string): void {
    const open = (this.#open.get(key) ?? 0) - 1
    if (open > 0) this.#open.set(key, open)
    else this.#open.delete(key)
  }

  /** Keys holding at least one socket. */
  get size (): number {
    return this.#open.size
  }
}
