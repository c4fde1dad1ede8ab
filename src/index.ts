/** Public entry: the plugin (default export) and the types a host app or client needs. */
import { fastifyAsteriskTransfer } from './plugin.js'

export default fastifyAsteriskTransfer
export { fastifyAsteriskTransfer }
export type { AsteriskTransfers, OnOptions } from './transfers-api.js'
export type { FastifyAsteriskTransferOptions } from './options.js'
export type { Identity, Role, Authenticate } from './identity.js'
export type { TransferEventMap, TransferEventName } from './transfers/transfer-events.js'
export type { Recall, TransferStatus, FailureReason, Transfer, TransferType } from './domain/transfer.js'
export type { FeedEnvelope, FeedEventType, FeedEventData, Call, CallStatus, AgentStatus } from './domain/feed-events.js'
export { SLOW_CONSUMER_CLOSE_CODE, TOO_MANY_SOCKETS_CLOSE_CODE } from './feed/close-codes.js'
export * as feedSchemas from './domain/feed-events.js'
export type { TransferRequest, LocatedCall } from './transfers/transfer-service.js'
export type { AvailableAgent } from './agents/available-agents.js'
export * as errors from './errors.js'
export { logRedaction, redactUrl, serializeRequest, REDACTED_LOG_PATHS } from './log-redaction.js'
export * as schemas from './routes/schemas.js'
