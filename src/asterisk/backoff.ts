/** Capped exponential backoff with ±20 % jitter, so reconnecting clients do not hammer a restarting PBX. */
export interface BackoffOptions {
  initialDelayMs: number
  maxDelayMs: number
}

export function backoffDelay (attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const base = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** Math.max(0, attempt))
  const jitter = 0.8 + random() * 0.4
  return Math.round(Math.min(options.maxDelayMs, base * jitter))
}
