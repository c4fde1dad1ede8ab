/**
 * `transfer blind|attended`: one transfer through the plugin's TransferService, on the server of the
 * pool the agent's call is on (--server, or the only one). Every event of the transfer is printed as it comes; the outcome is then checked on the PBX
 * itself (who the customer is bridged with), because an event only says what Asterisk reported.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { EventEmitter } from 'node:events'
import { isChannelOf } from '../asterisk/channel-name.js'
import type { Pbx } from '../asterisk/pbx.js'
import { bridgedParty } from '../transfers/call-topology.js'
import { partyShowsOutcome } from '../transfers/outcome-check.js'
import { TRANSFER_EVENTS, type TransferEventName, type TransferEvents } from '../transfers/transfer-events.js'
import { TransferService } from '../transfers/transfer-service.js'
import { PROGRAM, type Command } from './arguments.js'
import { describeAmiFailure, describeAriFailure, openConnection, type Problem } from './connection.js'
import type { ConnectionSettings } from './environment.js'
import { settingNames } from './setting-names.js'
import { errorLines, eventLine, outcomeLines, statusLines, type Printer } from './output.js'
import { isFinal, type TransferStatus, type Transfer } from '../domain/transfer.js'

export type TransferCommand = Extract<Command, { name: 'transfer' }>

/** Where the tool writes: results on `out`, errors on `err` (stdout and stderr). */
export interface Printers {
  out: Printer
  err: Printer
}

/** A transfer that did not end as asked: the code is the HTTP API's when there is one. */
class TransferFailure extends Error {
  readonly code: string

  constructor (code: string, message: string) {
    super(message)
    this.code = code
  }
}

const ACTION_TIMEOUT_MS = 5000
/**
 * Atxfer's proof (Hold, then a dial to the target) comes within a few seconds or not at all: a
 * misconfigured atxfer should not make the user wait the whole --timeout to learn it.
 */
const MAX_CONSULTATION_WAIT_MS = 10_000
/** How long the PBX may take to show the bridge an outcome implies (Local channels settle). */
const VERIFY_WAIT_MS = 3000
const VERIFY_INTERVAL_MS = 200

/** What to do about each error code the transfer can end with. */
export function hintFor (code: string, command: TransferCommand, settings: ConnectionSettings): string {
  const { from, to } = command
  const names = settingNames(settings)
  // In a pool: the check of this server alone, and the server named where the connection is concerned.
  const check = settings.entry === undefined ? `${PROGRAM} check` : `${PROGRAM} check --server ${settings.name}`
  const hints: Record<string, string> = {
    XFER_NO_ACTIVE_CHANNEL: `${from} has no call to transfer; ${check} lists the extensions online`,
    XFER_CALL_NOT_BRIDGED: `${from}'s call must be answered and have exactly two parties (not ringing, on hold alone or a conference)`,
    XFER_UNKNOWN_TARGET: `${to} cannot be dialed in context ${settings.transferContext}: check the number, or ${names.transferContext}${names.server}`,
    XFER_TRANSFER_IN_PROGRESS: 'the call already has a transfer going on: wait for it to end',
    XFER_CHANNEL_GONE: 'the call ended while the transfer started',
    XFER_CONSULTATION_NOT_STARTED: `run ${check} (atxfer feature code); agents' calls must be dialed with Dial(...,tT) to allow transfers`,
    XFER_ASTERISK_REFUSED: `run ${check}: the AMI user may lack a write permission`,
    XFER_ASTERISK_UNAVAILABLE: `the connection to Asterisk${names.server} dropped: run ${check}`,
    XFER_ASTERISK_TIMEOUT: 'Asterisk did not report an outcome in time: try a longer --timeout, and look at Asterisk\'s log',
    XFER_UNSAFE_AMI_VALUE: 'extensions may only hold digits, letters, *, #, +, _ and -',
    XFER_FEATURE_NOT_CONFIGURED: 'set atxferswap and atxferthreeway in features.conf [general] (Asterisk\'s defaults: *4 and *3), then: module reload features',
    XFER_TRANSFER_STATE: `the transfer could not do that in its state: swap and three-way need ${to} to have answered, and no swap after a three-way`,
    target_busy: `${to} is busy`,
    no_answer: `${to} did not answer (the Dial timeout, or features.conf atxfernoanswertimeout for attended transfers)`,
    target_unavailable: `${to} is not registered or not reachable: ${check} lists the extensions online`,
    target_hung_up: `${to} hung up before the transfer was over`,
    abandoned: `the customer hung up, or the dialplan ended the call because ${to} could not be reached (${check} lists the extensions online)`,
    cancelled: `the consultation ended before it could be completed: ${to} did not take the call (unreachable, busy or rejected), and ${from} is back with the customer`
  }
  return hints[code] ?? `run ${check}, and look at Asterisk's log`
}

