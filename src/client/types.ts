/**
 * What the client sends and receives, typed from the server's own TypeBox schemas. Type imports only:
 * they vanish at build, so nothing of the server reaches a softphone's bundle.
 */
import type { Static } from 'typebox'
import type * as serverErrors from '../errors.js'
import type { Call, FeedEnvelope, FeedEventData, FeedEventType } from '../domain/feed-events.js'
import type {
  AvailableAgentsResponse,
  ExecuteTransferBody,
  Transfer,
  TransferList as TransferListSchema,
  TransferType as TransferTypeSchema
} from '../routes/schemas.js'

export type { AvailableAgentsResponse, Call, ExecuteTransferBody, FeedEnvelope, FeedEventData, FeedEventType, Transfer }

export type TransferType = Static<typeof TransferTypeSchema>

/** `GET {prefix}/transfers`. */
export type TransferList = Static<typeof TransferListSchema>

/** `GET {prefix}/calls`: the caller's calls (all of them for a supervisor). */
export interface CallList {
  calls: Call[]
}

/** Every stable code the server answers with (`XFER_…`), from its error classes. */
export type ServerErrorCode = InstanceType<(typeof serverErrors)[keyof typeof serverErrors]>['code']

/** Receives one event type's payload, and the whole envelope (`id`, `timestamp`) for those who need it. */
export type FeedHandler<K extends FeedEventType> = (data: FeedEventData<K>, envelope: FeedEnvelope<K>) => void
