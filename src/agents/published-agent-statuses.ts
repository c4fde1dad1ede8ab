/**
 * What the feed last said of each agent. Only the leader publishes `agent:status`; a leader that dies
 * leaves the changes of its last moments (up to one lease) unpublished. The instance elected next
 * compares its own view with what the feed last said and publishes the differences, so softphones
 * catch up without a flood: agents the feed said nothing of lately are left as they are.
 */
import type { AgentStatus } from '../domain/agent-state.js'
import type { EventLog } from '../domain/event-log.js'
import { projectLog } from '../domain/log-projection.js'

export class PublishedAgentStatuses {
  readonly #last = new Map<string, AgentStatus>()
  readonly #unsubscribe: () => void

  constructor (eventLog: EventLog) {
    this.#unsubscribe = projectLog(eventLog, ['agent:status'], (status) => { this.#last.set(status.extension, status) })
  }

  /** The statuses in `current` that differ from what the feed last said of the same agent. */
  changedIn (current: readonly AgentStatus[]): AgentStatus[] {
    return current.filter((status) => {
      const last = this.#last.get(status.extension)
      return last !== undefined && (last.state !== status.state || last.reason !== status.reason)
    })
  }

  stop (): void {
    this.#unsubscribe()
    this.#last.clear()
  }
}
