/**
 * The agents as the routes list them: every agent of the directory with its state, and those who can
 * take a transfer now. Pure, so the selection is unit-tested; the states come from the caller.
 */
import type { AgentState } from '../domain/agent-state.js'
import type { Agent } from './agent-directory.js'
import type { Availability } from './availability.js'

export interface AgentEntry {
  extension: string
  /** The Asterisk server the agent is on, in a pool of several. */
  server?: string
  name?: string
  state: AgentState
  /** Why the agent cannot take a transfer now; absent when available. */
  reason?: string
}

export interface AvailableAgent {
  extension: string
  /** The Asterisk server the agent is on, in a pool of several. */
  server?: string
  name?: string
  state: 'available'
}

/** Every agent with its state, sorted by extension, numerically (2 before 10 before 101). */
export function describeAgents (agents: readonly Agent[], stateOf: (extension: string) => Availability): AgentEntry[] {
  return agents
    .map(({ extension, name }): AgentEntry => ({ extension, ...(name === undefined ? {} : { name }), ...stateOf(extension) }))
    .sort((a, b) => a.extension.localeCompare(b.extension, 'en', { numeric: true }))
}

/** The available agents, minus the caller: nobody transfers a call to themselves. */
export function selectAvailableAgents (entries: readonly AgentEntry[], caller: string | undefined): AvailableAgent[] {
  return entries.flatMap(({ extension, server, name, state }) => state === 'available' && extension !== caller
    ? [{ extension, ...(server === undefined ? {} : { server }), ...(name === undefined ? {} : { name }), state }]
    : [])
}
