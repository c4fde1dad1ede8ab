/**
 * When an `Atxfer` may be sent on an agent's channel. Asterisk 22 silently drops an `Atxfer` that
 * arrives within about half a second after the channel's previous consultation ended (its `Unhold`):
 * it still answers "successfully queued", but no consultation starts (verified; 700 ms after worked).
 * The same holds just after the channel joined its bridge, while the bridge's feature hooks are being
 * set up. So the plugin waits until the channel has been quiet that long, instead of failing the
 * agent who cancels and at once tries another target. O(1) per event; forgets a channel at its hangup.
 */
import type { PbxEvent } from '../asterisk/ami-events.js'

/** How long after the channel's last Unhold or bridge entry an Atxfer is safe. */
export const ATXFER_QUIET_MS = 800

export class AtxferPacing {
  readonly #lastChange = new Map<string, number>()
  readonly #quietMs: number
  readonly #now: () => number

  constructor (quietMs = ATXFER_QUIET_MS, now: () => number = Date.now) {
    this.#quietMs = quietMs
    this.#now = now
  }

  observe (event: PbxEvent): void {
    if (event.type === 'unhold' || event.type === 'bridgeEnter') this.#lastChange.set(event.channel, this.#now())
    else if (event.type === 'hangup') this.#lastChange.delete(event.channel)
  }

  /** How long to wait before an Atxfer on `channel` (0: at once). */
  delayFor (channel: string): number {
    const last = this.#lastChange.get(channel)
    return last === undefined ? 0 : Math.max(0, last + this.#quietMs - this.#now())
  }

  get size (): number {
    return this.#lastChange.size
  }
}
