/**
 * Capped exponential backoff with jitter: the one used by everything that reconnects, the server's
 * AMI and ARI clients and snapshot retries as well as the softphone's feed. It lives with the client
 * because the client may import nothing but its own files (it runs in browsers); it is pure, and the
 * server imports it from here (support/snapshot-sync.ts, the AMI and ARI clients).
 */
export interface BackoffOptions {
  initialDelayMs: number
  maxDelayMs: number
  /**
   * The range the capped delay is multiplied by, drawn uniformly: [0.8, 1.2] by default (±20 %). A wide
   * range such as [0.5, 1] spreads clients that all reconnect at once after a server restart.
   */
  jitter?: readonly [number, number]
}

export function backoffDelay (attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const [low, high] = options.jitter ?? [0.8, 1.2]
  const base = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** Math.max(0, attempt))
  return Math.round(Math.min(options.maxDelayMs, base * (low + random() * (high - low))))
}
