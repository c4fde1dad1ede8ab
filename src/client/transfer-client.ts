/**
 * The softphone's side of the plugin: its HTTP routes as typed calls, and its event feed as typed
 * subscriptions. Runs in browsers, Electron renderers and Node 20+ (with an injected WebSocket on 20).
 */
import { attendedTransferHandle, type AttendedTransfer, type TransferActionOptions } from './attended-transfer.js'
import { EventFeed, type FeedStatusHandler } from './feed.js'
import { createRequester } from './http.js'
import { resolveClientOptions, type TransferClientOptions } from './options.js'
import type {
  AvailableAgentsResponse,
  CallList,
  ExecuteTransferBody,
  FeedEventType,
  FeedHandler,
  Transfer,
  TransferList,
  TransferType
} from './types.js'

export interface TransferCallOptions extends TransferActionOptions {
  /** Whose call: default the caller's own extension (a supervisor may name another). */
  extension?: string
  /**
   * A note for the target, shown with the caller as their phone rings: 1 to 500 characters of plain
   * text, no control characters (else 400 XFER_INVALID_INPUT).
   */
  note?: string
}

export interface TransferClient {
  /** Transfers the agent's current call: answers the transfer, `redirected` (blind) or `consulting` (attended). */
  transferCall: (targetExtension: string, transferType: TransferType, options?: TransferCallOptions) => Promise<Transfer>
  /** Starts an attended transfer and answers a handle to complete or cancel it. */
  attendedTransfer: (targetExtension: string, options?: TransferCallOptions) => Promise<AttendedTransfer>
  /** Completes an attended transfer by id (one the phone started itself, seen on the feed, too). */
  completeTransfer: (id: string, options?: TransferActionOptions) => Promise<Transfer>
  cancelTransfer: (id: string, options?: TransferActionOptions) => Promise<Transfer>
  /**
   * Swaps an attended transfer whose target answered: the agent goes over to the customer while the
   * target waits, or back (`talkingTo` says whom the agent talks to). 409 before the answer.
   */
  swapTransfer: (id: string, options?: TransferActionOptions) => Promise<Transfer>
  /** Customer, agent and target in one call (`three_way`); then complete (agent leaves) or cancel (target dropped). */
  threeWayTransfer: (id: string, options?: TransferActionOptions) => Promise<Transfer>
  getTransfer: (id: string) => Promise<Transfer>
  /** Transfers in progress the caller may see. */
  getTransfers: () => Promise<TransferList>
  /** Agents that can take a transfer now. */
  getAvailableAgents: () => Promise<AvailableAgentsResponse>
  getCalls: () => Promise<CallList>
  /** Subscribes to one event type of the feed (opened by the first subscription); answers the unsubscribe. */
  on: <K extends FeedEventType>(type: K, handler: FeedHandler<K>) => () => void
  /** Follows the feed's connection: `open`, `reconnecting`, `closed`. Answers the unsubscribe. */
  onFeedStatus: (handler: FeedStatusHandler) => () => void
  /** Closes the feed and stops reconnecting. HTTP calls still work. */
  close: () => void
}

export function createTransferClient (options: TransferClientOptions): TransferClient {
  const { apiUrl, token, fetch, WebSocket, reconnect, requestTimeoutMs, onHandlerError } = resolveClientOptions(options)
  const request = createRequester({ apiUrl, token, fetch, timeoutMs: requestTimeoutMs })
  const feed = new EventFeed({ url: async (since) => feedUrl(apiUrl, await token(), since), WebSocket, reconnect, onHandlerError })

  /** A POST that changes something: its Idempotency-Key is kept for the retry after a network failure. */
  const act = async (path: string, idempotencyKey: string | undefined, body?: ExecuteTransferBody): Promise<Transfer> =>
    await request<Transfer>('POST', path, { body, idempotencyKey: idempotencyKey ?? globalThis.crypto.randomUUID() })
  const transferPath = (id: string, action = ''): string => `/transfers/${encodeURIComponent(id)}${action}`

  const transferCall: TransferClient['transferCall'] = async (targetExtension, transferType, { extension, note, idempotencyKey } = {}) =>
    await act('/transfers/execute', idempotencyKey, {
      targetExtension,
      transferType,
      ...(extension === undefined ? {} : { extension }),
      ...(note === undefined ? {} : { note })
    })
  const completeTransfer: TransferClient['completeTransfer'] = async (id, { idempotencyKey } = {}) =>
    await act(transferPath(id, '/complete'), idempotencyKey)
  const cancelTransfer: TransferClient['cancelTransfer'] = async (id, { idempotencyKey } = {}) =>
    await act(transferPath(id, '/cancel'), idempotencyKey)
  const swapTransfer: TransferClient['swapTransfer'] = async (id, { idempotencyKey } = {}) =>
    await act(transferPath(id, '/swap'), idempotencyKey)
  const threeWayTransfer: TransferClient['threeWayTransfer'] = async (id, { idempotencyKey } = {}) =>
    await act(transferPath(id, '/three-way'), idempotencyKey)
  const getTransfer: TransferClient['getTransfer'] = async (id) => await request<Transfer>('GET', transferPath(id))

  return {
    transferCall,
    attendedTransfer: async (targetExtension, callOptions) => attendedTransferHandle(
      await transferCall(targetExtension, 'attended', callOptions),
      { complete: completeTransfer, cancel: cancelTransfer, swap: swapTransfer, threeWay: threeWayTransfer, get: getTransfer }
    ),
    completeTransfer,
    cancelTransfer,
    swapTransfer,
    threeWayTransfer,
    getTransfer,
    getTransfers: async () => await request<TransferList>('GET', '/transfers'),
    getAvailableAgents: async () => await request<AvailableAgentsResponse>('GET', '/transfers/available-agents'),
    getCalls: async () => await request<CallList>('GET', '/calls'),
    on: (type, handler) => feed.on(type, handler),
    onFeedStatus: (handler) => feed.onStatus(handler),
    close: () => { feed.close() }
  }
}

/**
 * The feed's URL. The token goes in the query (`?token=`): browsers cannot set headers on a WebSocket,
 * so the host app must accept it there for this route (the example app does).
 */
function feedUrl (apiUrl: string, token: string, since: number | undefined): string {
  const url = new URL(`${apiUrl}/events`)
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
  url.searchParams.set('token', token)
  if (since !== undefined) url.searchParams.set('since', String(since))
  return url.href
}
