/**
 * The vocabulary of a call as the plugin shows it: its state, the call itself and a change of it, as
 * TypeBox schemas with their static types. At the bottom with the other domain modules.
 */
import Type, { type Static } from 'typebox'

export const CallState = Type.Union([
  Type.Literal('ringing'),
  Type.Literal('up'),
  Type.Literal('on_hold'),
  Type.Literal('in_consultation')
])

export const Call = Type.Object({
  /** The agent extension the call belongs to. */
  extension: Type.String(),
  /** The Asterisk server the call is on, when the plugin drives several. */
  server: Type.Optional(Type.String()),
  channel: Type.String(),
  uniqueId: Type.String(),
  /** Shared by every channel of the call (Asterisk's linkedid). */
  linkedId: Type.String(),
  state: CallState,
  /** The real party at the other end, when bridged. */
  peer: Type.Optional(Type.Object({ channel: Type.String(), number: Type.String() })),
  /** The transfer in progress on this call, if any. */
  transfer: Type.Optional(Type.Object({ id: Type.String(), type: Type.String(), targetExtension: Type.String() })),
  startedAt: Type.String()
})

/** `GET /calls`: live calls with the transfer in progress on each, if any. */
export const CallList = Type.Object({ calls: Type.Array(Call) })

export const CallStatus = Type.Object({
  extension: Type.String(),
  /** Which of the agent's calls changed (its channel's uniqueid), also when it ended. */
  uniqueId: Type.String(),
  /** The call now; absent when it ended (`ended` is then true). */
  call: Type.Optional(Call),
  ended: Type.Boolean()
})

export type Call = Static<typeof Call>
export type CallState = Static<typeof CallState>
export type CallStatus = Static<typeof CallStatus>
export type CallList = Static<typeof CallList>
