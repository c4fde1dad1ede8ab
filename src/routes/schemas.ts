/**
 * The HTTP contract: TypeBox schemas for every body, param and response. Handlers take their types from
 * these, and clients can import them.
 */
import Type, { type Static } from 'typebox'
import { AgentState } from '../agents/agent-state.js'

/** Dialable extensions: digits, letters, `*`, `#`, `+`, `_`, `-`. Nothing that could break an AMI header. */
export const Extension = Type.String({
  pattern: '^[0-9A-Za-z*#+_-]{1,32}$',
  description: 'An extension: 1 to 32 of digits, letters, *, #, +, _ and -'
})

export const TransferType = Type.Union([Type.Literal('blind'), Type.Literal('attended')])

/** Where a transfer is in its life (see transfers/state.ts for the transitions). */
export const TransferStatus = Type.Union([
  Type.Literal('initiated'),
  Type.Literal('redirected'),
  Type.Literal('answered'),
  Type.Literal('consulting'),
  Type.Literal('target_answered'),
  Type.Literal('completed'),
  Type.Literal('cancelled'),
  Type.Literal('failed'),
  Type.Literal('abandoned')
])

export const FailureReason = Type.Union([
  Type.Literal('target_busy'),
  Type.Literal('no_answer'),
  Type.Literal('target_unavailable'),
  Type.Literal('target_hung_up'),
  Type.Literal('unknown_target'),
  Type.Literal('asterisk_refused'),
  Type.Literal('timed_out')
])

export const ExecuteTransferBody = Type.Object({
  extension: Type.Optional(Extension),
  targetExtension: Extension,
  transferType: TransferType
}, { additionalProperties: false })

export const Transfer = Type.Object({
  id: Type.String(),
  type: TransferType,
  status: TransferStatus,
  failureReason: Type.Optional(FailureReason),
  /** The error that ended it, when an Asterisk action failed. */
  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
  /** `plugin`: asked through this API; `phone`: the phone's own transfer key or a SIP REFER. */
  origin: Type.Union([Type.Literal('plugin'), Type.Literal('phone')]),
  /** The agent extension whose call is transferred. */
  extension: Type.String(),
  targetExtension: Type.String(),
  /** Who asked for it: the authenticated extension, or the agent for phone transfers. */
  requestedBy: Type.String(),
  /** The named destination (queue, voicemail...) when the target is one. */
  destination: Type.Optional(Type.String()),
  channels: Type.Object({
    agent: Type.String(),
    /** The party transferred (the customer). */
    peer: Type.String(),
    /** Attended: the Local channel Asterisk dials the target through. */
    consultation: Type.Optional(Type.String()),
    /** The target's own leg, once it is dialed. */
    target: Type.Optional(Type.String())
  }),
  createdAt: Type.String(),
  updatedAt: Type.String()
})

export const TransferId = Type.Object({ id: Type.String({ pattern: '^[0-9a-f-]{36}$' }) })

export const TransferList = Type.Object({ transfers: Type.Array(Transfer) })

export const AvailableAgent = Type.Object({
  extension: Extension,
  name: Type.Optional(Type.String()),
  /** `available` in the default list; any state with `?all=true`. */
  state: AgentState,
  /** Why the agent cannot take a transfer now (`?all=true` only): `on a call`, `paused in queue sales (lunch)`... */
  reason: Type.Optional(Type.String())
})

export const AvailableAgentsQuery = Type.Object({
  /** `true`: every agent with its state, the caller included. Strings: the query is not coerced. */
  all: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')]))
})

/** A named destination a transfer may target instead of an agent. */
export const DestinationEntry = Type.Object({
  name: Type.String(),
  kind: Type.String(),
  label: Type.Optional(Type.String())
})

export const AvailableAgentsResponse = Type.Object({
  agents: Type.Array(AvailableAgent),
  destinations: Type.Array(DestinationEntry)
})

export const ErrorResponse = Type.Object({
  statusCode: Type.Integer(),
  code: Type.String(),
  error: Type.String(),
  message: Type.String(),
  /** With XFER_TRANSFER_IN_PROGRESS: the transfer already under way for that call. */
  transferId: Type.Optional(Type.String())
})

export const errorResponses = { '4xx': ErrorResponse, '5xx': ErrorResponse } as const

export type ExecuteTransferBody = Static<typeof ExecuteTransferBody>
export type Transfer = Static<typeof Transfer>
export type AvailableAgentsResponse = Static<typeof AvailableAgentsResponse>
export type ErrorResponse = Static<typeof ErrorResponse>
