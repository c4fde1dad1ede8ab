/**
 * How the command-line tool writes: status marks, event lines, errors with hints, and a spinner while
 * it waits for Asterisk. A terminal gets ✓/✗, colours and a spinner; a pipe, a log file or NO_COLOR
 * gets plain ASCII and one line per step, so scripts and CI logs stay readable and greppable.
 * Everything but `Printer` is pure and returns strings.
 */
import type { TransferEventName } from '../transfers/transfer-events.js'
import type { Transfer } from '../domain/transfer.js'

export interface Style {
  /** ✓ ✗ and colours; plain ASCII marks otherwise. */
  fancy: boolean
  /** Redraw a spinner in place (a terminal); one line per step otherwise. */
  animate: boolean
}

export type Status = 'ok' | 'warn' | 'fail' | 'info'

interface Stream {
  isTTY?: boolean
}

/** https://no-color.org: NO_COLOR set to anything but "" turns colour off; TERM=dumb cannot draw it either. */
export function detectStyle (stream: Stream, env: NodeJS.ProcessEnv): Style {
  const tty = stream.isTTY === true
  const noColor = (env.NO_COLOR !== undefined && env.NO_COLOR !== '') || env.TERM === 'dumb'
  return { fancy: tty && !noColor, animate: tty && env.TERM !== 'dumb' }
}

const FANCY_MARKS: Record<Status, string> = { ok: '✓', warn: '!', fail: '✗', info: '·' }
/** Same width each, so the labels line up in a log. */
const PLAIN_MARKS: Record<Status, string> = { ok: '[ok]  ', warn: '[warn]', fail: '[FAIL]', info: '[info]' }
const COLOURS: Record<Status, number> = { ok: 32, warn: 33, fail: 31, info: 2 }

function paint (text: string, code: number, style: Style): string {
  return style.fancy ? `\x1b[${code}m${text}\x1b[0m` : text
}

export function mark (status: Status, style: Style): string {
  return paint(style.fancy ? FANCY_MARKS[status] : PLAIN_MARKS[status], COLOURS[status], style)
}

/** Where a hint starts: under the label, past the mark. */
function indent (style: Style): string {
  return ' '.repeat(style.fancy ? 2 : 7)
}

/** `✓ label: detail` (just `✓ detail` without a label), then the hint on its own line when there is one. */
export function statusLines (status: Status, label: string, detail: string, style: Style, hint?: string): string[] {
  const lines = [`${mark(status, style)} ${label === '' ? '' : `${label}: `}${detail}`]
  if (hint !== undefined) lines.push(`${indent(style)}hint: ${hint}`)
  return lines
}

/** One error: what went wrong on one line, what to do on the next. */
export function errorLines (message: string, hint: string | undefined, style: Style): string[] {
  return statusLines('fail', 'error', message, style, hint)
}

/** Extensions in dialing order: 2 before 10, letters after digits. */
export function sortExtensions (extensions: readonly string[]): string[] {
  return [...extensions].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
}

export function extensionList (extensions: readonly string[]): string {
  return extensions.length === 0 ? 'none' : sortExtensions(extensions).join(', ')
}

function pad (value: number, width: number): string {
  return String(value).padStart(width, '0')
}

/** Local wall-clock time with milliseconds: what an operator compares with Asterisk's own log. */
export function clock (date: Date): string {
  return `${pad(date.getHours(), 2)}:${pad(date.getMinutes(), 2)}:${pad(date.getSeconds(), 2)}.${pad(date.getMilliseconds(), 3)}`
}

/** What a transfer's state means, in the words of the call (who is with whom). */
export function describeTransfer (transfer: Transfer): string {
  const { extension, targetExtension, channels } = transfer
  switch (transfer.status) {
    case 'initiated':
      return `${transfer.type} transfer of ${extension}'s call (customer ${channels.peer}, agent ${channels.agent}) to ${targetExtension}`
    case 'redirected':
      return `Asterisk accepted the Redirect: the customer is on the way to ${targetExtension}`
    case 'recalling':
      return `${targetExtension} did not take the call (${transfer.failureReason ?? 'unknown reason'}): the customer is on the way back to ${extension}`
    case 'consulting':
      return `consultation call to ${targetExtension} started${channels.consultation === undefined ? '' : ` (${channels.consultation})`}; the customer is on hold`
    case 'target_answered':
      if (transfer.talkingTo === 'customer') return `${extension} is back with the customer; ${targetExtension} waits in the consultation`
      return `${targetExtension} answered the consultation${channels.target === undefined ? '' : ` (${channels.target})`}`
    case 'three_way':
      return `three-way call: the customer, ${extension} and ${targetExtension} talk together`
    case 'answered':
      return `${targetExtension} answered: the customer is with ${channels.target ?? targetExtension}`
    case 'completed':
      return `the customer is with ${targetExtension}${channels.target === undefined ? '' : ` (${channels.target})`}; ${extension} left the call`
    case 'cancelled':
      return `consultation ended: ${extension} is back with the customer`
    case 'failed':
      return `failed (${transfer.failureReason ?? 'unknown reason'})${recallText(transfer)}${transfer.error === undefined ? '' : `: ${transfer.error.code}: ${transfer.error.message}`}`
    case 'abandoned':
      // Asterisk reports the customer's channel gone; it may also be the dialplan that hung up (a blind
      // transfer to an unregistered phone ends that way), so the tool does not claim who did it.
      return 'the customer\'s call ended before the transfer was over'
  }
}

