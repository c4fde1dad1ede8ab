/** Answers "who can take a transfer": the directory's agents, in the state Asterisk shows them. */
import type { Pbx } from '../asterisk/pbx.js'
import type { AgentDirectory } from './agent-directory.js'
import { AgentFactsStore } from './agent-facts.js'
import type { AgentStatusService } from './agent-status.js'
import { availability, type Availability } from './availability.js'
import { describeAgents, selectAvailableAgents, type AgentEntry, type AvailableAgent } from './available-agents.js'

export class AgentService {
  readonly #pbx: Pbx
  readonly #technology: string
  readonly #directory: AgentDirectory
  readonly #live: Pick<AgentStatusService, 'statusOf'> | undefined

  /**
   * `live`: the states kept up to date from Asterisk's events (the plugin always gives it). Without it
   * every answer asks ARI for the endpoints and judges them by the same rule: registered, and no
   * channel (on a call) -- it cannot see device states or queue pauses.
   */
  constructor (pbx: Pbx, technology: string, directory: AgentDirectory, live?: Pick<AgentStatusService, 'statusOf'>) {
    this.#pbx = pbx
    this.#technology = technology
    this.#directory = directory
    this.#live = live
  }

  get directory (): AgentDirectory {
    return this.#directory
  }

  /** Every agent of the directory with its state, and why it cannot take a transfer when it cannot. */
  async all (): Promise<AgentEntry[]> {
    const [agents, stateOf] = await Promise.all([this.#directory.list(), this.#states()])
    return describeAgents(agents, stateOf)
  }

  /** The agents that can take a transfer now, minus the caller. */
  async available (caller?: string): Promise<AvailableAgent[]> {
    return selectAvailableAgents(await this.all(), caller)
  }

  async #states (): Promise<(extension: string) => Availability> {
    const live = this.#live
    if (live !== undefined) return (extension) => live.statusOf(extension)
    const endpoints = await this.#pbx.endpoints()
    const facts = new AgentFactsStore(this.#technology)
    facts.reset({ endpoints, devices: [], members: [] })
    const technology = this.#technology.toLowerCase()
    for (const { technology: endpointTechnology, resource, channelIds } of endpoints) {
      if (endpointTechnology.toLowerCase() === technology) facts.setCalls(resource, channelIds.map(() => 'up'))
    }
    return (extension) => availability(facts.factsOf(extension))
  }
}
