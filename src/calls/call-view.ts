/** A call as clients see it: the monitor's call with the transfer in progress on it, if any. */
import type { Call } from '../domain/call.js'
import type { Transfer } from '../domain/transfer.js'

/** The transfer in progress on a channel of a server (the only one when `server` is not given). */
export type TransferOnChannel = (channel: string, server?: string) => Transfer | undefined

export function withTransfer (call: Call, transferOn: TransferOnChannel): Call {
  const transfer = transferOn(call.channel, call.server)
  return transfer === undefined
    ? call
    : { ...call, transfer: { id: transfer.id, type: transfer.type, targetExtension: transfer.targetExtension } }
}
