/** The client's options, checked when it is created: a wrong one fails at once with a message naming it. */
import type { ReconnectOptions, WebSocketConstructor } from './feed.js'
import type { FetchFunction } from './http.js'
import type { FeedEnvelope } from './types.js'

export interface TransferClientOptions {
  /** The host app, e.g. `https://softphone-api.example.com` (a path is kept: `https://host/pbx`). */
  baseUrl: string | URL
  /** The bearer token. Give this or `getToken`. */
  token?: string
  /** Called before each request and each feed connection, for tokens that get refreshed. */
  getToken?: () => string | Promise<string>
  /** Where the host app registered the plugin. Default `/api`. */
  prefix?: string
  /** Default: the global `fetch`. */
  fetch?: FetchFunction
  /** Default: the global `WebSocket` (browsers, Node 22+); on Node 20 pass the `ws` package's. */
  WebSocket?: WebSocketConstructor
  /** Feed reconnects. Default 500 ms doubling up to 10 s. */
  reconnect?: Partial<ReconnectOptions>
  /** How long a request may wait for its answer before it counts as a network failure. Default 30 s. */
  requestTimeoutMs?: number
  /**
   * Gets what an `on()` or `onFeedStatus()` handler threw (with the event, for an `on()` handler).
   * Default: thrown again from a timer, as an uncaught error.
   */
  onHandlerError?: (error: unknown, envelope: FeedEnvelope | undefined) => void
}

export interface ResolvedClientOptions {
  /** `baseUrl` + `prefix`, without a trailing slash. */
  apiUrl: string
  token: () => Promise<string>
  fetch: FetchFunction
  WebSocket: WebSocketConstructor | undefined
  reconnect: ReconnectOptions
  requestTimeoutMs: number
  onHandlerError: (error: unknown, envelope: FeedEnvelope | undefined) => void
}

const DEFAULT_RECONNECT: ReconnectOptions = { initialDelayMs: 500, maxDelayMs: 10_000 }
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000

export function resolveClientOptions (options: TransferClientOptions): ResolvedClientOptions {
  const fetch = options.fetch ?? globalThis.fetch
  if (typeof fetch !== 'function') fail('fetch', 'no global fetch on this platform: pass one')
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
  checkPositive('requestTimeoutMs', requestTimeoutMs)
  return {
    apiUrl: `${baseOf(options.baseUrl)}${prefixOf(options.prefix ?? '/api')}`,
    token: tokenSource(options),
    fetch,
    WebSocket: options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket,
    reconnect: reconnectOf(options.reconnect),
    requestTimeoutMs,
    onHandlerError: options.onHandlerError ?? ((error) => { setTimeout(() => { throw error }, 0) })
  }
}

function fail (option: string, problem: string): never {
  throw new TypeError(`createTransferClient: ${option}: ${problem}`)
}

/** The origin and path, without a trailing slash, query or fragment. */
function baseOf (baseUrl: string | URL): string {
  let url: URL
  try {
    url = new URL(baseUrl)
  } catch {
    return fail('baseUrl', `"${String(baseUrl)}" is not a URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail('baseUrl', `must be http(s), got ${url.protocol}`)
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`
}

/** `/api`, `api/` and `/api/` alike; `''` or `/` for routes at the root. */
function prefixOf (prefix: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '')
  return trimmed === '' ? '' : `/${trimmed}`
}

function tokenSource ({ token, getToken }: TransferClientOptions): () => Promise<string> {
  if ((token === undefined) === (getToken === undefined)) fail('token', 'give either token or getToken')
  if (getToken !== undefined) {
    if (typeof getToken !== 'function') fail('getToken', 'must be a function')
    return async () => await getToken()
  }
  if (typeof token !== 'string' || token === '') fail('token', 'must be a non-empty string')
  return async () => token
}

function reconnectOf (reconnect: Partial<ReconnectOptions> = {}): ReconnectOptions {
  const resolved = { ...DEFAULT_RECONNECT, ...reconnect }
  checkPositive('reconnect.initialDelayMs', resolved.initialDelayMs)
  checkPositive('reconnect.maxDelayMs', resolved.maxDelayMs)
  if (resolved.maxDelayMs < resolved.initialDelayMs) fail('reconnect.maxDelayMs', 'must not be less than initialDelayMs')
  return resolved
}

function checkPositive (option: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) fail(option, `must be a positive number, got ${String(value)}`)
}
