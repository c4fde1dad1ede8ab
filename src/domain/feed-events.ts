/**
 * The WebSocket feed's messages: an envelope `{ id, type, timestamp, data }` and the payload of each
 * event type, as TypeBox schemas that clients import (types via `Static`, runtime checks via
 * `typebox/value`).
 */
import Type, { type Static } from 'typebox'
import { AgentState, AgentStatus } from './agent-state.js'
import { Call, CallList, CallState, CallStatus } from './call.js'
import { Transfer } from './transfer.js'

// The domain's schemas travel on the feed: clients import them from here.
export { AgentState, AgentStatus, Call, CallList, CallState, CallStatus }

export const AsteriskConnection = Type.Object({
  ami: Type.Boolean(),
  ari: Type.Boolean(),
  /** Which server of the pool, when the plugin drives several. */
  server: Type.Optional(Type.String())
})

export const FeedGap = Type.Object({
  /** The id the client asked to resume after. */
  since: Type.Integer(),
  /** The oldest id still buffered: everything before it is lost, refetch state over HTTP. */
  oldestAvailable: Type.Integer()
})

/**
 * The first message on a socket opened without `since`: the id of the newest event at that moment
 * (also the envelope's `id`). A client that receives nothing else before a disconnect resumes from it,
 * so the events of the gap are not lost.
 */
export const FeedHello = Type.Object({
  lastId: Type.Integer({ minimum: 0 })
})

/**
 * Sent to each socket of an instance when its link to the shared state (Redis) goes down or comes back.
 * While it is down the instance's transfer actions answer 503 and the feed pauses: the events of that
 * time come, in order, once it is back. Not an event of the log: its id is the newest id when sent.
 */
export const FeedStore = Type.Object({
  connected: Type.Boolean()
})

/** Every event type and its payload. */
export const FeedEventPayloads = {
  'call:transfer_initiated': Transfer,
  'call:ami_transfer_complete': Transfer,
  'call:ami_transfer_failed': Transfer,
  'call:ami_attended_transfer_started': Transfer,
  'call:ami_attended_transfer_completed': Transfer,
  'call:ami_attended_transfer_cancelled': Transfer,
  /** Attended: the agent went over to the customer or back to the target (`talkingTo` says which). */
  'call:transfer_swapped': Transfer,
  /** Attended: customer, agent and target are in one call (`three_way`). */
  'call:transfer_three_way': Transfer,
  /** Any other change of a transfer's status: answered, target_answered, abandoned. */
  'call:transfer_updated': Transfer,
  'call:status': CallStatus,
  'agent:status': AgentStatus,
  'asterisk:connection': AsteriskConnection,
  'feed:gap': FeedGap,
  'feed:hello': FeedHello,
  'feed:store': FeedStore
} as const

export type FeedEventType = keyof typeof FeedEventPayloads
export type FeedEventData<K extends FeedEventType> = Static<(typeof FeedEventPayloads)[K]>

export const FeedEnvelope = Type.Object({
  /** Strictly increasing within one server process; resume with `?since=<id>`. The per-socket notices
   *  `feed:hello` and `feed:gap` carry the newest id when they are sent (0 on a log with no event yet). */
  id: Type.Integer({ minimum: 0 }),
  type: Type.Union(Object.keys(FeedEventPayloads).map((type) => Type.Literal(type))),
  timestamp: Type.String(),
  data: Type.Unknown()
})

export type FeedEnvelope<K extends FeedEventType = FeedEventType> = {
  [T in K]: { id: number, type: T, timestamp: string, data: FeedEventData<T> }
}[K]

export type AsteriskConnection = Static<typeof AsteriskConnection>
