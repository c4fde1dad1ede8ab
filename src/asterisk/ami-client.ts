/**
 * A promise-based AMI connection, written on a plain TCP socket and the plugin's own parser
 * (ami-parser.ts). It replaces `asterisk-manager`, whose defects it used to work around and whose parser
 * re-split its whole backlog on every chunk (see bench/ingest.ts):
 * - each action has a deadline (XFER_ASTERISK_TIMEOUT);
 * - an action sent while disconnected is refused at once, and actions in flight are rejected the moment
 *   the connection drops (XFER_ASTERISK_UNAVAILABLE), never left hanging;
 * - reconnection uses capped backoff, and a periodic `Ping` detects a connection that died without a FIN;
 * - a refused login rejects `start()` (XFER_AMI_LOGIN_FAILED);
 * - list actions answer with events: `list()` collects them up to the `...Complete` event;
 * - every field is checked before it is written (see ami-values.ts).
 * A fresh socket and parser are made for every connection so no state of a dead socket leaks into the next one.
 */
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import { AmiLoginError, AsteriskRefusedError, AsteriskTimeoutError, AsteriskUnavailableError, ChannelGoneError } from '../errors.js'
import { AmiParser, type AmiMessage } from './ami-parser.js'
import { assertSafeAmiFields, type AmiFields } from './ami-values.js'
import { backoffDelay, type BackoffOptions } from '../client/backoff.js'
import { silentLogger, type Logger } from '../support/logger.js'
import { SafeEmitter } from '../support/safe-emitter.js'

export type { AmiMessage }

export interface AmiClientOptions {
  host: string
  port: number
  username: string
  password: string
  actionTimeoutMs: number
  reconnect: BackoffOptions
  /** How often a `Ping` checks that the connection is alive; 0 disables it. */
  pingIntervalMs: number
  /**
   * The events emitted as `event`, by lowercased name (default: every event). Any other event is
   * dropped unread, which saves parsing events nobody listens to, except while a list action is
   * answered: its items may be events of any name.
   */
  events?: ReadonlySet<string>
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
  isList: boolean
  /** For list actions: the items collected so far, once the response said a list follows. */
  items?: AmiMessage[]
}

/** The texts Asterisk answers with when the named channel is gone (Redirect, Atxfer, Hangup, PlayDTMF...). */
const CHANNEL_GONE = /channel does not exist|channel specified does not exist|no such channel|channel not found/i

function text (value: AmiMessage[string]): string | undefined {
  return typeof value === 'string' ? value : undefined
}

export class AmiClient extends SafeEmitter<AmiClientEvents> {
  readonly #options: AmiClientOptions
  readonly #log: Logger
  readonly #pending = new Map<string, PendingAction>()
  /**
   * Every AMI connection receives the responses to its own actions only, but Asterisk's events that
   * echo an ActionID (OriginateResponse, the lists' completions) reach every connection: ids must be
   * unique across the instances of the host app, whose pids repeat from one container to the next.
   */
  readonly #idPrefix = `fat${randomBytes(6).toString('hex')}-`
  /** The socket of the current connection (logged in or logging in). */
  #socket: net.Socket | undefined
  #ready = false
  #closing = false
  #nextId = 0
  /** List actions sent and not settled: while there is one, every event is read. */
  #listsPending = 0
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

