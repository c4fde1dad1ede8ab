/**
 * Time as a dependency: the transfer engine reads the time and sets its timers through a `Clock`, so
 * that unit tests drive time (a manual clock) instead of sleeping, and production uses the real one.
 */

/** Cancels a timer set by `after` or `every`; calling it twice, or after the timer ran, does nothing. */
export type CancelTimer = () => void

export interface Clock {
  /** Milliseconds since the epoch. */
  now (): number
  /** Resolves after `ms`. */
  sleep (ms: number): Promise<void>
  /**
   * Runs `run` once after `ms`. `background` timers do not keep the process alive (deadlines,
   * housekeeping); others do (a request waits for them).
   */
  after (ms: number, run: () => void, options?: { background?: boolean }): CancelTimer
  /** Runs `run` every `ms`, in the background (it never keeps the process alive). */
  every (ms: number, run: () => void): CancelTimer
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: async (ms) => { await new Promise<void>((resolve) => setTimeout(resolve, ms)) },
  after (ms, run, options) {
    const timer = setTimeout(run, ms)
    if (options?.background === true) timer.unref()
    return () => { clearTimeout(timer) }
  },
  every (ms, run) {
    const timer = setInterval(run, ms)
    timer.unref()
    return () => { clearInterval(timer) }
  }
}
