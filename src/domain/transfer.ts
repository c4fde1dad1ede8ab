/**
 * The vocabulary of a transfer: its type, its states, why it failed and the record itself, as TypeBox
 * schemas (for the routes, the feed and clients) with their static types (for the services). Defined
 * once, here at the bottom: every layer imports it, it imports nothing of theirs.
 */
import Type, { type Static } from 'typebox'

/** Dialable extensions: digits, letters, `*`, `#`, `+`, `_`, `-`. Nothing that could break an AMI header. */
export const Extension = Type.String({
  pattern: '^[0-9A-Za-z*#+_-]{1,32}$',
  description: 'An extension: 1 to 32 of digits, letters, *, #, +, _ and -'
})

/**
 * A note for the target (why the call is passed on), shown on their screen as their phone rings. Plain
 * text, bounded, with no control characters (C0, DEL, C1, line and paragraph separators) nor the bidi
 * overrides that could disguise what the target reads. Never sent to Asterisk.
 */
export const TransferNote = Type.String({
  minLength: 1,
  maxLength: 500,
  pattern: '^[^\\u0000-\\u001F\\u007F-\\u009F\\u2028\\u2029\\u202A-\\u202E\\u2066-\\u2069]*$',
  description: 'A note for the target: 1 to 500 characters of plain text, no control characters'
})

/** Who the transferred party is, as Asterisk knows them when the transfer starts (the agent's connected line). */
export const TransferCaller = Type.Object({
  number: Type.String(),
  name: Type.Optional(Type.String())
})

/** The uniqueid of each channel of a transfer, under the same names as its `channels`. */
export const TransferUniqueIds = Type.Object({
  agent: Type.Optional(Type.String()),
  peer: Type.Optional(Type.String()),
  consultation: Type.Optional(Type.String()),
  target: Type.Optional(Type.String())
})

export const TransferType = Type.Union([Type.Literal('blind'), Type.Literal('attended')])

/** Where a transfer is in its life (see transfers/state.ts for the transitions). */
export const TransferStatus = Type.Union([
  Type.Literal('initiated'),
  Type.Literal('redirected'),
  Type.Literal('answered'),
  /** Blind: the target did not take the call; the customer is on the way back to the agent (transfer recall). */
  Type.Literal('recalling'),
  Type.Literal('consulting'),
  Type.Literal('target_answered'),
  /** Attended: customer, agent and target in one call (the agent's three-way feature). */
  Type.Literal('three_way'),
  Type.Literal('completed'),
  Type.Literal('cancelled'),
  Type.Literal('failed'),
  Type.Literal('abandoned')
])

export const FailureReason = Type.Union([
  Type.Literal('target_busy'),
  Type.Literal('no_answer'),
  Type.Literal('target_unavailable'),
  Type.Literal('target_hung_up'),
  Type.Literal('unknown_target'),
  Type.Literal('asterisk_refused'),
  Type.Literal('timed_out'),
  /** Asterisk restarted (or was unreachable) and the transfer's calls were gone when it came back. */
  Type.Literal('asterisk_restarted'),
  /** The calls ended while the plugin could not see them (found by reconciliation). */
  Type.Literal('call_ended'),
  /** The transfer stayed in one state longer than its deadline allows. */
  Type.Literal('deadline_exceeded')
])

/**
 * Where the customer went after a blind transfer the target did not take (transfer recall): back to
 * the agent who transferred them, to the configured fallback destination (named), or nowhere (the
 * agent was not free or did not answer, and there is no fallback: the call ended).
 */
export const Recall = Type.Object({
  to: Type.Union([Type.Literal('agent'), Type.Literal('fallback'), Type.Literal('none')]),
  /** The fallback destination's name, when `to` is `fallback`. */
  destination: Type.Optional(Type.String())
})

/**
 * Whom the agent talks to during an attended transfer: the target (consulting), the customer (after a
 * swap, the target waiting), or both (three-way).
 */
export const TalkingTo = Type.Union([Type.Literal('target'), Type.Literal('customer'), Type.Literal('both')])

