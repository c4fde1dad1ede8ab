/**
 * The HTTP contract: TypeBox schemas for every body, param and response. Handlers take their types from
 * these, and clients can import them.
 */
import Type, { type Static } from 'typebox'

/** Dialable extensions: digits, letters, `*`, `#`, `+`, `_`, `-`. Nothing that could break an AMI header. */
export const Extension = Type.String({
  pattern: '^[0-9A-Za-z*#+_-]{1,32}$',
  description: 'An extension: 1 to 32 of digits, letters, *, #, +, _ and -'
})

export const TransferType = Type.Union([Type.Literal('blind'), Type.Literal('attended')])

export const TransferStatus = Type.Union([
  Type.Literal('initiated'),
  Type.Literal('redirected'),
  Type.Literal('consulting'),
  Type.Literal('failed')
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
  extension: Extension,
  targetExtension: Extension,
  requestedBy: Extension,
  channels: Type.Object({ agent: Type.String(), peer: Type.String() }),
  createdAt: Type.String({ format: 'date-time' })
})

export const AvailableAgent = Type.Object({
  extension: Extension,
  state: Type.Literal('available')
})

export const AvailableAgentsResponse = Type.Object({
  agents: Type.Array(AvailableAgent)
})

export const ErrorResponse = Type.Object({
  statusCode: Type.Integer(),
  code: Type.String(),
  error: Type.String(),
  message: Type.String()
})

export const errorResponses = { '4xx': ErrorResponse, '5xx': ErrorResponse } as const

export type ExecuteTransferBody = Static<typeof ExecuteTransferBody>
export type TransferResponse = Static<typeof Transfer>
export type AvailableAgentsResponse = Static<typeof AvailableAgentsResponse>
export type ErrorResponse = Static<typeof ErrorResponse>
