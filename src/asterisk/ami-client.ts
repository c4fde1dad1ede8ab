/**
 * A promise-based AMI connection over `asterisk-manager`, repairing the defects of that library:
 * - actions never time out there: here each one has a deadline (XFER_ASTERISK_TIMEOUT);
 * - an action sent while disconnected is silently lost there: here it is refused at once, and actions
 *   in flight are rejected the moment the connection drops (XFER_ASTERISK_UNAVAILABLE), never left hanging;
 * - its `keepConnected()` is unreliable and fixed at 10 s steps: here reconnection uses capped backoff,
 *   and a periodic `Ping` detects a connection that died without a FIN;
 * - login failures never reach a callback there: here they reject `start()` (XFER_AMI_LOGIN_FAILED);
 * - list actions answer with events: here `list()` collects them up to the `...Complete` event;
 * - values are written raw there: here every field is checked first (see ami-values.ts).
 * A fresh `Manager` is made for every connection so no state of a dead socket leaks into the next one.
 */
import Manager, { type ManagerConnection } from 'asterisk-manager'
import { AmiLoginError, AsteriskRefusedError, AsteriskTimeoutError, AsteriskUnavailableError, ChannelGoneError } from '../errors.js'
import { assertSafeAmiFields, type AmiFields } from './ami-values.js'
import { backoffDelay, type BackoffOptions } from './backoff.js'
import { silentLogger, type Logger } from './logger.js'
import { SafeEmitter } from './safe-emitter.js'

/** An AMI message as `asterisk-manager` parses it: keys lowercased, repeated keys as arrays. */
export type AmiMessage = Readonly<Record<string, string | string[] | Record<string, string> | undefined>>

export interface AmiClientOptions {
  host: string
  port: number
  username: string
  password: string
  actionTimeoutMs: number
  reconnect: BackoffOptions
  /** How often a `Ping` checks that the connection is alive; 0 disables it. */
  pingIntervalMs: number
  logger?: Logger
}

interface AmiClientEvents {
  /** Every unsolicited AMI event (list items answering our own actions are not repeated here). */
  event: [AmiMessage]
  connected: []
  disconnected: [reason: string]
}

interface PendingAction {
  action: string
  channel: string | undefined
  resolve: (value: AmiMessage[]) => void
  reject: (error: Error) => void
  timer: NodeJS.Timeout
  /** For list actions: the items collected so far, once the response said a list follows. */
  items?: AmiMessage[]
}

/** The texts Asterisk answers with when the named channel is gone (Redirect, Atxfer, Hangup...). */
const CHANNEL_GONE = /channel does not exist|channel specified does not exist|no such channel/i

function text (value: AmiMessage[string]): string | undefined {
  return typeof value === 'string' ? value : undefined
}

export class AmiClient extends SafeEmitter<AmiClientEvents> {
  readonly #options: AmiClientOptions
  readonly #log: Logger
  readonly #pending = new Map<string, PendingAction>()
  readonly #idPrefix = `fat${process.pid}-`
  #manager: ManagerConnection | undefined
  #ready = false
  #closing = false
  #nextId = 0
  #failedAttempts = 0
  #reconnectTimer: NodeJS.Timeout | undefined
  #pingTimer: NodeJS.Timeout | undefined
  /** Gives up the connection attempt in progress, if any. */
  #abandonConnect: ((error: Error) => void) | undefined

  constructor (options: AmiClientOptions) {
    super({ name: 'AMI client', logger: options.logger })
    this.#options = options
    this.#log = options.logger ?? silentLogger
  }

  get ready (): boolean {
    return this.#ready
  }

  /**
   * Connects and logs in. Rejects with AmiLoginError when Asterisk refuses the credentials, and with
   * AsteriskUnavailableError when it cannot be reached; in both cases the client keeps retrying in the
   * background until `close()`.
   */
  async start (): Promise<void> {
    this.#closing = false
    if (this.#options.pingIntervalMs > 0 && this.#pingTimer === undefined) {
      this.#pingTimer = setInterval(() => this.#ping(), this.#options.pingIntervalMs)
      this.#pingTimer.unref()
    }
    await this.#connect()
  }

  /** Sends one action and resolves with its response; an `Error` response rejects. */
  async action (fields: AmiFields): Promise<AmiMessage> {
    const [response] = await this.#send(fields, false)
    return response as AmiMessage
  }

  /** Sends a list action (CoreShowChannels, BridgeInfo, QueueStatus...) and resolves with its items. */
  async list (fields: AmiFields): Promise<AmiMessage[]> {
    return await this.#send(fields, true)
  }

