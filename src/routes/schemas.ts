/**
 * The HTTP contract: TypeBox schemas for every body, param and response. Handlers take their types from
 * these, and clients can import them.
 */
import Type, { type Static } from 'typebox'
import { AgentState } from '../domain/agent-state.js'
import { Extension, FailureReason, Transfer, TransferNote, TransferStatus, TransferType } from '../domain/transfer.js'

// The domain's schemas are part of the HTTP contract: clients import them from here.
export { Extension, FailureReason, Transfer, TransferNote, TransferStatus, TransferType }

export const ExecuteTransferBody = Type.Object({
  extension: Type.Optional(Extension),
  targetExtension: Extension,
  transferType: TransferType,
  /** Shown to the target with the caller as their phone rings; kept with the transfer, never sent to Asterisk. */
  note: Type.Optional(TransferNote)
}, { additionalProperties: false })

export const TransferId = Type.Object({ id: Type.String({ pattern: '^[0-9a-f-]{36}$' }) })

export const TransferList = Type.Object({ transfers: Type.Array(Transfer) })

export const AvailableAgent = Type.Object({
  extension: Extension,
  /** The Asterisk server the agent is on, when the plugin drives several. */
  server: Type.Optional(Type.String()),
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
export type AvailableAgentsResponse = Static<typeof AvailableAgentsResponse>
export type ErrorResponse = Static<typeof ErrorResponse>
