/**
 * The one error the client throws: the server's stable `code` and HTTP status when the server answered,
 * a client code when it did not (or answered something that is not the plugin's error shape).
 */
import type { ServerErrorCode } from './types.js'

/** The request never got an answer: connection refused or cut, DNS, timeout (after one retry). */
export const NETWORK_ERROR_CODE = 'XFER_CLIENT_NETWORK'
/** An answer that is not the plugin's: a proxy's HTML error page, a body that is not JSON. */
export const BAD_RESPONSE_CODE = 'XFER_CLIENT_BAD_RESPONSE'

export type ClientErrorCode = typeof NETWORK_ERROR_CODE | typeof BAD_RESPONSE_CODE

/** The codes known at build time; any other string may come from a newer server or the host app. */
export type TransferErrorCode = ServerErrorCode | ClientErrorCode | (string & {})

export interface TransferClientErrorDetails {
  code: TransferErrorCode
  /** The HTTP status; absent when no answer came. */
  statusCode?: number
  /** With `XFER_TRANSFER_IN_PROGRESS`: the transfer already under way for that call. */
  transferId?: string
  cause?: unknown
}

export class TransferClientError extends Error {
  readonly code: TransferErrorCode
  readonly statusCode: number | undefined
  readonly transferId: string | undefined

  constructor (message: string, { code, statusCode, transferId, cause }: TransferClientErrorDetails) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = 'TransferClientError'
    this.code = code
    this.statusCode = statusCode
    this.transferId = transferId
  }
}
