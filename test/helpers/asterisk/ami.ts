// A small typed wrapper around asterisk-manager 0.2.0 for test code (not the plugin's client).
// It works around the library's defects: actions get a timeout, login failures are reported,
// list actions collect their events, and close() really closes the socket.
import { createRequire } from 'node:module'
import type { AmiSettings } from './testbed.js'

/** A message as asterisk-manager parses it: keys lowercased, repeated keys become arrays. */
export type AmiMessage = Record<string, string | string[] | Record<string, string> | undefined>

/** Action fields; keys are case-insensitive (the library capitalises them). */
export type AmiFields = Record<string, string | number | boolean | undefined>

interface RawManager {
  connect (port: number, host: string, callback?: (err: Error | null) => void): void
  login (callback?: (err?: AmiMessage) => void): void
  action (action: AmiFields, callback?: (err: AmiMessage | undefined, response?: AmiMessage) => void): string
  disconnect (callback?: () => void): void
  isConnected (): boolean
  on (event: string, listener: (...args: never[]) => void): void
  removeListener (event: string, listener: (...args: never[]) => void): void
}
type RawManagerConstructor = new (port: number | undefined, host: string, username: string, password: string, events: boolean) => RawManager

const require = createRequire(import.meta.url)
const Manager = require('asterisk-manager') as RawManagerConstructor

// The library's own ActionIDs are Date.now() strings, reused as soon as a response arrives;
// list events could then be matched to the wrong action. Use unique ones.
let actionCounter = 0
const actionIdPrefix = `th${process.pid}-${Math.random().toString(36).slice(2, 8)}`
function nextActionId (): string {
  actionCounter += 1
  return `${actionIdPrefix}-${actionCounter}`
}

/** The string value of a field (first one when repeated), or undefined. */
export function field (msg: AmiMessage, key: string): string | undefined {
  const v = msg[key.toLowerCase()]
  if (typeof v === 'string') return v
  if (Array.isArray(v)) return v[0]
  return undefined
}

export class AmiError extends Error {
  readonly response: AmiMessage | undefined
  constructor (message: string, response?: AmiMessage) {
    super(message)
    this.name = 'AmiError'
    this.response = response
  }
}

export interface AmiListResult {
  response: AmiMessage
  /** The events carrying this action's ActionID, up to and excluding the `...Complete` event. */
  events: AmiMessage[]
  complete: AmiMessage | undefined
}

export class AmiConnection {
  readonly #mgr: RawManager
  readonly #settings: AmiSettings
  #closed = false

  private constructor (mgr: RawManager, settings: AmiSettings) {
    this.#mgr = mgr
    this.#settings = settings
  }

