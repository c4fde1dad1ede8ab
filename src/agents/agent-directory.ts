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
}

export type AgentSource = readonly Agent[] | (() => readonly Agent[] | Promise<readonly Agent[]>)

/** Asterisk's endpoint list is fetched at most this often when it is the directory. */
const ENDPOINT_CACHE_MS = 2000

export class AgentDirectory {
  readonly #source: AgentSource | undefined
  readonly #pbx: Pbx
  readonly #technology: string
  #cached: { at: number, agents: Promise<readonly Agent[]> } | undefined

  constructor (source: AgentSource | undefined, pbx: Pbx, technology: string) {
    this.#source = source
    this.#pbx = pbx
    this.#technology = technology
  }

  async list (): Promise<readonly Agent[]> {
    if (typeof this.#source === 'function') return await this.#source()
    if (this.#source !== undefined) return this.#source
    const now = Date.now()
    if (this.#cached === undefined || now - this.#cached.at > ENDPOINT_CACHE_MS) {
      const agents = this.#fromEndpoints()
      this.#cached = { at: now, agents }
      agents.catch(() => { this.#cached = undefined })
    }
    return await this.#cached.agents
  }

  async find (extension: string): Promise<Agent | undefined> {
    return (await this.list()).find((agent) => agent.extension === extension)
  }

  async #fromEndpoints (): Promise<readonly Agent[]> {
    const technology = this.#technology.toLowerCase()
    return (await this.#pbx.endpoints())
      .filter((endpoint) => endpoint.technology.toLowerCase() === technology)
      .map((endpoint) => ({ extension: endpoint.resource }))
  }
}