  /**
   * Sends several actions in one write and answers each on its own promise. Asterisk runs one session's
   * actions one after another, in the order written, so each is done before the next starts: a chain
   * that needs an order costs one round trip, not one per action. None is sent if one is unsafe.
   */
  inOrder (actions: readonly AmiFields[]): Array<Promise<AmiMessage>> {
    try {
      for (const fields of actions) assertSafeAmiFields(fields)
    } catch (error) {
      return actions.map(() => Promise.reject(error))
    }
    // One write, one syscall: on loopback each write costs about as much as parsing a dozen events.
    const frames: string[] = []
    const answers = actions.map(async (fields) => (await this.#send(fields, false, frames))[0] as AmiMessage)
    if (frames.length > 0) this.#socket?.write(frames.join(''))
    return answers
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
    const socket = this.#socket
    this.#abandonConnect?.(new AsteriskUnavailableError('AMI client closed'))
    this.#dropConnection('AMI client closed')
    if (socket !== undefined) await endSocket(socket)
  }

  /** `frames`: collect the written action there instead of writing it (the caller writes them together). */
  #send (fields: AmiFields, isList: boolean, frames?: string[]): Promise<AmiMessage[]> {
    const action = String(fields.Action ?? fields.action ?? '')
    try {
      assertSafeAmiFields(fields)
    } catch (error) {
      return Promise.reject(error)
    }
    const socket = this.#socket
    if (!this.#ready || socket === undefined) {
      return Promise.reject(new AsteriskUnavailableError(`AMI is not connected (action ${action} not sent)`))
    }
    const id = `${this.#idPrefix}${++this.#nextId}`
    const channel = typeof fields.Channel === 'string' ? fields.Channel : undefined
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#settle(id, new AsteriskTimeoutError(`AMI ${action}`, this.#options.actionTimeoutMs))
      }, this.#options.actionTimeoutMs)
      this.#pending.set(id, { action, channel, resolve, reject, timer, isList })
      if (isList) this.#listsPending++
      if (frames === undefined) socket.write(formatAction(fields, id))
      else frames.push(formatAction(fields, id))
    })
  }

  /** A message read from the socket: the answer to an action, or an event. */
  #onMessage (message: AmiMessage): void {
    if (message.response !== undefined && message.event === undefined) {
      const id = text(message.actionid)
      if (id !== undefined) this.#onResponse(id, message)
      return
    }
    if (message.event !== undefined) this.#onEvent(message)
  }

  #onResponse (id: string, message: AmiMessage): void {
    const pending = this.#pending.get(id)
    if (pending === undefined) return
    if (text(message.response)?.toLowerCase() === 'error') {
      const reason = text(message.message) ?? 'error'
      const error = CHANNEL_GONE.test(reason) && pending.channel !== undefined
        ? new ChannelGoneError(pending.channel)
        : new AsteriskRefusedError(`AMI ${pending.action}`, reason)
      this.#settle(id, error)
    } else if (pending.isList && text(message.eventlist)?.toLowerCase() === 'start') {
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
    if (pending.isList) this.#listsPending--
    clearTimeout(pending.timer)
    if (error !== undefined) pending.reject(error)
    else pending.resolve(value)
  }

  #connect (): Promise<void> {
    const { host, port, username, password, actionTimeoutMs } = this.#options
    const socket = net.createConnection(port, host)
    socket.setKeepAlive(true)
    socket.setNoDelay(true)
    socket.setEncoding('utf8')
    this.#socket = socket
    const loginId = `${this.#idPrefix}login-${++this.#nextId}`
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
      // An attempt given up (login timeout, close()) must release its socket, even one still opening.
      const abandon = (error: Error): void => {
        if (!settle()) return
        reject(error)
        this.#onClose(socket, error)
        socket.destroy()
      }
      this.#abandonConnect = abandon
      const loginTimer = setTimeout(() => abandon(new AsteriskTimeoutError('AMI login', actionTimeoutMs)), actionTimeoutMs)
      const onLogin = (answer: AmiMessage): void => {
        if (text(answer.response)?.toLowerCase() !== 'success') {
          if (settle()) reject(new AmiLoginError(text(answer.message) ?? 'refused'))
          socket.destroy()
          return
        }
        if (!settle()) return
        this.#ready = true
        this.#failedAttempts = 0
        this.#askForListenedEventsOnly()
        this.#log.info({ host, port }, 'AMI connected')
        this.emit('connected')
        resolve()
      }
      const parser = new AmiParser((message) => {
        if (socket !== this.#socket) return
        if (!settled && text(message.actionid) === loginId && message.response !== undefined) onLogin(message)
        else this.#onMessage(message)
      }, { skipEvent: this.#eventSkipper() })
      socket.on('data', (chunk: string) => { parser.push(chunk) })
      socket.on('error', (error) => { lastError = error })
      socket.on('close', () => {
        if (settle()) reject(new AsteriskUnavailableError(`cannot reach AMI at ${host}:${port} (${lastError?.message ?? 'connection closed'})`))
        this.#onClose(socket, lastError)
      })
      socket.once('connect', () => {
        socket.write(formatAction({ Action: 'Login', Username: username, Secret: password, Events: 'on' }, loginId))
      })
    })
  }

  /**
   * With `events` given, asks Asterisk to send this session those events only (AMI `Filter`, one
   * whitelist entry per name, for this session): most of what a PBX emits (`VarSet`, two thirds of a
   * transfer's events) then never crosses the socket. The filters are the session's, so they are asked
   * again after every login. The AMI user needs write `system` for it; without, every event still
   * comes and the ones not listened to are dropped here, unread.
   */
  #askForListenedEventsOnly (): void {
    const events = this.#options.events
    if (events === undefined || events.size === 0) return
    const answers = this.inOrder([...events].map((name) => ({ Action: 'Filter', Operation: 'Add', Filter: eventNameFilter(name) })))
    Promise.all(answers).then(() => {
      this.#log.debug({ events: events.size }, 'AMI events filtered at Asterisk')
    }, (error: unknown) => {
      this.#log.info({ err: error }, 'AMI events not filtered at Asterisk (the AMI user may lack write = system): unwanted ones are dropped here')
    })
  }

  /** Whether an event of this name (as written) can be dropped unread; undefined when every event is read. */
  #eventSkipper (): ((name: string) => boolean) | undefined {
    const events = this.#options.events
    if (events === undefined) return undefined
    return (name) => this.#listsPending === 0 && !events.has(name.toLowerCase())
  }

  #onClose (socket: net.Socket, error: Error | undefined): void {
    if (socket !== this.#socket) return
    const wasReady = this.#ready
    this.#dropConnection(`AMI connection lost${error === undefined ? '' : `: ${error.message}`}`)
    if (wasReady) this.#log.warn({ err: error }, 'AMI connection lost')
    if (!this.#closing) this.#scheduleReconnect()
  }

  /** Forgets the current connection and fails everything that was waiting on it. */
  #dropConnection (reason: string): void {
    const wasReady = this.#ready
    this.#ready = false
    this.#socket = undefined
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
    const socket = this.#socket
    if (!this.#ready || socket === undefined) return
    this.action({ Action: 'Ping' }).catch((error: Error) => {
      if (socket !== this.#socket) return
      this.#log.warn({ err: error }, 'AMI ping failed; reconnecting')
      this.#onClose(socket, error)
      socket.destroy()
    })
  }
}

/**
 * An action as AMI reads it: `Key: value` lines, the ActionID, a blank line. Object values (Variable)
 * give one `Key: name=value` line each. The fields were checked by assertSafeAmiFields.
 */
function formatAction (fields: AmiFields, actionId: string): string {
  let block = ''
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined || key.toLowerCase() === 'actionid') continue
    if (typeof value === 'object') {
      for (const [name, inner] of Object.entries(value)) block += `${key}: ${name}=${inner}\r\n`
    } else {
      block += `${key}: ${String(value)}\r\n`
    }
  }
  return `${block}ActionID: ${actionId}\r\n\r\n`
}

/**
 * An AMI `Filter` (a POSIX extended regular expression over the whole event, which starts with its
 * `Event:` line) that lets through events of this name, whatever its case: Asterisk matches case
 * sensitively, and the names are known here in lower case. The name must end there (`Hangup`, not
 * `HangupRequest`).
 */
export function eventNameFilter (name: string): string {
  const anyCase = [...name].map((char) => char.toLowerCase() === char.toUpperCase() ? char : `[${char.toUpperCase()}${char.toLowerCase()}]`).join('')
  return `^Event: ${anyCase}[[:space:]]`
}

/** Ends the connection politely (Asterisk sees the client leave), cutting it if it does not close soon. */
async function endSocket (socket: net.Socket): Promise<void> {
  if (socket.destroyed) return
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => socket.destroy(), 1000)
    socket.once('close', () => {
      clearTimeout(timer)
      resolve()
    })
    socket.end()
  })
}
