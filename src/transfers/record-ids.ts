/**
 * The ids a transfer record carries so a host can join it with Asterisk's CDR and CEL rows: the call's
 * linkedid and each channel's uniqueid, read from the call monitor when a channel becomes known to the
 * record. Pure: the lookup is given.
 */
import type { Transfer, TransferUniqueIds } from '../domain/transfer.js'

/** A live channel's ids, by name, as the call monitor knows them (`linkedId` '' while unknown). */
export type IdsOf = (name: string) => { uniqueId: string, linkedId: string } | undefined

const ROLES = ['agent', 'peer', 'consultation', 'target'] as const

/**
 * The record with the ids of its channels filled in where they were missing or belong to another
 * channel (a target learned anew); the same object when nothing is new, so a record that has them all
 * costs a few lookups and no copy. A channel's uniqueid is kept once learned: the channel may be gone
 * (the agent's leg after a blind transfer) while the record still names it.
 */
export function withIds (record: Transfer, idsOf: IdsOf): Transfer {
  let uniqueIds: TransferUniqueIds | undefined
  let linkedId = record.linkedId
  // ROLES starts with the agent then the customer: the customer's linkedid wins over the agent's (it is
  // the call's; an agent's leg dialed by someone else would carry another), and a known one stays.
  let linkedFromPeer = false
  for (const role of ROLES) {
    const channel = record.channels[role]
    const ids = channel === undefined ? undefined : idsOf(channel)
    if (ids === undefined) continue
    if (record.linkedId === undefined && ids.linkedId !== '' && !linkedFromPeer) {
      linkedId = ids.linkedId
      linkedFromPeer = role === 'peer'
    }
    if (record.uniqueIds?.[role] === ids.uniqueId) continue
    uniqueIds ??= { ...record.uniqueIds }
    uniqueIds[role] = ids.uniqueId
  }
  if (uniqueIds === undefined && linkedId === record.linkedId) return record
  return {
    ...record,
    ...(linkedId === undefined ? {} : { linkedId }),
    ...(uniqueIds === undefined ? {} : { uniqueIds })
  }
}
