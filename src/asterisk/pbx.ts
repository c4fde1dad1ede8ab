/**
 * The Asterisk the services talk to, in their words: "redirect this channel", "does this extension
 * exist", "who is bridged with whom". Built from the AMI and ARI adapters; services depend on the `Pbx`
 * interface only, so unit tests can hand them a fake.
 */
import type { EventEmitter } from 'node:events'
import type { AmiClient } from './ami-client.js'
import type { AmiFields } from './ami-values.js'
import { AsteriskRefusedError } from '../errors.js'
import { parseDeviceState, parsePbxEvent, parseQueueMember, type DeviceState, type PbxEvent, type QueueMember } from './ami-events.js'
import type { AriClient, PbxBridge, PbxChannel, PbxEndpoint } from './ari-client.js'
import { DialplanCache } from './dialplan-cache.js'
import type { Logger } from '../support/logger.js'
import { SafeEmitter } from '../support/safe-emitter.js'

export interface CallSnapshot {
  channels: PbxChannel[]
  bridges: PbxBridge[]
}

export interface PbxEvents {
  event: [PbxEvent]
  /** AMI or ARI went down or came back: the state of both, after the change. */
  connection: [{ ami: boolean, ari: boolean }]
}

export interface Pbx {
  readonly events: EventEmitter<PbxEvents>
  connectionState (): { ami: boolean, ari: boolean }
  /** Every channel and bridge Asterisk has now. */
  snapshot (): Promise<CallSnapshot>
  endpoints (): Promise<PbxEndpoint[]>
  /** The state of every device Asterisk tracks (AMI DeviceStateList). */
  deviceStates (): Promise<DeviceState[]>
  /** Every membership of every queue (AMI QueueStatus); none when app_queue is not loaded. */
  queueMembers (): Promise<QueueMember[]>
  /** Whether `exten@context` exists; `fresh` asks Asterisk even when a recent answer said it does. */
  extensionExists (context: string, exten: string, options?: { fresh?: boolean }): Promise<boolean>
  /** Sends `channel` to `exten@context`, priority 1 (AMI Redirect). */
  redirect (channel: string, exten: string, context: string): Promise<void>
  /** Starts an attended transfer from `channel` (AMI Atxfer): Asterisk only says it was queued. */
  attendedTransfer (channel: string, exten: string, context: string): Promise<void>
  /** Ends an attended transfer's consultation: the agent goes back to the customer (AMI CancelAtxfer). */
  cancelAttendedTransfer (channel: string): Promise<void>
  hangup (channel: string): Promise<void>
  /**
   * Plays DTMF digits into Asterisk as if the channel's own phone sent them (AMI PlayDTMF with
   * `Receive: true`, one action per digit): the bridge's feature codes act on them.
   */
  pressDigits (channel: string, digits: string): Promise<void>
  /** Sets a variable on a channel (AMI Setvar): what the plugin must find again after its own restart. */
  setVariable (channel: string, name: string, value: string): Promise<void>
  /** A channel's variable (AMI Getvar); `''` when it is not set. */
  getVariable (channel: string, name: string): Promise<string>
  /**
   * Starts recording a channel, both directions mixed, into `file` (AMI MixMonitor; a name without a
   * directory lands in Asterisk's monitor spool). Resolves with the MixMonitorID Asterisk gives.
   */
  startRecording (channel: string, file: string): Promise<string>
  /** When Asterisk started (AMI CoreStatus): a different answer after a reconnect means it restarted. */
  startedAt (): Promise<string>
  /** Adds (or replaces) one dialplan step at runtime (AMI DialplanExtensionAdd; needs write `system`). */
  addDialplanExtension (line: DialplanStep): Promise<void>
  /**
   * Sets `setup.variables` on `channel`, adds (or replaces) `setup.dialplan`, then sends `channel` to
   * `exten@context`, all written together: Asterisk runs them in that order, so the Redirect finds the
   * variables and the dialplan in place, for one round trip. Rejects as the Redirect would; a step
   * refused while the Redirect went through is returned (`setupRefused`).
   */
  redirectAfterSetup (channel: string, exten: string, context: string, setup: RedirectSetup): Promise<{ setupRefused?: Error }>
  /**
   * Adds a line to Asterisk's queue_log (AMI QueueLog; needs write `agent`): Asterisk writes the time,
   * then `uniqueId|queue|agent|event|message`, the `|` in `message` separating its fields.
   */
  queueLog (line: QueueLogEntry): Promise<void>
}

