/**
 * What the feed last said of each live call. Only the leader publishes `call:status`; a leader that dies
 * leaves the changes of its last moments (up to one lease) unpublished: a call that began, was answered,
 * changed its transfer or ended while nobody published. The instance elected next compares the calls it
 * sees with what the feed last said and publishes the differences, so softphones do not keep a call
 * that is over, or miss one that began. Calls that ended are forgotten: it holds the live calls only.
 */
import type { Call, CallStatus } from '../domain/call.js'
import type { EventLog } from '../domain/event-log.js'
import { projectLog } from '../domain/log-projection.js'

export class PublishedCallStatuses {
  /** By `extension uniqueId`: a call is one agent's channel. */
  readonly #last = new Map<string, CallStatus>()
  readonly #unsubscribe: () => void

  constructor (eventLog: EventLog) {
    this.#unsubscribe = projectLog(eventLog, ['call:status'], (status) => { this.#remember(status) })
  }

  /**
   * The statuses that bring the feed to `current` (every live call as the calls' views show it): the
   * calls that are new or differ from their last status, then the calls the feed has live that are gone.
   */
  differences (current: readonly Call[]): CallStatus[] {
    const changed: CallStatus[] = []
    const live = new Set<string>()
    for (const call of current) {
      const key = keyOf(call.extension, call.uniqueId)
      live.add(key)
      const last = this.#last.get(key)?.call
      // Both built by the same code (or read back from JSON): equal calls serialize alike.
      if (last === undefined || JSON.stringify(last) !== JSON.stringify(call)) changed.push({ extension: call.extension, uniqueId: call.uniqueId, call, ended: false })
    }
    for (const [key, last] of this.#last) {
      if (!live.has(key)) changed.push({ extension: last.extension, uniqueId: last.uniqueId, ended: true })
    }
    return changed
  }

  stop (): void {
    this.#unsubscribe()
    this.#last.clear()
  }

  #remember (status: CallStatus): void {
    const key = keyOf(status.extension, status.uniqueId)
    if (status.ended || status.call === undefined) this.#last.delete(key)
    else this.#last.set(key, status)
  }
}

const keyOf = (extension: string, uniqueId: string): string => `${extension} ${uniqueId}`