  async close (): Promise<void> {
    this.#closing = true
    clearTimeout(this.#reconnectTimer)
    clearInterval(this.#pingTimer)
    this.#pingTimer = undefined
    const manager = this.#manager
    this.#abandonConnect?.(new AsteriskUnavailableError('AMI client closed'))
    this.#dropConnection('AMI client closed')
    if (manager?.isConnected() === true) await new Promise<void>((resolve) => manager.disconnect(resolve))
  }

  #send (fields: AmiFields, isList: boolean): Promise<AmiMessage[]> {
    const action = String(fields.Action ?? fields.action ?? '')
    try {
      assertSafeAmiFields(fields)
    } catch (error) {
      return Promise.reject(error)
    }
    const manager = this.#manager
    if (!this.#ready || manager === undefined) {
      return Promise.reject(new AsteriskUnavailableError(`AMI is not connected (action ${action} not sent)`))
    }
    const id = `${this.#idPrefix}${++this.#nextId}`
    const channel = typeof fields.Channel === 'string' ? fields.Channel : undefined
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#settle(id, new AsteriskTimeoutError(`AMI ${action}`, this.#options.actionTimeoutMs))
      }, this.#options.actionTimeoutMs)
      this.#pending.set(id, { action, channel, resolve, reject, timer })
      manager.action({ ...fields, actionid: id }, (error, response) => {
        this.#onResponse(id, error ?? response, error !== undefined, isList)
      })
    })
  }

  #onResponse (id: string, message: AmiMessage | undefined, isError: boolean, isList: boolean): void {
    const pending = this.#pending.get(id)
    if (pending === undefined || message === undefined) return
    if (isError) {
      const reason = text(message.message) ?? 'error'
      const error = CHANNEL_GONE.test(reason) && pending.channel !== undefined
        ? new ChannelGoneError(pending.channel)
        : new AsteriskRefusedError(`AMI ${pending.action}`, reason)
      this.#settle(id, error)
    } else if (isList && text(message.eventlist)?.toLowerCase() === 'start') {
      pending.items = []
    } else {
      this.#settle(id, undefined, [message])
    }
  }

  #onEvent (message: AmiMessage): void {
    const id = text(message.actionid)
    const pending = id === undefined ? undefined : this.#pending.get(id)
    if (pending?.items === undefined) {
      this.emit('event', message)
      return
    }
    if (text(message.eventlist)?.toLowerCase() === 'complete') {
      this.#settle(id as string, undefined, pending.items)
    } else {
      pending.items.push(message)
    }
  }

  #settle (id: string, error: Error | undefined, value: AmiMessage[] = []): void {
    const pending = this.#pending.get(id)
    if (pending === undefined) return
    this.#pending.delete(id)
    clearTimeout(pending.timer)
    // The library keeps a once-listener per ActionID until a response comes: drop it so a lost
    // response does not leak a listener.
    this.#manager?.removeAllListeners(id)
    if (error !== undefined) pending.reject(error)
    else pending.resolve(value)
  }

  #connect (): Promise<void> {
    const { host, port, username, password, actionTimeoutMs } = this.#options
    const manager = new Manager(undefined, host, username, password, true)
    this.#manager = manager
    let lastError: Error | undefined
    return new Promise((resolve, reject) => {
      let settled = false
      const settle = (): boolean => {
        if (settled) return false
        settled = true
        clearTimeout(loginTimer)
        this.#abandonConnect = undefined
        return true
      }
      // An attempt given up (login timeout, close()) must release its socket. The library cannot
      // close a socket that is still opening, so that case is closed in the connect callback below.
      const abandon = (error: Error): void => {
        if (!settle()) return
        reject(error)
        this.#onClose(manager, error)
        if (manager.isConnected()) manager.disconnect()
      }
      this.#abandonConnect = abandon
      const loginTimer = setTimeout(() => abandon(new AsteriskTimeoutError('AMI login', actionTimeoutMs)), actionTimeoutMs)
      manager.on('error', (error) => { lastError = error })
      manager.on('managerevent', (message) => { if (manager === this.#manager) this.#onEvent(message) })
      manager.on('close', () => {
        if (settle()) reject(new AsteriskUnavailableError(`cannot reach AMI at ${host}:${port} (${lastError?.message ?? 'connection closed'})`))
        this.#onClose(manager, lastError)
      })
      manager.connect(port, host, () => {
        if (settled) {
          manager.disconnect()
          return
        }
        manager.login((refusal) => {
          if (refusal !== undefined) {
            if (settle()) reject(new AmiLoginError(text(refusal.message) ?? 'refused'))
            manager.disconnect()
            return
          }
          if (!settle()) return
          this.#ready = true
          this.#failedAttempts = 0
          this.#log.info({ host, port }, 'AMI connected')
          this.emit('connected')
          resolve()
        })
      })
    })
  }

  #onClose (manager: ManagerConnection, error: Error | undefined): void {
    if (manager !== this.#manager) return
    const wasReady = this.#ready
    this.#dropConnection(`AMI connection lost${error === undefined ? '' : `: ${error.message}`}`)
    if (wasReady) this.#log.warn({ err: error }, 'AMI connection lost')
    if (!this.#closing) this.#scheduleReconnect()
  }

  /** Forgets the current connection and fails everything that was waiting on it. */
  #dropConnection (reason: string): void {
    const wasReady = this.#ready
    this.#ready = false
    this.#manager = undefined
    for (const id of [...this.#pending.keys()]) this.#settle(id, new AsteriskUnavailableError(reason))
    if (wasReady) this.emit('disconnected', reason)
  }

  #scheduleReconnect (): void {
    clearTimeout(this.#reconnectTimer)
    const delay = backoffDelay(this.#failedAttempts++, this.#options.reconnect)
    this.#log.debug({ delay }, 'AMI reconnect scheduled')
    this.#reconnectTimer = setTimeout(() => {
      this.#connect().catch((error: Error) => {
        this.#log.warn({ err: error, attempt: this.#failedAttempts }, 'AMI reconnect failed')
      })
    }, delay)
  }

  /** A connection can die without a FIN (a crashed host, a dropped NAT entry): only a request shows it. */
  #ping (): void {
    const manager = this.#manager
    if (!this.#ready || manager === undefined) return
    this.action({ Action: 'Ping' }).catch((error: Error) => {
      if (manager !== this.#manager) return
      this.#log.warn({ err: error }, 'AMI ping failed; reconnecting')
      this.#onClose(manager, error)
      manager.disconnect()
    })
  }
}
