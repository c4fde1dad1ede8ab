/**
 * Reads the AMI byte stream into messages. AMI is a line protocol: a message is `Key: value` lines ended
 * by a blank line; Asterisk writes CRLF but a bare LF ends a line too. Messages arrive cut anywhere by
 * TCP (inside a line, between CR and LF), so the parser keeps the partial line and the message being
 * built between chunks, and reads every byte once: its cost grows with the bytes, never with how much
 * is buffered (asterisk-manager re-split and shifted its whole backlog of lines on every chunk).
 *
 * The messages have the shape asterisk-manager gave them, which the layers above expect: keys
 * lowercased (spaces removed), a key repeated in one message gives an array of its values in order,
 * and `Variable` / `ChanVariable` lines (`name=value`) are gathered into one object by name.
 * The greeting line (`Asterisk Call Manager/x.y.z`) that opens a connection is not a message.
 */

/** An AMI message: keys lowercased, repeated keys as arrays, variables as an object. */
export type AmiMessage = Readonly<Record<string, string | string[] | Record<string, string> | undefined>>

type MutableMessage = Record<string, string | string[] | Record<string, string> | undefined>

/** Keys whose values are `name=value` pairs, gathered into one object. */
const VARIABLE_KEYS: ReadonlySet<string> = new Set(['variable', 'chanvariable'])
/** Lines of a message that carry no `Key:` (output of old-style commands) are kept under this key. */
const CONTENT_KEY = 'content'
/** Lowercased keys are cached: AMI uses a small vocabulary, so this saves a string per line. */
const KEY_CACHE_LIMIT = 2000

export interface AmiParserOptions {
  /**
   * Asked with the name of each event (the value of `Event:` on a message's first line, as written):
   * true drops the message unread up to its blank line, and `onMessage` never sees it.
   */
  skipEvent?: (name: string) => boolean
}

export class AmiParser {
  readonly #onMessage: (message: AmiMessage) => void
  readonly #skipEvent: ((name: string) => boolean) | undefined
  readonly #keys = new Map<string, string>()
  /** The end of the last chunk after its last line end: the start of a line still arriving. */
  #partialLine = ''
  #message: MutableMessage | undefined
  /** Inside a message that `skipEvent` dropped: lines are passed over up to its blank line. */
  #skipping = false
  #greeting: string | undefined
  #firstLine = true

  constructor (onMessage: (message: AmiMessage) => void, options: AmiParserOptions = {}) {
    this.#onMessage = onMessage
    this.#skipEvent = options.skipEvent
  }

  /** The greeting line of the connection, once received (`Asterisk Call Manager/9.0.0`). */
  get greeting (): string | undefined {
    return this.#greeting
  }

  /** Reads a chunk of the stream; calls `onMessage` for every message it completes, in order. */
  push (chunk: string): void {
    const data = this.#partialLine === '' ? chunk : this.#partialLine + chunk
    let start = 0
    for (let end = data.indexOf('\n'); end !== -1; end = data.indexOf('\n', start)) {
      const lineEnd = end > start && data.charCodeAt(end - 1) === 13 ? end - 1 : end
      if (!this.#skipping) this.#line(data, start, lineEnd)
      else if (lineEnd === start) this.#skipping = false
      start = end + 1
    }
    this.#partialLine = start === 0 ? data : data.slice(start)
  }

  #line (data: string, start: number, end: number): void {
    if (this.#firstLine) {
      this.#firstLine = false
      if (data.startsWith('Asterisk Call Manager', start)) {
        this.#greeting = data.slice(start, end)
        return
      }
    }
    if (start === end) {
      const message = this.#message
      this.#message = undefined
      if (message !== undefined) this.#onMessage(message)
      return
    }
    const colon = data.indexOf(':', start)
    if (colon === -1 || colon >= end) {
      const message = this.#message ?? (this.#message = {})
      const content = message[CONTENT_KEY]
      message[CONTENT_KEY] = typeof content === 'string' ? `${content}\n${data.slice(start, end)}` : data.slice(start, end)
      return
    }
    const key = this.#key(data.slice(start, colon))
    let valueStart = colon + 1
    if (valueStart < end && data.charCodeAt(valueStart) === 32) valueStart++
    const value = data.slice(valueStart, end)
    if (this.#message === undefined) {
      if (key === 'event' && this.#skipEvent?.(value) === true) {
        this.#skipping = true
        return
      }
      this.#message = {}
    }
    const message = this.#message
    if (key === '__proto__') return
    if (VARIABLE_KEYS.has(key)) {
      const equals = value.indexOf('=')
      const variables = message[key]
      const object = typeof variables === 'object' && !Array.isArray(variables) ? variables : (message[key] = {})
      const name = equals === -1 ? value : value.slice(0, equals)
      if (name !== '__proto__') object[name] = equals === -1 ? '' : value.slice(equals + 1)
      return
    }
    const previous = message[key]
    if (previous === undefined) message[key] = value
    else if (Array.isArray(previous)) previous.push(value)
    else if (typeof previous === 'string') message[key] = [previous, value]
  }

  /** `Caller ID Num` / `CallerIDNum` -> `calleridnum`. */
  #key (raw: string): string {
    let key = this.#keys.get(raw)
    if (key === undefined) {
      key = raw.replace(/\s+/g, '').toLowerCase()
      if (this.#keys.size < KEY_CACHE_LIMIT) this.#keys.set(raw, key)
    }
    return key
  }
}
