/** Answers "who can take a transfer": the directory's agents as the PBX sees them now. */
import type { Pbx } from '../asterisk/pbx.js'
import type { AgentDirectory } from './agent-directory.js'
import { selectAvailableAgents, type AvailableAgent } from './available-agents.js'

export class AgentService {
  readonly #pbx: Pbx
  readonly #technology: string
  readonly #directory: AgentDirectory

  constructor (pbx: Pbx, technology: string, directory: AgentDirectory) {
    this.#pbx = pbx
    this.#technology = technology
    this.#directory = directory
  }

  get directory (): AgentDirectory {
    return this.#directory
  }

  async available (caller?: string): Promise<AvailableAgent[]> {
    const [agents, endpoints] = await Promise.all([this.#directory.list(), this.#pbx.endpoints()])
    return selectAvailableAgents(agents, endpoints, this.#technology, caller)
  }
}
