/**
 * Which agents can take a transfer now. This first rule uses what ARI knows: the endpoint is
 * registered (`online`) and has no channel (not on a call). Pure, so the rule is unit-tested.
 */
import type { PbxEndpoint } from '../asterisk/ari-client.js'

export interface AvailableAgent {
  extension: string
  state: 'available'
}

export function selectAvailableAgents (endpoints: PbxEndpoint[], technology: string, caller: string | undefined): AvailableAgent[] {
  return endpoints
    .filter((endpoint) =>
      endpoint.technology.toLowerCase() === technology.toLowerCase() &&
      endpoint.state === 'online' &&
      endpoint.channelIds.length === 0 &&
      endpoint.resource !== caller)
    .map((endpoint): AvailableAgent => ({ extension: endpoint.resource, state: 'available' }))
    .sort((a, b) => a.extension.localeCompare(b.extension, 'en', { numeric: true }))
}
