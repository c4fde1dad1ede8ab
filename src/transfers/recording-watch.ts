/**
 * Which channels of one Asterisk are being recorded now (MixMonitor), by uniqueid, and into which file
 * when it is known. Asterisk offers no way to ask (`CHANNEL()` has nothing, `MIXMONITOR_FILENAME`
 * stays set after a stop), so the MixMonitorStart and MixMonitorStop events are followed, and the
 * recordings the plugin starts itself (marked when Asterisk accepts them: their event may come after
 * the answer). A hangup sends no MixMonitorStop: the channel's hangup ends its recordings. The file is
 * not in the events: it is read once a recording starts (`setFile`), and kept a while after the
 * channel hung up (`endedFileOf`). Pure: fed events.
 *
 * A channel counts as recorded until a stop or its hangup: with two recordings on one channel, stopping
 * one would make it look unrecorded (Asterisk's events do not say which one stopped in a way this could
 * match to a start).
 */
import type { PbxEvent } from '../asterisk/ami-events.js'

/** Recorded channels that hung up, remembered by name at most (the oldest forgotten first). */
export const ENDED_KEPT = 256

export class RecordingWatch {
  /** Uniqueid -> the file of its last recording, `''` while it is not known. */
  readonly #recorded = new Map<string, string>()
  /**
   * Channel name -> the file of a recorded channel that hung up: a transfer made on the agent's phone
   * is seen (claimed, its customer found) after the agent's leg is gone.
   */
  readonly #ended = new Map<string, string>()

  get size (): number {
    return this.#recorded.size
  }

  observe (event: PbxEvent): void {
    switch (event.type) {
      case 'mixMonitorStart':
        this.started(event.uniqueId)
        break
      case 'mixMonitorStop':
        this.#recorded.delete(event.uniqueId)
        break
      case 'hangup': {
        const file = this.#recorded.get(event.uniqueId)
        if (file === undefined) break
        this.#recorded.delete(event.uniqueId)
        if (file === '') break
        this.#ended.set(event.channel, file)
        if (this.#ended.size > ENDED_KEPT) this.#ended.delete(this.#ended.keys().next().value as string)
        break
      }
    }
  }

  /** A recording started on the channel (an event, or the plugin's own MixMonitor accepted), into `file` when known. */
  started (uniqueId: string, file = ''): void {
    if (uniqueId === '') return
    this.#recorded.set(uniqueId, file !== '' ? file : this.#recorded.get(uniqueId) ?? '')
  }

  /** The file of a channel's recording, read after its start; ignored once the channel is no longer recorded. */
  setFile (uniqueId: string, file: string): void {
    if (file !== '' && this.#recorded.has(uniqueId)) this.#recorded.set(uniqueId, file)
  }

  isRecorded (uniqueId: string | undefined): boolean {
    return uniqueId !== undefined && this.#recorded.has(uniqueId)
  }

  /** The file a recorded channel that hung up was recorded into, by its name (the last `ENDED_KEPT` only). */
  endedFileOf (channel: string): string | undefined {
    return this.#ended.get(channel)
  }

  /** The file of the channel's recording, when it is recorded and the file is known. */
  fileOf (uniqueId: string | undefined): string | undefined {
    const file = uniqueId === undefined ? undefined : this.#recorded.get(uniqueId)
    return file === '' ? undefined : file
  }
}
