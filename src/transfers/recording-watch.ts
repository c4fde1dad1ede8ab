/**
 * Which channels of one Asterisk are being recorded now (MixMonitor), by uniqueid. Asterisk offers no
 * way to ask (`CHANNEL()` has nothing, `MIXMONITOR_FILENAME` stays set after a stop), so the
 * MixMonitorStart and MixMonitorStop events are followed, and the recordings the plugin starts itself
 * (marked when Asterisk accepts them: their event may come after the answer). A hangup sends no
 * MixMonitorStop: the channel's hangup ends its recordings. Pure: fed events.
 *
 * A channel counts as recorded until a stop or its hangup: with two recordings on one channel, stopping
 * one would make it look unrecorded (Asterisk's events do not say which one stopped in a way this could
 * match to a start).
 */
import type { PbxEvent } from '../asterisk/ami-events.js'

export class RecordingWatch {
  readonly #recorded = new Set<string>()

  get size (): number {
    return this.#recorded.size
  }

  observe (event: PbxEvent): void {
    switch (event.type) {
      case 'mixMonitorStart':
        this.started(event.uniqueId)
        break
      case 'mixMonitorStop':
      case 'hangup':
        this.#recorded.delete(event.uniqueId)
        break
    }
  }

  /** A recording started on the channel (an event, or the plugin's own MixMonitor accepted). */
  started (uniqueId: string): void {
    if (uniqueId !== '') this.#recorded.add(uniqueId)
  }

  isRecorded (uniqueId: string | undefined): boolean {
    return uniqueId !== undefined && this.#recorded.has(uniqueId)
  }
}
