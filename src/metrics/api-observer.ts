/**
 * What the routes and the feed tell the metrics: counts for operators, never a say in what happens.
 * Defined here, beside the metrics that implement it, so the metrics need nothing of the routes.
 */

/** Told of the feed's sockets, sends and slow consumers; it cannot change them. */
export interface FeedObserver {
  opened: () => void
  closed: () => void
  /** One event (or replayed event) sent to one socket. */
  delivered: () => void
  slowConsumer: () => void
}

/** Told what the transfer routes answered, and what the feed did. */
export interface ApiObserver {
  /** A transfer action answered again for a repeated Idempotency-Key. */
  replayed: () => void
  /** A transfer action refused by the rate limit. */
  rateLimited: () => void
  feed: FeedObserver
}
