/**
 * What an attended transfer leaves on the agent's channel (one channel variable), so that the plugin
 * can find it again after its own restart with no store of its own: Asterisk is the source of truth,
 * and the consultation goes on while the host app restarts. Pure encoding and decoding.
 *
 * The value is `v1|id|extension|target|requestedBy|createdAt|destination|customer channel`; every field
 * is an id, an extension, a timestamp, a destination name or a channel name, none of which may contain
 * `|`. The customer's channel is kept because, on hold, it is in a bridge of its own: nothing links it
 * to the agent's channel in a snapshot.
 */
import type { Transfer } from '../domain/transfer.js'

export const CHANNEL_RECORD_VARIABLE = 'FASTIFY_XFER'

export type ChannelRecord = Pick<Transfer, 'id' | 'extension' | 'targetExtension' | 'requestedBy' | 'createdAt'> & {
  destination?: string
  /** The customer's channel. */
  peer: string
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const NAME = /^[0-9A-Za-z*#+_-]{1,32}$/
const CHANNEL = /^[A-Za-z0-9_]+\/[^|\s]{1,200}$/

export function encodeChannelRecord (transfer: ChannelRecord): string {
  return ['v1', transfer.id, transfer.extension, transfer.targetExtension, transfer.requestedBy, transfer.createdAt, transfer.destination ?? '', transfer.peer].join('|')
}

/** The record, or undefined for an empty, foreign or damaged value (it is never trusted blindly). */
export function decodeChannelRecord (value: string): ChannelRecord | undefined {
  const [version, id, extension, targetExtension, requestedBy, createdAt, destination, peer, ...rest] = value.split('|')
  if (version !== 'v1' || rest.length > 0 || id === undefined || !UUID.test(id)) return undefined
  if (peer === undefined || !CHANNEL.test(peer)) return undefined
  if (![extension, targetExtension, requestedBy].every((field) => field !== undefined && NAME.test(field))) return undefined
  if (createdAt === undefined || Number.isNaN(Date.parse(createdAt))) return undefined
  const record: ChannelRecord = { id, extension: extension as string, targetExtension: targetExtension as string, requestedBy: requestedBy as string, createdAt, peer }
  if (destination !== undefined && destination !== '') {
    if (!NAME.test(destination)) return undefined
    record.destination = destination
  }
  return record
}