/** The state the command asked for: anything else is a failure. */
export function wantedStates (command: TransferCommand): TransferStatus[] {
  if (command.kind === 'blind') return ['answered']
  if (command.after === 'complete') return ['completed']
  if (command.after === 'cancel') return ['cancelled']
  if (command.steps.at(-1) === 'three_way') return ['three_way']
  if (command.steps.length > 0) return ['target_answered']
  return ['consulting', 'target_answered']
}

/** A transfer that ended elsewhere than asked: the error code of the API when Asterisk refused an action. */
export function failureProblem (transfer: Transfer, command: TransferCommand, settings: ConnectionSettings): Problem {
  if (transfer.error !== undefined) {
    return { message: `${transfer.error.code}: ${transfer.error.message}`, hint: hintFor(transfer.error.code, command, settings) }
  }
  const reason = transfer.failureReason === undefined ? '' : ` (${transfer.failureReason})`
  return {
    message: `transfer ${transfer.status}${reason} instead of ${wantedStates(command).join(' or ')}`,
    hint: hintFor(transfer.failureReason ?? transfer.status, command, settings)
  }
}

export interface Expectation {
  /** Who the customer should be with, for people. */
  who: string
  matches: (channelName: string) => boolean
}

/**
 * Who the customer must be bridged with after this outcome; nothing to check while a consultation is up.
 * The rule is the service's own (transfers/outcome-check.ts); the tool asks one thing more when the
 * events named no leg of the target: that the customer is with a leg of the extension it asked for.
 */
export function expectedPartner (transfer: Transfer, technology: string): Expectation | undefined {
  const { channels, targetExtension, extension } = transfer
  switch (transfer.status) {
    case 'answered':
    case 'completed':
      // The target's own leg when the events named it (a queue member may answer for the queue).
      return channels.target === undefined
        ? { who: targetExtension, matches: (name) => partyShowsOutcome(channels, 'completed', name) && isChannelOf(name, technology, targetExtension) }
        : { who: `${targetExtension} (${channels.target})`, matches: (name) => partyShowsOutcome(channels, 'completed', name) }
    case 'cancelled':
      return { who: `${extension} (${channels.agent})`, matches: (name) => partyShowsOutcome(channels, 'cancelled', name) }
    default:
      return undefined
  }
}

/** Our transfer's events, printed as they come, and waits on its status. */
class TransferWatch {
  latest: Transfer | undefined
  readonly #events: TransferEvents
  readonly #changed = new EventEmitter<{ changed: [] }>()
  readonly #listeners: Array<[TransferEventName, (transfer: Transfer) => void]> = []

  constructor (events: TransferEvents, onEvent: (event: TransferEventName, transfer: Transfer) => void) {
    this.#events = events
    for (const event of TRANSFER_EVENTS) {
      const listener = (transfer: Transfer): void => {
        // The service also reports transfers the phones make themselves: only ours is followed.
        if (transfer.origin !== 'plugin') return
        this.latest = transfer
        onEvent(event, transfer)
        this.#changed.emit('changed')
      }
      events.on(event, listener)
      this.#listeners.push([event, listener])
    }
  }

