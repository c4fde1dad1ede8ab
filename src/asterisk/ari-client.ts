/**
 * ARI over `ari-client`, repairing what that library lacks:
 * - `connect()` there fails for good when Asterisk is down: here it is retried with capped backoff, for
 *   as long as it takes, until it succeeds or the client closes;
 * - requests there have no timeout, and one whose connection fails (refused, reset) never settles at all
 *   (swagger-client has no handler for a request without a response): here each one has a deadline;
 * - it never says that ARI went away: here a periodic `GET /asterisk/ping` (and any request that times
 *   out) checks it; once ARI is known down, `disconnected` is emitted, the requests in flight are
 *   rejected and new ones refused at once (XFER_ASTERISK_UNAVAILABLE), and reconnection starts;
 * - results there are class instances carrying an enumerable `_client`: here they are mapped to plain,
 *   serialisable objects.
 * Only REST is used; the plugin learns about events from AMI.
 */
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import ari from 'ari-client'
import { AsteriskTimeoutError, AsteriskUnavailableError } from '../errors.js'
import { redactUrl } from '../log-redaction.js'
import { backoffDelay, type BackoffOptions } from '../client/backoff.js'
import { silentLogger, type Logger } from '../support/logger.js'
import { SafeEmitter } from '../support/safe-emitter.js'

export interface AriClientOptions {
  url: string
  username: string
  password: string
  requestTimeoutMs: number
  reconnect: BackoffOptions
  /** How often `GET /asterisk/ping` checks that ARI is alive; 0 (the default) disables it. */
  pingIntervalMs?: number
  logger?: Logger
}

interface AriClientEvents {
  connected: []
  disconnected: [reason: string]
}

export interface PbxChannel {
  id: string
  name: string
  /** Asterisk's channel state: Up, Ring, Ringing, Down... */
  state: string
  callerNumber: string
  /** The caller id name, when Asterisk has one (not every source of channels carries it). */
  callerName?: string
  connectedNumber: string
  connectedName?: string
  dialplan: { context: string, exten: string }
  createdAt: string
}

export interface PbxBridge {
  id: string
  technology: string
  bridgeType: string
  channelIds: string[]
}

export interface PbxEndpoint {
  technology: string
  resource: string
  /** online, offline, unknown */
  state: string
  channelIds: string[]
}

type AriConnection = Awaited<ReturnType<typeof ari.connect>>

interface SwaggerPrototype {
  fail: (message: unknown) => void
  failure?: (message: unknown) => void
  buildFrom1_1Spec: (...args: unknown[]) => unknown
  __tamed?: boolean
}

/** The very swagger-client that ari-client loads (not whatever copy the host may have). */
function swaggerOfAriClient (): SwaggerPrototype {
  const requireFromAri = createRequire(createRequire(import.meta.url).resolve('ari-client'))
  const swagger = requireFromAri(requireFromAri.resolve('swagger-client', { paths: [dirname(requireFromAri.resolve('ari-client'))] })) as {
    SwaggerApi: { prototype: SwaggerPrototype }
  }
  return swagger.SwaggerApi.prototype
}

/**
 * swagger-client's `fail()` reports a failed connection (refused credentials, a wrong URL, an
 * unreachable host) to ari-client, which rejects `connect()`, and then *throws* the message from inside
 * an HTTP callback, where nothing can catch it: the process would crash after the rejection was
 * handled. Reporting is all that is needed, so the throw is removed.
 */
function stopSwaggerFromThrowing (prototype: SwaggerPrototype): void {
  prototype.fail = function (this: { failure: (message: unknown) => void }, message: unknown): void {
    this.failure(message)
  }
}

const SWAGGER_DEPRECATION_NOTICE = 'This API is using a deprecated version of Swagger'

/**
 * Asterisk describes ARI in Swagger 1.1, and at every connect swagger-client prints "This API is using
 * a deprecated version of Swagger!" with console.log: users read it as the plugin's error. It prints
 * through a global `log` function of its own (an implicit global of that sloppy-mode file), looked up
 * when called; that one line is dropped while the 1.1 description is read, and anything else logged
 * meanwhile goes through as before.
 */
