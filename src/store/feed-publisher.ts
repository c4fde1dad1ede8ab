/**
 * Where the services publish the feed's events. In one process the event log numbers them itself; with
 * several instances every event goes through one shared log first (`redis-feed.ts`), which numbers
 * them for all, and comes back to each instance's event log from there, in the same order everywhere.
 */
import type { Audience, EventLog, LoggedEventType } from '../domain/event-log.js'
import type { FeedEventData } from '../domain/feed-events.js'

export interface FeedPublisher {
  publish: <K extends LoggedEventType>(type: K, data: FeedEventData<K>, audience: Audience) => void
}

/** The embedded feed: straight into this process's log. */
export function localPublisher (eventLog: EventLog): FeedPublisher {
  return { publish: (type, data, audience) => { eventLog.append(type, data, audience) } }
}
