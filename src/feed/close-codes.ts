/**
 * The codes the feed closes its sockets with. The 4000s are part of the API (the application range of
 * RFC 6455): clients act on them (the typed client does).
 */

/**
 * Close code for a client that reads slower than events arrive: more than `maxBufferedBytes` of its
 * messages were still unsent. Part of the API (4000-4999 is the application range of RFC 6455): the
 * client should reconnect with `?since=<last id it received>`.
 */
export const SLOW_CONSUMER_CLOSE_CODE = 4008
export const SLOW_CONSUMER_CLOSE_REASON = 'slow consumer: buffered data over limit'
/**
 * Close code for a socket over `maxSocketsPerIdentity`: the upgrade is accepted, then closed at once
 * with this code and reason, because a browser cannot read the status of a refused upgrade. Part of the
 * API: the client should not reconnect at once (its other sockets are open), but after its longest delay.
 */
export const TOO_MANY_SOCKETS_CLOSE_CODE = 4029
export const TOO_MANY_SOCKETS_CLOSE_REASON = 'too many feed sockets for this identity'
/** RFC 6455 "unsupported data": the feed is one-way, a client message is a broken client. */
export const CLIENT_MESSAGE_CLOSE_CODE = 1003
/** RFC 6455 "going away": the server shuts down; reconnect with `?since=` to another instance or later. */
export const SHUTDOWN_CLOSE_CODE = 1001