function quietSwaggerDeprecationNotice (prototype: SwaggerPrototype): void {
  const build = prototype.buildFrom1_1Spec
  prototype.buildFrom1_1Spec = function (this: unknown, ...args: unknown[]): unknown {
    const scope = globalThis as { log?: (...messages: unknown[]) => unknown }
    const log = scope.log
    if (typeof log !== 'function') return build.apply(this, args)
    scope.log = function (this: unknown, ...messages: unknown[]): unknown {
      if (typeof messages[0] === 'string' && messages[0].startsWith(SWAGGER_DEPRECATION_NOTICE)) return undefined
      return log.apply(this, messages)
    }
    try {
      return build.apply(this, args)
    } finally {
      scope.log = log
    }
  }
}

/** Patched once per process, however many copies of this module are loaded. */
function tameSwagger (): void {
  const prototype = swaggerOfAriClient()
  if (prototype.__tamed === true) return
  stopSwaggerFromThrowing(prototype)
  quietSwaggerDeprecationNotice(prototype)
  prototype.__tamed = true
}

tameSwagger()

function toChannel (raw: Record<string, any>): PbxChannel {
  return {
    id: String(raw.id),
    name: String(raw.name),
    state: String(raw.state ?? ''),
    callerNumber: String(raw.caller?.number ?? ''),
    callerName: String(raw.caller?.name ?? ''),
    connectedNumber: String(raw.connected?.number ?? ''),
    connectedName: String(raw.connected?.name ?? ''),
    dialplan: { context: String(raw.dialplan?.context ?? ''), exten: String(raw.dialplan?.exten ?? '') },
    createdAt: String(raw.creationtime ?? '')
  }
}

function toBridge (raw: Record<string, any>): PbxBridge {
  return {
    id: String(raw.id),
    technology: String(raw.technology ?? ''),
    bridgeType: String(raw.bridge_type ?? ''),
    channelIds: Array.isArray(raw.channels) ? raw.channels.map(String) : []
  }
}

function toEndpoint (raw: Record<string, any>): PbxEndpoint {
  return {
    technology: String(raw.technology ?? ''),
    resource: String(raw.resource ?? ''),
    state: String(raw.state ?? 'unknown'),
    channelIds: Array.isArray(raw.channel_ids) ? raw.channel_ids.map(String) : []
  }
}

export class AriClient extends SafeEmitter<AriClientEvents> {
  readonly #options: AriClientOptions
  readonly #log: Logger
  /** Rejects a request in flight: all of them are rejected at once when ARI goes down. */
  readonly #inFlight = new Set<(error: Error) => void>()
  #connection: AriConnection | undefined
  #connecting: Promise<void> | undefined
  #retryTimer: NodeJS.Timeout | undefined
  #pingTimer: NodeJS.Timeout | undefined
  #checking = false
  #failedAttempts = 0
  #closed = false

  constructor (options: AriClientOptions) {
    super({ name: 'ARI client', logger: options.logger })
    this.#options = options
    this.#log = options.logger ?? silentLogger
  }

  get ready (): boolean {
    return this.#connection !== undefined
  }

  /** Tries to connect once; on failure keeps retrying in the background and rejects this first try. */
  async start (): Promise<void> {
    this.#closed = false
    const interval = this.#options.pingIntervalMs ?? 0
    if (interval > 0 && this.#pingTimer === undefined) {
      this.#pingTimer = setInterval(() => { this.#checkAlive() }, interval)
      this.#pingTimer.unref()
    }
    await this.#connect()
  }

  async listChannels (): Promise<PbxChannel[]> {
    const channels = await this.#request('GET /channels', (client) => client.channels.list())
    return channels.map((channel) => toChannel(channel as unknown as Record<string, any>))
  }

  async listBridges (): Promise<PbxBridge[]> {
    const bridges = await this.#request('GET /bridges', (client) => client.bridges.list())
    return bridges.map((bridge) => toBridge(bridge as unknown as Record<string, any>))
  }

  async listEndpoints (): Promise<PbxEndpoint[]> {
    const endpoints = await this.#request('GET /endpoints', (client) => client.endpoints.list())
    return endpoints.map((endpoint) => toEndpoint(endpoint as unknown as Record<string, any>))
  }

