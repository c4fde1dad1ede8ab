/** Answers "who can take a transfer" from the PBX's view of the endpoints. */
import type { Pbx } from '../asterisk/pbx.js'
import { selectAvailableAgents, type AvailableAgent } from './available-agents.js'

export class AgentService {
  readonly #pbx: Pbx
  readonly #technology: string

  constructor (pbx: Pbx, technology: string) {
    this.#pbx = pbx
    this.#technology = technology
  }

  async available (caller?: string): Promise<AvailableAgent[]> {
    return selectAvailableAgents(await this.#pbx.endpoints(), this.#technology, caller)
  }
}
