/**
 * A view kept from the feed's log (what the feed last said of each agent, of each call, of each
 * transfer): the events of the types it follows, first those the log still holds when asked to replay
 * them, then each one as it is appended, until the returned function stops it. Every projection of
 * the log starts, follows and stops the same way; only what it remembers differs.
 */
import type { EventLog, LoggedEventType } from './event-log.js'
import type { FeedEventData } from './feed-events.js'

export interface ProjectionOptions {
  /** Whether the events the log holds already are applied first (default true). */
  replay?: boolean
}

/** Applies the log's events of `types` to `apply`, in the log's order; answers the function that stops it. */
export function projectLog<K extends LoggedEventType> (
  eventLog: EventLog,
  types: readonly K[],
  apply: (data: FeedEventData<K>, type: K) => void,
  { replay = true }: ProjectionOptions = {}
): () => void {
  const followed: ReadonlySet<string> = new Set(types)
  const take = ({ type, data }: { type: string, data: unknown }): void => {
    // The envelope's type says which payload it carries (domain/feed-events.ts).
    if (followed.has(type)) apply(data as FeedEventData<K>, type as K)
  }
  if (replay) for (const { envelope } of eventLog.since(0).events) take(envelope)
  return eventLog.subscribe(({ envelope }) => { take(envelope) })
}
