/**
 * The agents of every Asterisk server of a pool, each listed with its server: an agent belongs to the
 * server where its endpoint lives (a server knows only its own endpoints), and its state comes from
 * that server. An extension found on two servers is a configuration error: it is said once in the log,
 * listed as offline with the reason, and a transfer to it is refused (`AmbiguousAgentError`)
 * rather than sent to either at random.
 */
import type { Logger } from '../support/logger.js'
import { AmbiguousAgentError, AsteriskUnavailableError } from '../errors.js'
import type { Agent } from './agent-directory.js'
import type { AgentEntry, AvailableAgent } from './available-agents.js'
import { selectAvailableAgents } from './available-agents.js'

/** One server's view of an agent's state: whether the agent is one of its own, and the state it sees. */
export interface ServerPresence<S extends { state: string }> {
  follows: boolean
  status: S
}

/**
 * The agent's state as its own server sees it: the server whose agents include it (a server that does
 * not know the extension says "unknown to Asterisk", which is not the agent's state). An extension on
 * several servers (refused elsewhere) or on none: the first state that is not offline, else the first.
 */
export function presenceAcross<S extends { state: string }> (views: ReadonlyArray<ServerPresence<S>>): S | undefined {
  const own = views.filter((view) => view.follows)
  const [only] = own
  if (own.length === 1 && only !== undefined) return only.status
  const candidates = own.length > 0 ? own : views
  return (candidates.find((view) => view.status.state !== 'offline') ?? candidates[0])?.status
}

/** What the pool needs of one server's agents. */
export interface ServerAgents {
  server: string
  all: () => Promise<AgentEntry[]>
  find: (extension: string) => Promise<Agent | undefined>
}

export class PoolAgents {
  readonly #servers: readonly ServerAgents[]
  readonly #log: Logger
  /** Extensions already reported as found on several servers (said once, not at every listing). */
  readonly #reported = new Set<string>()

  constructor (servers: readonly ServerAgents[], logger: Logger) {
    this.#servers = servers
    this.#log = logger
  }

  /**
   * Every agent of every server with its state and server, sorted by extension. A server that cannot
   * be asked (down, or its ARI gone) leaves its agents out, as `find` does: the others are still listed
   * and offered. Only when no server answers is the first server's error the answer.
   */
  async all (): Promise<AgentEntry[]> {
    const looked = await Promise.allSettled(this.#servers.map(async ({ server, all }) => (await all()).map((entry) => ({ ...entry, server }))))
    const firstFailure = looked.find((result) => result.status === 'rejected')
    if (firstFailure !== undefined && looked.every((result) => result.status === 'rejected')) throw firstFailure.reason
    const entries = looked.flatMap((result) => result.status === 'fulfilled' ? result.value : [])
    const serversOf = new Map<string, string[]>()
    for (const { extension, server } of entries) serversOf.set(extension, [...serversOf.get(extension) ?? [], server])
    return entries
      .map((entry) => {
        const servers = serversOf.get(entry.extension) ?? []
        if (servers.length < 2) return entry
        this.#reportDuplicate(entry.extension, servers)
        return { ...entry, state: 'offline' as const, reason: `configured on several servers (${servers.join(', ')})` }
      })
      .sort((a, b) => a.extension.localeCompare(b.extension, 'en', { numeric: true }) || a.server.localeCompare(b.server))
  }

  /** The agents of every server who can take a transfer now, minus the caller. */
  async available (caller?: string): Promise<AvailableAgent[]> {
    return selectAvailableAgents(await this.all(), caller)
  }

  /**
   * The agent and its server; undefined when no server has it; refused when several do. A server that
   * cannot be asked (down) does not stop the others from answering: an agent found elsewhere is found
   * (a duplicate on the server that is down goes unseen until it is back); one found nowhere while a
   * server is down may be that server's, and is refused with 503 naming it.
   */
  async find (extension: string): Promise<(Agent & { server: string }) | undefined> {
    const looked = await Promise.allSettled(this.#servers.map(async ({ server, find }) => {
      const agent = await find(extension)
      return agent === undefined ? undefined : { ...agent, server }
    }))
    const found = looked.flatMap((result) => result.status === 'fulfilled' && result.value !== undefined ? [result.value] : [])
    const down = this.#servers.filter((_server, index) => looked[index]?.status === 'rejected').map(({ server }) => server)
    if (found.length === 0 && down.length > 0) throw new AsteriskUnavailableError(`server ${down.join(', ')} (its agents cannot be looked up)`)
    if (found.length > 1) {
      const servers = found.map((agent) => agent.server)
      this.#reportDuplicate(extension, servers)
      throw new AmbiguousAgentError(extension, servers.join(', '))
    }
    return found[0]
  }

  /** The server an agent belongs to (undefined when none has it, or several do). */
  async serverOf (extension: string): Promise<string | undefined> {
    return await this.find(extension).then((agent) => agent?.server, () => undefined)
  }

  #reportDuplicate (extension: string, servers: readonly string[]): void {
    if (this.#reported.has(extension)) return
    this.#reported.add(extension)
    this.#log.error({ extension, servers }, 'an extension is configured on several Asterisk servers of the pool: transfers to it are refused until one is removed')
  }
}
