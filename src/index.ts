/** Public entry: the plugin (default export) and the types a host app or client needs. */
import { fastifyAsteriskTransfer } from './plugin.js'

export default fastifyAsteriskTransfer
export { fastifyAsteriskTransfer }
export type { AsteriskTransfers } from './plugin.js'
export type { FastifyAsteriskTransferOptions } from './options.js'
export type { Identity, Role, Authenticate } from './identity.js'
export type {
  TransferEventMap,
  TransferEventName,
  TransferSummary,
  TransferFailure,
  TransferType,
  TransferStatus
} from './transfers/transfer-events.js'
export type { TransferRequest, LocatedCall } from './transfers/transfer-service.js'
export type { AvailableAgent } from './agents/available-agents.js'
export * as errors from './errors.js'
export * as schemas from './routes/schemas.js'
