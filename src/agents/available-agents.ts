/**
 * Which agents can take a transfer now. This rule uses what ARI knows: the agent's endpoint is
 * registered (`online`) and has no channel (not on a call). Pure, so the rule is unit-tested.
 */
import type { PbxEndpoint } from '../asterisk/ari-client.js'
import type { Agent } from './agent-directory.js'

export interface AvailableAgent {
  extension: string
  name?: string
  state: 'available'
}

export function selectAvailableAgents (agents: readonly Agent[], endpoints: PbxEndpoint[], technology: string, caller: string | undefined): AvailableAgent[] {
  const idle = new Set(endpoints
    .filter((endpoint) => endpoint.technology.toLowerCase() === technology.toLowerCase() && endpoint.state === 'online' && endpoint.channelIds.length === 0)
    .map((endpoint) => endpoint.resource))
  return agents
    .filter((agent) => idle.has(agent.extension) && agent.extension !== caller)
    .map((agent): AvailableAgent => ({ extension: agent.extension, ...(agent.name === undefined ? {} : { name: agent.name }), state: 'available' }))
    .sort((a, b) => a.extension.localeCompare(b.extension, 'en', { numeric: true }))
}
