/**
 * Whether Asterisk restarted while the plugin could not see it, which transfers began on the Asterisk
 * that died, and what became of a consultation that crossed into another server of the pool which lost
 * it (`crossedVerdict`). Pure: `pbx-health.ts` reads the start times and the clock, the reconciler
 * looks at the other server.
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

/**
 * What the other server of a transfer that crossed into it shows, looked at when it is back: whether
 * this call's inbound leg is still there (undefined: never learned, the target had not answered), and
 * whether the server restarted since the transfer began.
 */
export interface CrossedServerView {
  inboundAlive: boolean | undefined
  restarted: boolean
}

/**
 * A consultation that crossed into a server which lost it. A server killed sends no BYE over the trunk,
 * so the customer's server keeps the trunk leg (and the agent talking to silence) for as long as the
 * call lasts. When the far half is known gone (or the far server restarted before the target answered),
 * the transfer is lost, `asterisk_restarted` when that server restarted, and the trunk leg on the
 * customer's server is hung up: Asterisk then ends the consultation and the agent is back with the
 * customer (a three-way goes on with customer and agent). Undefined: nothing says the far half is gone.
 */
export function crossedVerdict (
  record: { type: 'blind' | 'attended', status: string, channels: { target?: string } },
  there: CrossedServerView
): { input: { type: 'lost', reason: 'asterisk_restarted' | 'call_ended' }, hangUp?: string } | undefined {
  if (record.type !== 'attended' || !['consulting', 'target_answered', 'three_way'].includes(record.status)) return undefined
  const gone = there.inboundAlive === false || (there.inboundAlive === undefined && there.restarted)
  if (!gone) return undefined
  const input = { type: 'lost' as const, reason: there.restarted ? 'asterisk_restarted' as const : 'call_ended' as const }
  return record.channels.target === undefined ? { input } : { input, hangUp: record.channels.target }
}
