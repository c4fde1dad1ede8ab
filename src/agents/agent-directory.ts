/**
 * The agents of the call center: from the host app (a static list or a function, e.g. its user
 * database), or, without one, the endpoints Asterisk knows for the channel technology.
 */
import type { Pbx } from '../asterisk/pbx.js'

export interface Agent {
  extension: string
  name?: string
  /** Groups or skills, for the host's own rules and for display. */
  groups?: string[]
  /** With several Asterisk servers: the server the agent's phone is registered on (see `agentsOfServer`). */
  server?: string
}

/**
 * One server's share of the host's agent list, in a pool of several: the agents that name it. An agent
 * that names no server belongs to the first (a pool of one takes the whole list).
 */
export function agentsOfServer (source: AgentSource | undefined, server: string, first: boolean): AgentSource | undefined {
  if (source === undefined) return undefined
  const mine = (agents: readonly Agent[]): Agent[] => agents.filter((agent) => agent.server === server || (agent.server === undefined && first))
  return typeof source === 'function' ? async () => mine(await source()) : mine(source)
}

export type AgentSource = readonly Agent[] | (() => readonly Agent[] | Promise<readonly Agent[]>)

/** After a miss, Asterisk's endpoints are listed again at most this often (an endpoint added at runtime). */
const MISS_REFRESH_MS = 2000

interface EndpointAgents {
  at: number
  agents: Promise<{ list: readonly Agent[], byExtension: ReadonlyMap<string, Agent> }>
}

export class AgentDirectory {
  readonly #source: AgentSource | undefined
  readonly #pbx: Pbx
  readonly #technology: string
  /**
   * Asterisk's endpoints, when they are the directory: listed once, and again only after Asterisk
   * reloads its configuration, after a reconnect, or (at most every 2 s) when a lookup misses. A
   * lookup never lists every endpoint of the PBX by itself.
   */
  #endpoints: EndpointAgents | undefined

  constructor (source: AgentSource | undefined, pbx: Pbx, technology: string) {
    this.#source = source
    this.#pbx = pbx
    this.#technology = technology
    if (source === undefined) {
      pbx.events.on('event', (event) => { if (event.type === 'reload') this.#endpoints = undefined })
      pbx.events.on('connection', () => { this.#endpoints = undefined })
    }
  }

  async list (): Promise<readonly Agent[]> {
    if (typeof this.#source === 'function') return await this.#source()
    if (this.#source !== undefined) return this.#source
    return (await this.#fromEndpoints().agents).list
  }

  async find (extension: string): Promise<Agent | undefined> {
    if (this.#source !== undefined) return (await this.list()).find((agent) => agent.extension === extension)
    const cached = this.#fromEndpoints()
    const found = (await cached.agents).byExtension.get(extension)
    if (found !== undefined || Date.now() - cached.at < MISS_REFRESH_MS) return found
    this.#endpoints = undefined
    return (await this.#fromEndpoints().agents).byExtension.get(extension)
  }

  #fromEndpoints (): EndpointAgents {
    if (this.#endpoints !== undefined) return this.#endpoints
    const technology = this.#technology.toLowerCase()
    const agents = this.#pbx.endpoints().then((endpoints) => {
      const list = endpoints
        .filter((endpoint) => endpoint.technology.toLowerCase() === technology)
        .map((endpoint): Agent => ({ extension: endpoint.resource }))
      return { list, byExtension: new Map(list.map((agent) => [agent.extension, agent])) }
    })
    const entry: EndpointAgents = { at: Date.now(), agents }
    this.#endpoints = entry
    agents.catch(() => { if (this.#endpoints === entry) this.#endpoints = undefined })
    return entry
  }
}