function recallText (transfer: Transfer): string {
  switch (transfer.recall?.to) {
    case 'agent': return `; the customer is back with ${transfer.extension}`
    case 'fallback': return `; the customer went to ${transfer.recall.destination ?? 'the fallback'}`
    case 'none': return '; nobody took the customer back'
    default: return ''
  }
}

/** `12:00:01.234  consulting       call:ami_attended_transfer_started  consultation call to 103 started...` */
export function eventLine (at: Date, event: TransferEventName, transfer: Transfer, style: Style): string {
  const time = paint(clock(at), 2, style)
  return `${time}  ${transfer.status.padEnd(15)}  ${event.padEnd(35)}  ${describeTransfer(transfer)}`
}

/** Where the call stands once the tool is done, in one sentence. */
export function outcomeSummary (transfer: Transfer): string {
  const { extension, targetExtension } = transfer
  switch (transfer.status) {
    case 'answered':
      return `the customer is with ${targetExtension}`
    case 'completed':
      return `the customer is with ${targetExtension}; ${extension} left the call`
    case 'cancelled':
      return `${extension} is back with the customer`
    case 'consulting':
    case 'target_answered':
      return `${extension} is in consultation with ${targetExtension} while the customer is on hold; left up: ` +
        `${extension} hangs up to hand the customer over, or cancels from the phone`
    case 'three_way':
      return `the customer, ${extension} and ${targetExtension} are in a three-way call; left up: ` +
        `${extension} hangs up to hand the customer over`
    case 'failed':
      return `${transfer.failureReason ?? 'unknown reason'}${transfer.error === undefined ? '' : ` (${transfer.error.code}: ${transfer.error.message})`}`
    default:
      return describeTransfer(transfer)
  }
}

/** `✓ outcome: answered: the customer is with 102`; `wanted` says whether this is what was asked for. */
export function outcomeLines (transfer: Transfer, wanted: boolean, style: Style): string[] {
  return statusLines(wanted ? 'ok' : 'fail', 'outcome', `${transfer.status}: ${outcomeSummary(transfer)}`, style)
}

const FANCY_FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']
const PLAIN_FRAMES = ['|', '/', '-', '\\']

export function spinnerFrame (tick: number, style: Style): string {
  const frames = style.fancy ? FANCY_FRAMES : PLAIN_FRAMES
  return frames[tick % frames.length] as string
}

/** Cuts a line to the terminal's width: a spinner line that wraps cannot be redrawn in place. */
export function fit (text: string, columns: number | undefined): string {
  if (columns === undefined || columns < 2 || text.length < columns) return text
  return `${text.slice(0, columns - 2)}…`
}

interface Writable extends Stream {
  columns?: number
  write (text: string): unknown
}

/**
 * Writes lines, and while waiting shows what it waits for: a spinner redrawn in place on a terminal,
 * a single `... waiting for X` line elsewhere (a redrawn line would fill a log with carriage returns).
 */
export class Printer {
  readonly style: Style
  readonly #out: Writable
  #waitingFor: string | undefined
  #tick = 0
  #timer: NodeJS.Timeout | undefined

  constructor (out: Writable, style: Style) {
    this.#out = out
    this.style = style
  }

  line (text: string): void {
    this.#clearSpinner()
    this.#out.write(`${text}\n`)
    this.#drawSpinner()
  }

  lines (texts: readonly string[]): void {
    for (const text of texts) this.line(text)
  }

  /** Shows that the tool now waits for `what`; replaces any earlier wait. */
  waiting (what: string): void {
    this.done()
    this.#waitingFor = what
    if (!this.style.animate) {
      this.#out.write(`... ${what}\n`)
      return
    }
    this.#drawSpinner()
    this.#timer = setInterval(() => {
      this.#tick++
      this.#drawSpinner()
    }, 80)
    // The spinner must never be what keeps the process alive.
    this.#timer.unref()
  }

  /** The wait is over: the spinner line is erased. */
  done (): void {
    clearInterval(this.#timer)
    this.#timer = undefined
    this.#clearSpinner()
    this.#waitingFor = undefined
  }

  #drawSpinner (): void {
    if (!this.style.animate || this.#waitingFor === undefined) return
    this.#out.write(`\r${fit(`${spinnerFrame(this.#tick, this.style)} ${this.#waitingFor}`, this.#out.columns)}\x1b[K`)
  }

  #clearSpinner (): void {
    if (this.style.animate && this.#waitingFor !== undefined) this.#out.write('\r\x1b[K')
  }
}