export interface QueueLogEntry {
  queue: string
  event: string
  uniqueId: string
  agent: string
  message: string
}

export interface RedirectSetup {
  variables: Readonly<Record<string, string>>
  dialplan: readonly DialplanStep[]
}

export interface DialplanStep {
  context: string
  exten: string
  priority: number
  application: string
  data: string
}

/** How long each pressed digit lasts. */
const PRESS_MS = 120

export class AsteriskPbx implements Pbx {
  /**
   * Every listener runs behind a boundary (SafeEmitter): one that throws, or rejects, is logged with the
   * event, and the others (call monitor, agent states, transfers) still get it.
   */
  readonly events: SafeEmitter<PbxEvents>
  readonly #ami: AmiClient
  readonly #ari: AriClient
  readonly #dialplan = new DialplanCache()
  #announced: { ami: boolean, ari: boolean }

  constructor (ami: AmiClient, ari: AriClient, logger?: Logger) {
    this.#ami = ami
    this.#ari = ari
    this.events = new SafeEmitter<PbxEvents>({ name: 'PBX events', logger })
    this.#announced = this.connectionState()
    ami.on('event', (message) => {
      const event = parsePbxEvent(message)
      if (event?.type === 'reload') this.#dialplan.clear()
      if (event !== undefined) this.events.emit('event', event)
    })
    for (const client of [ami, ari] as const) {
      client.on('connected', this.#announce)
      client.on('disconnected', this.#announce)
    }
  }

  /** Publishes the state of both connections when it changed. */
  readonly #announce = (): void => {
    // A reconnect may be to a restarted Asterisk, with another dialplan.
    this.#dialplan.clear()
    const state = this.connectionState()
    if (state.ami === this.#announced.ami && state.ari === this.#announced.ari) return
    this.#announced = state
    this.events.emit('connection', state)
  }

  connectionState (): { ami: boolean, ari: boolean } {
    return { ami: this.#ami.ready, ari: this.#ari.ready }
  }

  async snapshot (): Promise<CallSnapshot> {
    const [channels, bridges] = await Promise.all([this.#ari.listChannels(), this.#ari.listBridges()])
    return { channels, bridges }
  }

  async endpoints (): Promise<PbxEndpoint[]> {
    return await this.#ari.listEndpoints()
  }

  async deviceStates (): Promise<DeviceState[]> {
    // The items are DeviceStateChange events carrying this action's ActionID: AmiClient.list keeps them
    // out of the live event stream.
    return (await this.#ami.list({ Action: 'DeviceStateList' })).map(parseDeviceState)
  }

  async queueMembers (): Promise<QueueMember[]> {
    const items = await this.#ami.list({ Action: 'QueueStatus' }).catch((error: unknown) => {
      // Without app_queue Asterisk answers "Invalid/unknown command: QueueStatus...": no queue, no member.
      if (error instanceof AsteriskRefusedError && /unknown command/i.test(error.message)) return []
      throw error
    })
    // QueueParams (one per queue) and QueueEntry (callers waiting) come in the same list.
    return items.filter((item) => typeof item.event === 'string' && item.event.toLowerCase() === 'queuemember').map(parseQueueMember)
  }

  async extensionExists (context: string, exten: string, options: { fresh?: boolean } = {}): Promise<boolean> {
    // DIALPLAN_EXISTS applies Asterisk's own pattern matching (`_1XX`, `_X.`), which a parse of
    // ShowDialplan output would have to re-implement. Getvar without a channel evaluates it on a dummy one.
    const ask = async (): Promise<boolean> => {
      const response = await this.#ami.action({ Action: 'Getvar', Variable: `DIALPLAN_EXISTS(${context},${exten},1)` })
      return response.value === '1'
    }
    return options.fresh === true ? await ask() : await this.#dialplan.exists(context, exten, ask)
  }

  async redirect (channel: string, exten: string, context: string): Promise<void> {
    await this.#ami.action({ Action: 'Redirect', Channel: channel, Exten: exten, Context: context, Priority: 1 })
  }

  async redirectAfterSetup (channel: string, exten: string, context: string, setup: RedirectSetup): Promise<{ setupRefused?: Error }> {
    const steps: AmiFields[] = [
      ...Object.entries(setup.variables).map(([name, value]) => ({ Action: 'Setvar', Channel: channel, Variable: name, Value: value })),
      ...setup.dialplan.map(dialplanExtensionAdd)
    ]
    // Every answer awaited together: none is left rejected without a handler while another is awaited.
    const settled = await Promise.allSettled(this.#ami.inOrder([...steps, { Action: 'Redirect', Channel: channel, Exten: exten, Context: context, Priority: 1 }]))
    const redirect = settled.pop()
    if (redirect?.status === 'rejected') throw redirect.reason
    const refused = settled.find((answer): answer is PromiseRejectedResult => answer.status === 'rejected')
    return refused === undefined ? {} : { setupRefused: refused.reason instanceof Error ? refused.reason : new Error(String(refused.reason)) }
  }

  async attendedTransfer (channel: string, exten: string, context: string): Promise<void> {
    await this.#ami.action({ Action: 'Atxfer', Channel: channel, Exten: exten, Context: context })
  }

  async cancelAttendedTransfer (channel: string): Promise<void> {
    await this.#ami.action({ Action: 'CancelAtxfer', Channel: channel })
  }

  async hangup (channel: string): Promise<void> {
    // Cause 16, Normal Clearing: the agent left the call, which is what completes an attended transfer.
    await this.#ami.action({ Action: 'Hangup', Channel: channel, Cause: 16 })
  }

  async pressDigits (channel: string, digits: string): Promise<void> {
    // Without Receive, Asterisk would play the digits to the phone instead; 120 ms is a keypress that
    // every feature detector reads, and the digits go one by one, in order, as a phone sends them.
    for (const digit of digits) {
      await this.#ami.action({ Action: 'PlayDTMF', Channel: channel, Digit: digit, Duration: PRESS_MS, Receive: 'true' })
    }
  }

  async setVariable (channel: string, name: string, value: string): Promise<void> {
    await this.#ami.action({ Action: 'Setvar', Channel: channel, Variable: name, Value: value })
  }

  async getVariable (channel: string, name: string): Promise<string> {
    const response = await this.#ami.action({ Action: 'Getvar', Channel: channel, Variable: name })
    return typeof response.value === 'string' ? response.value : ''
  }

  async startRecording (channel: string, file: string): Promise<string> {
    const response = await this.#ami.action({ Action: 'MixMonitor', Channel: channel, File: file })
    return typeof response.mixmonitorid === 'string' ? response.mixmonitorid : ''
  }

  async queueLog (line: QueueLogEntry): Promise<void> {
    await this.#ami.action({ Action: 'QueueLog', Queue: line.queue, Event: line.event, Uniqueid: line.uniqueId, Interface: line.agent, Message: line.message })
  }

  async addDialplanExtension (line: DialplanStep): Promise<void> {
    await this.#ami.action(dialplanExtensionAdd(line))
  }

  async startedAt (): Promise<string> {
    const response = await this.#ami.action({ Action: 'CoreStatus' })
    return `${String(response.corestartupdate ?? '')} ${String(response.corestartuptime ?? '')}`
  }
}

/** Adds `line`, replacing the step already at its priority (a re-add is no error). */
function dialplanExtensionAdd (line: DialplanStep): AmiFields {
  return {
    Action: 'DialplanExtensionAdd',
    Context: line.context,
    Extension: line.exten,
    Priority: line.priority,
    Application: line.application,
    ApplicationData: line.data,
    Replace: 'yes'
  }
}
