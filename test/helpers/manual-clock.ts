// A clock the test moves: timers run when `advance` passes their time, in order; nothing runs by itself.
import type { CancelTimer, Clock } from '../../src/support/clock.js'

interface Timer { at: number, run: () => void, every?: number, id: number }

export class ManualClock implements Clock {
  #now: number
  #timers: Timer[] = []
  #ids = 0

  constructor (start = Date.parse('2026-01-05T09:00:00.000Z')) {
    this.#now = start
  }

  now (): number {
    return this.#now
  }

  async sleep (ms: number): Promise<void> {
    await new Promise<void>((resolve) => { this.after(ms, resolve) })
  }

  after (ms: number, run: () => void): CancelTimer {
    return this.#add({ at: this.#now + ms, run, id: this.#ids++ })
  }

  every (ms: number, run: () => void): CancelTimer {
    return this.#add({ at: this.#now + ms, run, every: ms, id: this.#ids++ })
  }

  /** Timers waiting to run. */
  get pending (): number {
    return this.#timers.length
  }

  /** Moves time forward by `ms`, running each timer due on the way (and letting promises settle between). */
  async advance (ms: number): Promise<void> {
    const until = this.#now + ms
    for (;;) {
      const next = this.#timers.filter((timer) => timer.at <= until).sort((a, b) => a.at - b.at || a.id - b.id)[0]
      if (next === undefined) break
      this.#now = next.at
      this.#timers = this.#timers.filter((timer) => timer !== next)
      if (next.every !== undefined) this.#timers.push({ ...next, at: next.at + next.every })
      next.run()
      await new Promise((resolve) => setImmediate(resolve))
    }
    this.#now = until
  }

  #add (timer: Timer): CancelTimer {
    this.#timers.push(timer)
    return () => { this.#timers = this.#timers.filter((t) => t.id !== timer.id) }
  }
}