  close (): void {
    this.#closed = true
    clearTimeout(this.#retryTimer)
    clearInterval(this.#pingTimer)
    this.#pingTimer = undefined
    this.#drop('ARI client closed')
  }

  async #request<T> (what: string, send: (client: AriConnection) => Promise<T>): Promise<T> {
    const client = this.#connection
    if (client === undefined) throw new AsteriskUnavailableError(`ARI is not connected (${what} not sent)`)
    const timeoutMs = this.#options.requestTimeoutMs
    let timer: NodeJS.Timeout | undefined
    let dropped: ((error: Error) => void) | undefined
    const deadline = new Promise<never>((_resolve, reject) => {
      dropped = reject
      timer = setTimeout(() => {
        reject(new AsteriskTimeoutError(`ARI ${what}`, timeoutMs))
        // A request without an answer may be the first sign of a dead ARI: check it now, not at the next ping.
        this.#checkAlive()
      }, timeoutMs)
    })
    const reject = dropped as (error: Error) => void
    this.#inFlight.add(reject)
    try {
      return await Promise.race([send(client).catch((error: unknown) => { throw this.#requestError(what, error) }), deadline])
    } finally {
      clearTimeout(timer)
      this.#inFlight.delete(reject)
    }
  }

  #requestError (what: string, error: unknown): Error {
    const message = error instanceof Error ? error.message : String(error)
    return new AsteriskUnavailableError(`ARI ${what} failed: ${message}`)
  }

  /**
   * Asks ARI whether it is alive, outside ari-client: a refused or reset connection fails at once here,
   * where a request through ari-client would wait for its deadline. Any failure means ARI is down. A
   * connection of its own, closed after the answer, so no idle keep-alive socket outlives `close()`.
   */
  #checkAlive (): void {
    if (this.#checking || this.#connection === undefined || this.#closed) return
    this.#checking = true
    this.#ping().then(undefined, (error: Error & { code?: string }) => {
      this.#markDown(`ARI connection lost: ${error.code ?? error.message}`)
    }).finally(() => { this.#checking = false })
  }

  async #ping (): Promise<void> {
    const { url, username, password, requestTimeoutMs } = this.#options
    const target = new URL('/ari/asterisk/ping', url)
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest
    await new Promise<void>((resolve, reject) => {
      const request = send(target, {
        agent: false,
        auth: `${username}:${password}`,
        timeout: requestTimeoutMs
      }, (response) => {
        response.resume()
        if (response.statusCode === 200) resolve()
        else reject(new Error(`GET /asterisk/ping answered HTTP ${String(response.statusCode)}`))
      })
      request.on('timeout', () => { request.destroy(new AsteriskTimeoutError('ARI GET /asterisk/ping', requestTimeoutMs)) })
      request.on('error', reject)
      request.end()
    })
  }

  /** ARI is known down: say so, fail what waits on it, and reconnect. */
  #markDown (reason: string): void {
    if (this.#connection === undefined || this.#closed) return
    this.#log.warn({ reason }, 'ARI connection lost')
    this.#drop(reason)
    this.emit('disconnected', reason)
    this.#scheduleRetry()
  }

  #drop (reason: string): void {
    this.#connection = undefined
    for (const reject of [...this.#inFlight]) reject(new AsteriskUnavailableError(reason))
    this.#inFlight.clear()
  }

  #connect (): Promise<void> {
    this.#connecting ??= this.#tryConnect().finally(() => { this.#connecting = undefined })
    return this.#connecting
  }

  async #tryConnect (): Promise<void> {
    const { url, username, password, requestTimeoutMs } = this.#options
    let timer: NodeJS.Timeout | undefined
    try {
      const deadline = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new AsteriskTimeoutError('ARI connect', requestTimeoutMs)), requestTimeoutMs)
      })
      const client = await Promise.race([ari.connect(url, username, password), deadline])
      if (this.#closed) return
      this.#connection = client
      this.#failedAttempts = 0
      this.#log.info({ url: redactUrl(url) }, 'ARI connected')
      this.emit('connected')
    } catch (error) {
      if (!this.#closed) this.#scheduleRetry()
      const message = error instanceof Error ? error.message : String(error)
      throw error instanceof AsteriskTimeoutError ? error : new AsteriskUnavailableError(`cannot reach ARI at ${redactUrl(url)}: ${message}`)
    } finally {
      clearTimeout(timer)
    }
  }

  /** Retries for as long as it takes: an ARI that comes back an hour later is used without a restart. */
  #scheduleRetry (): void {
    clearTimeout(this.#retryTimer)
    const delay = backoffDelay(this.#failedAttempts++, this.#options.reconnect)
    this.#retryTimer = setTimeout(() => {
      this.#connect().catch((error: Error) => this.#log.warn({ err: error, attempt: this.#failedAttempts }, 'ARI connect failed; retrying'))
    }, delay)
  }
}
