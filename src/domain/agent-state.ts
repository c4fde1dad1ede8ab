/**
 * What an agent is doing, as far as taking a transfer goes, and the change of it the feed publishes.
 * At the bottom with the other domain modules.
 */
import Type, { type Static } from 'typebox'

export const AgentState = Type.Union([
  Type.Literal('available'),
  Type.Literal('ringing'),
  Type.Literal('on_call'),
  Type.Literal('on_hold'),
  Type.Literal('in_consultation'),
  Type.Literal('paused'),
  Type.Literal('offline')
])

export const AgentStatus = Type.Object({
  extension: Type.String(),
  /** The Asterisk server the agent is on, when the plugin drives several. */
  server: Type.Optional(Type.String()),
  state: AgentState,
  /** Why the agent cannot take a transfer, when it cannot. */
  reason: Type.Optional(Type.String())
})

export type AgentState = Static<typeof AgentState>
export type AgentStatus = Static<typeof AgentStatus>