  /** Resolves with the transfer once `accept` takes its status, or undefined at the deadline. */
  async until (accept: (state: TransferStatus) => boolean, deadline: number): Promise<Transfer | undefined> {
    if (this.latest !== undefined && accept(this.latest.status)) return this.latest
    return await new Promise((resolve) => {
      const finish = (value: Transfer | undefined): void => {
        clearTimeout(timer)
        this.#changed.off('changed', onChange)
        resolve(value)
      }
      const onChange = (): void => {
        if (this.latest !== undefined && accept(this.latest.status)) finish(this.latest)
      }
      const timer = setTimeout(() => finish(undefined), Math.max(0, deadline - Date.now()))
      this.#changed.on('changed', onChange)
    })
  }

  stop (): void {
    for (const [event, listener] of this.#listeners) this.#events.off(event, listener)
  }
}

function seconds (ms: number): string {
  return `${Math.round(ms / 100) / 10} s`
}

async function followBlind (watch: TransferWatch, transfer: Transfer, command: TransferCommand, deadline: number, printers: Printers): Promise<Transfer> {
  printers.out.waiting(`waiting for ${command.to} to answer`)
  const over = await watch.until(isFinal, deadline)
  if (over !== undefined) return over
  throw new TransferFailure('XFER_ASTERISK_TIMEOUT',
    `${command.to} did not answer within ${seconds(command.timeoutMs)}: the customer was redirected and Asterisk keeps ringing ${command.to} (status ${watch.latest?.status ?? transfer.status})`)
}

async function followAttended (service: TransferService, watch: TransferWatch, transfer: Transfer, command: TransferCommand, deadline: number, printers: Printers): Promise<Transfer> {
  if (isFinal(transfer.status)) return watch.latest ?? transfer
  // Left up: the outcome is the consultation as Asterisk started it (the target may answer a moment
  // later, or already have); only an end that came meanwhile is news.
  if (command.after === 'leave' && command.steps.length === 0) return watch.latest !== undefined && isFinal(watch.latest.status) ? watch.latest : transfer
  printers.out.waiting(`waiting for ${command.to} to answer the consultation`)
  const answered = await watch.until((state) => state === 'target_answered' || isFinal(state), deadline)
  if (answered !== undefined && isFinal(answered.status)) return answered
  if (answered === undefined && (command.after === 'complete' || command.steps.length > 0)) {
    // Completing now would hand the customer to a phone nobody answered: cancel instead, so the
    // customer is back with the agent rather than left on hold.
    printers.out.waiting(`${command.to} did not answer: cancelling the consultation`)
    await service.cancel(transfer.id).catch(() => undefined)
    throw new TransferFailure('XFER_ASTERISK_TIMEOUT',
      `${command.to} did not answer the consultation within ${seconds(command.timeoutMs)}; it was cancelled and ${command.from} is back with the customer`)
  }
  for (const step of command.steps) {
    printers.out.waiting(step === 'swap' ? 'swapping' : `three-way: joining the customer, ${command.from} and ${command.to}`)
    const now = step === 'swap' ? await service.swap(transfer.id) : await service.threeWay(transfer.id)
    if (isFinal(now.status)) return now
  }
  if (command.after === 'leave') return watch.latest ?? transfer
  printers.out.waiting(command.after === 'complete' ? `completing: ${command.from} leaves the call` : `cancelling: ${command.steps.includes('three_way') ? `${command.to} is dropped` : 'the consultation ends'}`)
  return command.after === 'complete' ? await service.complete(transfer.id) : await service.cancel(transfer.id)
}

/** Looks at the PBX until the customer is bridged as the outcome implies, or the wait is over. */
async function verifyOnPbx (pbx: Pbx, transfer: Transfer, expectation: Expectation): Promise<{ ok: boolean, partner: string | undefined }> {
  const deadline = Date.now() + VERIFY_WAIT_MS
  let partner: string | undefined
  for (;;) {
    const snapshot = await pbx.snapshot().catch(() => undefined)
    partner = snapshot === undefined ? undefined : bridgedParty(snapshot, transfer.channels.peer)?.name
    if (partner !== undefined && expectation.matches(partner)) return { ok: true, partner }
    if (Date.now() >= deadline) return { ok: false, partner }
    await sleep(VERIFY_INTERVAL_MS)
  }
}

export function verificationLines (transfer: Transfer, expectation: Expectation, result: { ok: boolean, partner: string | undefined }, printer: Printer): string[] {
  const customer = `customer ${transfer.channels.peer}`
  return result.ok
    ? statusLines('ok', 'verified on Asterisk', `${customer} is bridged with ${result.partner ?? ''}`, printer.style)
    : statusLines('fail', 'verified on Asterisk', `${customer} is ${result.partner === undefined ? 'not bridged with anyone' : `bridged with ${result.partner}`}, not with ${expectation.who}`,
      printer.style, 'Asterisk reported the outcome but the bridges do not show it: look at Asterisk\'s log')
}

async function connect (connection: ReturnType<typeof openConnection>, settings: ConnectionSettings): Promise<Problem | undefined> {
  const [ami, ari] = await Promise.allSettled([connection.amiReady, connection.ariReady])
  if (ami.status === 'rejected') return describeAmiFailure(ami.reason, settings.ami, settingNames(settings))
  if (ari.status === 'rejected') return describeAriFailure(ari.reason, settings.ari, settingNames(settings))
  return undefined
}

/** Prints the outcome and checks it on the PBX; the exit status. */
async function report (pbx: Pbx, transfer: Transfer, command: TransferCommand, settings: ConnectionSettings, printers: Printers): Promise<number> {
  const { out, err } = printers
  const wanted = wantedStates(command).includes(transfer.status)
  out.done()
  out.lines(outcomeLines(transfer, wanted, out.style))
  if (!wanted) {
    const { message, hint } = failureProblem(transfer, command, settings)
    err.lines(errorLines(message, hint, err.style))
    return 1
  }
  const expectation = expectedPartner(transfer, settings.channelTechnology)
  if (expectation === undefined) return 0
  out.waiting('checking the bridges on Asterisk')
  const result = await verifyOnPbx(pbx, transfer, expectation)
  out.done()
  out.lines(verificationLines(transfer, expectation, result, out))
  return result.ok ? 0 : 1
}

export async function runTransfer (command: TransferCommand, settings: ConnectionSettings, printers: Printers): Promise<number> {
  const { out, err } = printers
  const connection = openConnection(settings, ACTION_TIMEOUT_MS)
  const service = new TransferService(connection.pbx, {
    server: settings.name,
    transferContext: settings.transferContext,
    channelTechnology: settings.channelTechnology,
    consultationTimeoutMs: Math.min(command.timeoutMs, MAX_CONSULTATION_WAIT_MS),
    settleTimeoutMs: command.timeoutMs
  })
  const watch = new TransferWatch(service.events, (event, transfer) => { out.line(eventLine(new Date(), event, transfer, out.style)) })
  try {
    out.waiting(`connecting to Asterisk ${settings.name} (AMI ${settings.ami.host}:${settings.ami.port}, ARI ${settings.ari.url})`)
    const problem = await connect(connection, settings)
    if (problem !== undefined) {
      out.done()
      err.lines(errorLines(problem.message, problem.hint, err.style))
      return 1
    }
    service.start()
    const deadline = Date.now() + command.timeoutMs
    out.waiting(`asking Asterisk for ${command.kind === 'blind' ? 'a blind' : 'an attended'} transfer of ${command.from}'s call to ${command.to}`)
    const started = await service.execute({ extension: command.from, targetExtension: command.to, transferType: command.kind, requestedBy: PROGRAM })
    const over = command.kind === 'blind'
      ? await followBlind(watch, started, command, deadline, printers)
      : await followAttended(service, watch, started, command, deadline, printers)
    return await report(connection.pbx, over, command, settings, printers)
  } catch (error) {
    out.done()
    const { code = 'XFER_INTERNAL', message } = error as Error & { code?: string }
    err.lines(errorLines(`${code}: ${message}`, hintFor(code, command, settings), err.style))
    return 1
  } finally {
    out.done()
    watch.stop()
    await service.stop()
    await connection.close()
  }
}
