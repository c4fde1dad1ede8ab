/**
 * `fastify-asterisk-transfer/client`: the typed client softphones use instead of SIP REFER. No Node-only
 * code: fetch, WebSocket, URL and timers, so it runs in browsers, Electron renderers and Node 20+.
 */
export { createTransferClient } from './transfer-client.js'
export type { TransferClient, TransferCallOptions } from './transfer-client.js'
export type { TransferClientOptions } from './options.js'
export type { AttendedTransfer, TransferActionOptions } from './attended-transfer.js'
export type { FeedSocket, FeedStatus, FeedStatusHandler, ReconnectOptions, WebSocketConstructor } from './feed.js'
export { TransferClientError, NETWORK_ERROR_CODE, BAD_RESPONSE_CODE } from './errors.js'
export type { ClientErrorCode, TransferClientErrorDetails, TransferErrorCode } from './errors.js'
export type {
  AvailableAgentsResponse,
  Call,
  CallList,
  FeedEnvelope,
  FeedEventData,
  FeedEventType,
  FeedHandler,
  ServerErrorCode,
  Transfer,
  TransferList,
  TransferType
} from './types.js'
