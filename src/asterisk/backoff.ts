/** The server's reconnects use the same backoff as the client's feed (one implementation, browser-safe). */
export { backoffDelay, type BackoffOptions } from '../client/backoff.js'
