/**
 * What an agent is doing, as far as taking a transfer goes. Its own module because both the routes'
 * schemas and the feed's schemas use it (and the feed's schemas import the routes' ones).
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

export type AgentState = Static<typeof AgentState>
