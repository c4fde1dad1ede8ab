/**
 * Where a transfer may go: an agent, a named destination the host configured (a queue, a voicemail
 * box, an external number, a parking lot), or any extension of the transfer context when the host
 * allows free dialing; and the target a transfer dials, once resolved (transfers/destinations.ts).
 */
import Type, { type Static } from 'typebox'

export const Destination = Type.Object({
  kind: Type.Union([Type.Literal('queue'), Type.Literal('voicemail'), Type.Literal('external'), Type.Literal('parking'), Type.Literal('other')]),
  /** Dialplan context the destination is dialed in. */
  context: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,79}$' }),
  /** The extension dialed; defaults to the destination's name. */
  exten: Type.Optional(Type.String({ pattern: '^[0-9A-Za-z*#+_-]{1,32}$' })),
  /** What people see in lists. */
  label: Type.Optional(Type.String({ maxLength: 100 })),
  /**
   * Kind `queue` only: the place a transferred customer takes in the queue (Asterisk's `QUEUE_PRIO`,
   * set on the customer's channel before the Redirect): callers of a higher priority are answered
   * first, so a customer already served once does not start again behind those who came later.
   */
  priority: Type.Optional(Type.Integer({ minimum: -1_000_000, maximum: 1_000_000 })),
  /** Kind `queue` only: the Asterisk queue the extension leads to, as reports name it; defaults to the destination's name. */
  queue: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,79}$' }))
})

export type Destination = Static<typeof Destination>
export type DestinationMap = Readonly<Record<string, Destination>>

export interface DialTarget {
  exten: string
  context: string
  kind: 'agent' | Destination['kind'] | 'free'
  /** The destination's name, when the target is one. */
  destination?: string
  /** A destination of kind `queue`: the queue, and the priority the customer joins it with (if any). */
  queue?: TargetQueue
}

export interface TargetQueue {
  name: string
  priority?: number
}
