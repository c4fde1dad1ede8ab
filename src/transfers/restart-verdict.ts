/**
 * Whether Asterisk restarted while the plugin could not see it, and which transfers began on the
 * Asterisk that died. Pure: `pbx-health.ts` reads the start times and the clock.
 */

/** Asterisk's start time read after a reconnect, against the one known before. */
export function restarted (known: string | undefined, now: string | undefined): boolean {
  return known !== undefined && now !== undefined && now !== known
}

/**
 * Whether a transfer created at `createdAt` (ISO time) had its calls on an Asterisk that restarted
 * since: created no later than `restartedBefore`, when the link was last lost before the restart was
 * found (ms since the epoch; undefined: no restart seen).
 */
export function predatesRestart (createdAt: string, restartedBefore: number | undefined): boolean {
  return restartedBefore !== undefined && Date.parse(createdAt) <= restartedBefore
}