  /** Connects and logs in; rejects on refusal, bad credentials or timeout. */
  static async connect (settings: AmiSettings, opts: { events?: boolean, timeoutMs?: number } = {}): Promise<AmiConnection> {
    const timeoutMs = opts.timeoutMs ?? 5000
    const mgr = new Manager(undefined, settings.host, settings.username, settings.password, opts.events ?? false)
    const conn = new AmiConnection(mgr, settings)
    const where = `AMI ${settings.host}:${settings.port}`
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new AmiError(`${where}: no login answer within ${timeoutMs} ms`)), timeoutMs)
        const onError = (err: Error): void => { clearTimeout(timer); reject(new AmiError(`${where}: ${err.message}`)) }
        mgr.on('error', onError)
        mgr.connect(settings.port, settings.host, () => {
          mgr.login((err) => {
            clearTimeout(timer)
            mgr.removeListener('error', onError)
            if (err !== undefined) reject(new AmiError(`${where}: login failed: ${field(err, 'message') ?? 'error'}`, err))
            else resolve()
          })
        })
      })
    } catch (err) {
      conn.close()
      throw err
    }
    return conn
  }

  get settings (): AmiSettings { return this.#settings }

  /** Sends an action; resolves with the response whatever its Response (Success or Error). */
  async send (fields: AmiFields, timeoutMs = 5000): Promise<AmiMessage> {
    if (this.#closed || !this.#mgr.isConnected()) throw new AmiError(`AMI ${this.#settings.port}: not connected`)
    const name = String(fields.Action ?? fields.action ?? '?')
    return await new Promise<AmiMessage>((resolve, reject) => {
      const timer = setTimeout(() => reject(new AmiError(`AMI ${this.#settings.port}: no response to ${name} within ${timeoutMs} ms`)), timeoutMs)
      this.#mgr.action({ ...fields, actionid: nextActionId() }, (err, res) => {
        clearTimeout(timer)
        const msg = res ?? err
        if (msg === undefined) reject(new AmiError(`AMI ${this.#settings.port}: empty response to ${name}`))
        else resolve(msg)
      })
    })
  }

  /** Sends an action and throws an AmiError unless its Response is Success (or Follows). */
  async action (fields: AmiFields, timeoutMs = 5000): Promise<AmiMessage> {
    const res = await this.send(fields, timeoutMs)
    const response = (field(res, 'response') ?? '').toLowerCase()
    if (response !== 'success' && response !== 'follows') {
      const name = String(fields.Action ?? fields.action ?? '?')
      throw new AmiError(`AMI ${name} failed: ${field(res, 'message') ?? response}`, res)
    }
    return res
  }

  /**
   * A list action (CoreShowChannels, QueueStatus, ShowDialplan, BridgeInfo...): resolves with the
   * response and the events sharing its ActionID once an event with EventList: Complete (or
   * named *Complete) arrives. Works without the connection's events being switched on.
   */
  async list (fields: AmiFields, timeoutMs = 5000): Promise<AmiListResult> {
    if (this.#closed || !this.#mgr.isConnected()) throw new AmiError(`AMI ${this.#settings.port}: not connected`)
    const name = String(fields.Action ?? fields.action ?? '?')
    return await new Promise<AmiListResult>((resolve, reject) => {
      const events: AmiMessage[] = []
      let response: AmiMessage | undefined
      let actionId = ''
      const finish = (complete: AmiMessage | undefined, error?: Error): void => {
        clearTimeout(timer)
        this.#mgr.removeListener('managerevent', onEvent)
        if (error !== undefined) reject(error)
        else resolve({ response: response ?? {}, events, complete })
      }
      const onEvent = (ev: AmiMessage): void => {
        if (field(ev, 'actionid') !== actionId) return
        const isComplete = (field(ev, 'eventlist') ?? '').toLowerCase() === 'complete' ||
          /complete$/i.test(field(ev, 'event') ?? '')
        if (isComplete) finish(ev)
        else events.push(ev)
      }
      const timer = setTimeout(() => finish(undefined, new AmiError(`AMI ${this.#settings.port}: ${name} list not complete within ${timeoutMs} ms`)), timeoutMs)
      this.#mgr.on('managerevent', onEvent)
      // The ActionID is known synchronously; events are emitted on a later tick.
      actionId = this.#mgr.action({ ...fields, actionid: nextActionId() }, (err, res) => {
        response = res ?? err
        const r = (field(response ?? {}, 'response') ?? '').toLowerCase()
        if (r === 'error') {
          // An error answer has no event list to follow.
          finish(undefined)
        }
      })
    })
  }

  /** Subscribes to every event (the connection must have been opened with events: true). */
  onEvent (listener: (event: AmiMessage) => void): () => void {
    const l = (ev: AmiMessage): void => { listener(ev) }
    this.#mgr.on('managerevent', l)
    return () => { this.#mgr.removeListener('managerevent', l) }
  }

  /** Closes the socket. Safe to call twice. */
  close (): void {
    if (this.#closed) return
    this.#closed = true
    this.#mgr.disconnect()
  }
}

/** Opens a connection for the duration of fn and always closes it. */
export async function withAmi<T> (settings: AmiSettings, fn: (ami: AmiConnection) => Promise<T>, opts: { events?: boolean } = {}): Promise<T> {
  const ami = await AmiConnection.connect(settings, opts)
  try {
    return await fn(ami)
  } finally {
    ami.close()
  }
}