/**
 * A transfer into a queue (a destination of kind `queue`): the queue, as the destination names it,
 * and the priority the customer joined it with (Asterisk's `QUEUE_PRIO`), when one is configured.
 */
export const TransferQueue = Type.Object({
  name: Type.String(),
  priority: Type.Optional(Type.Integer())
})

export const Transfer = Type.Object({
  id: Type.String(),
  type: TransferType,
  status: TransferStatus,
  failureReason: Type.Optional(FailureReason),
  /** The error that ended it, when an Asterisk action failed. */
  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
  /** `plugin`: asked through this API; `phone`: the phone's own transfer key or a SIP REFER. */
  origin: Type.Union([Type.Literal('plugin'), Type.Literal('phone')]),
  /** The Asterisk server the agent's call is on: its name in the pool (`default` for a single Asterisk). */
  server: Type.Optional(Type.String()),
  /**
   * A transfer to an agent of another server of the pool: that server, and there, once the target took
   * the call, the inbound trunk leg of this call and the target's own channel (`channels.target` is
   * then the trunk leg on `server`). The halves are matched by the SIP Call-ID.
   */
  across: Type.Optional(Type.Object({
    server: Type.String(),
    inbound: Type.Optional(Type.String()),
    target: Type.Optional(Type.String())
  })),
  /** The agent extension whose call is transferred. */
  extension: Type.String(),
  targetExtension: Type.String(),
  /** Who asked for it: the authenticated extension, or the agent for phone transfers. */
  requestedBy: Type.String(),
  /** Blind, failed: where the customer went instead of the target (see `Recall`). */
  recall: Type.Optional(Recall),
  /** Attended, while the consultation lasts: whom the agent talks to (see `TalkingTo`). */
  talkingTo: Type.Optional(TalkingTo),
  /** The named destination (queue, voicemail...) when the target is one. */
  destination: Type.Optional(Type.String()),
  /** A destination of kind `queue`: which queue, and the priority used (see `TransferQueue`). */
  queue: Type.Optional(TransferQueue),
  /** The requester's note for the target (screen pop). */
  note: Type.Optional(TransferNote),
  /** The customer whose call is transferred: caller id number and, when known, name. */
  caller: Type.Optional(TransferCaller),
  channels: Type.Object({
    agent: Type.String(),
    /** The party transferred (the customer). */
    peer: Type.String(),
    /** Attended: the Local channel Asterisk dials the target through. */
    consultation: Type.Optional(Type.String()),
    /** The target's own leg, once it is dialed. */
    target: Type.Optional(Type.String())
  }),
  /**
   * Asterisk's linkedid of the call: the id its CDR and CEL rows share (the customer's uniqueid, kept
   * through blind and attended transfers). Absent while the plugin has not seen it.
   */
  linkedId: Type.Optional(Type.String()),
  /** Each channel's uniqueid, next to `channels`: known for the channels the plugin saw, on `server`. */
  uniqueIds: Type.Optional(TransferUniqueIds),
  /**
   * The recording files of the call as Asterisk names them (`MIXMONITOR_FILENAME`): the one on the
   * agent's leg, and the one the plugin started on the customer's channel so the recording follows
   * them (see `recordings` in the plugin's options). Absent when the call was not recorded.
   */
  recordings: Type.Optional(Type.Array(Type.String())),
  createdAt: Type.String(),
  updatedAt: Type.String()
})

export type Transfer = Static<typeof Transfer>
export type TransferType = Static<typeof TransferType>
export type TransferStatus = Static<typeof TransferStatus>
export type FailureReason = Static<typeof FailureReason>
export type TransferCaller = Static<typeof TransferCaller>
export type TransferUniqueIds = Static<typeof TransferUniqueIds>
export type Recall = Static<typeof Recall>
export type TalkingTo = Static<typeof TalkingTo>
export type TransferQueue = Static<typeof TransferQueue>

const FINAL: ReadonlySet<TransferStatus> = new Set(['answered', 'completed', 'cancelled', 'failed', 'abandoned'])

/** Whether a transfer is over: nothing moves it on from there (see transfers/state.ts). */
export function isFinal (status: TransferStatus): boolean {
  return FINAL.has(status)
}
