// A scriptable `Pbx` for unit tests, and builders for the channels, bridges and events it serves.
// Event builders follow what Asterisk 22 really sends (see the real sequences in the transfer tests).
import { EventEmitter } from 'node:events'
import type { DeviceState, PbxEvent, QueueMember } from '../../src/asterisk/ami-events.js'
import type { PbxBridge, PbxChannel, PbxEndpoint } from '../../src/asterisk/ari-client.js'
import { parseChannelName } from '../../src/asterisk/channel-name.js'
import type { CallSnapshot, DialplanStep, Pbx, PbxEvents, QueueLogEntry, RedirectSetup } from '../../src/asterisk/pbx.js'

export const CONTEXT = 'from-internal'

export interface PbxCall { method: string, args: unknown[] }

/** Runs when an action is called, before it resolves: may emit events at once or later, or throw. */
export type ActionHook = (...args: string[]) => void | Promise<void>

export type HookedAction = 'redirect' | 'attendedTransfer' | 'cancelAttendedTransfer' | 'hangup' | 'pressDigits'

const ACTIONS: ReadonlySet<string> = new Set<HookedAction>(['redirect', 'attendedTransfer', 'cancelAttendedTransfer', 'hangup', 'pressDigits'])

export class FakePbx implements Pbx {
  readonly events = new EventEmitter<PbxEvents>()
  readonly calls: PbxCall[] = []
  /** What `snapshot()` answers once `snapshotQueue` is empty. */
  snapshotValue: CallSnapshot
  /** Answered first, one per call: successive looks at a PBX that is still moving. */
  snapshotQueue: CallSnapshot[] = []
  /** When set, `snapshot()` rejects with it (ARI down...). */
  snapshotError: Error | undefined
  /** `exten@context` pairs that exist in the dialplan. */
  dialplan = new Set([`102@${CONTEXT}`, `103@${CONTEXT}`])
  endpointList: PbxEndpoint[] = []
  /** What `deviceStates()` answers (AMI DeviceStateList). */
  deviceStateList: DeviceState[] = []
  /** What `queueMembers()` answers (AMI QueueStatus); `[]` is also what a PBX without app_queue gives. */
  queueMemberList: QueueMember[] = []
  /** When set, `deviceStates()` and `queueMembers()` reject with it (AMI down...). */
  amiListError: Error | undefined
  readonly hooks: Partial<Record<HookedAction, ActionHook>> = {}

  constructor (snapshot: CallSnapshot = { channels: [], bridges: [] }) {
    this.snapshotValue = snapshot
  }

  connectionState (): { ami: boolean, ari: boolean } {
    return { ami: true, ari: true }
  }

  async snapshot (): Promise<CallSnapshot> {
    this.calls.push({ method: 'snapshot', args: [] })
    if (this.snapshotError !== undefined) throw this.snapshotError
    return this.snapshotQueue.shift() ?? this.snapshotValue
  }

  async endpoints (): Promise<PbxEndpoint[]> {
    this.calls.push({ method: 'endpoints', args: [] })
    return this.endpointList
  }

  async deviceStates (): Promise<DeviceState[]> {
    this.calls.push({ method: 'deviceStates', args: [] })
    if (this.amiListError !== undefined) throw this.amiListError
    return this.deviceStateList
  }

  async queueMembers (): Promise<QueueMember[]> {
    this.calls.push({ method: 'queueMembers', args: [] })
    if (this.amiListError !== undefined) throw this.amiListError
    return this.queueMemberList
  }

  async extensionExists (context: string, exten: string): Promise<boolean> {
    this.calls.push({ method: 'extensionExists', args: [context, exten] })
    return this.dialplan.has(`${exten}@${context}`)
  }

  async redirect (channel: string, exten: string, context: string): Promise<void> {
    await this.#act('redirect', channel, exten, context)
  }

  async attendedTransfer (channel: string, exten: string, context: string): Promise<void> {
    await this.#act('attendedTransfer', channel, exten, context)
  }

  async cancelAttendedTransfer (channel: string): Promise<void> {
    await this.#act('cancelAttendedTransfer', channel)
  }

  async hangup (channel: string): Promise<void> {
    await this.#act('hangup', channel)
  }

  async pressDigits (channel: string, digits: string): Promise<void> {
    await this.#act('pressDigits', channel, digits)
  }

  /** Channel variables set through `setVariable`, by channel then name (not in `calls`: they move no call). */
  readonly variables = new Map<string, Map<string, string>>()
  /** What `startedAt()` answers: change it to make a reconnect look like a restart. */
  startedAtValue = '2024-04-01 10:00:00'

  async setVariable (channel: string, name: string, value: string): Promise<void> {
    let variables = this.variables.get(channel)
    if (variables === undefined) this.variables.set(channel, variables = new Map())
    variables.set(name, value)
  }

  async getVariable (channel: string, name: string): Promise<string> {
    return this.variables.get(channel)?.get(name) ?? ''
  }

  /** Recordings started through `startRecording`: channel -> file (also in `calls`). */
  readonly recordings = new Map<string, string>()

  async startRecording (channel: string, file: string): Promise<string> {
    this.calls.push({ method: 'startRecording', args: [channel, file] })
    this.recordings.set(channel, file)
    return `mixmonitor-${this.recordings.size}`
  }

  async startedAt (): Promise<string> {
    return this.startedAtValue
  }

  /** Dialplan steps added at runtime (`addDialplanExtension`), in order. */
  readonly dialplanSteps: DialplanStep[] = []
  /** When set, `addDialplanExtension` rejects with it (an AMI user without write = system...). */
  dialplanError: Error | undefined

  async addDialplanExtension (line: DialplanStep): Promise<void> {
    if (this.dialplanError !== undefined) throw this.dialplanError
    this.dialplanSteps.push(line)
  }

  /** As Asterisk runs them: the variables set, the steps added, then the Redirect (recorded as `redirect`). */
  async redirectAfterSetup (channel: string, exten: string, context: string, setup: RedirectSetup): Promise<{ setupRefused?: Error }> {
    for (const [name, value] of Object.entries(setup.variables)) await this.setVariable(channel, name, value)
    let setupRefused: Error | undefined
    for (const line of setup.dialplan) await this.addDialplanExtension(line).catch((error: Error) => { setupRefused ??= error })
    await this.redirect(channel, exten, context)
    return setupRefused === undefined ? {} : { setupRefused }
  }

  /** Lines written to the queue_log (`queueLog`), in order. */
  readonly queueLogLines: QueueLogEntry[] = []

  async queueLog (line: QueueLogEntry): Promise<void> {
    this.queueLogLines.push(line)
  }

  emit (...events: PbxEvent[]): void {
    for (const event of events) this.events.emit('event', event)
  }

  /** Emits the events on a later turn of the event loop, as Asterisk does after answering an action. */
  async emitLater (...events: PbxEvent[]): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve))
    this.emit(...events)
  }

  /** The calls that act on a call (everything but lookups). */
  actions (): PbxCall[] {
    return this.calls.filter((call) => ACTIONS.has(call.method))
  }

  count (method: string): number {
    return this.calls.filter((call) => call.method === method).length
  }

  async #act (method: HookedAction, ...args: string[]): Promise<void> {
    this.calls.push({ method, args })
    await this.hooks[method]?.(...args)
  }
}

export function channel (id: string, name: string, state = 'Up'): PbxChannel {
  return { id, name, state, callerNumber: '', connectedNumber: '', dialplan: { context: CONTEXT, exten: '' }, createdAt: '2024-04-01T10:00:00.000+0000' }
}

export function bridge (id: string, ...channelIds: string[]): PbxBridge {
  return { id, technology: 'simple_bridge', bridgeType: 'mixing', channelIds }
}

/** A PBX with these bridges of channels (named by their channel names, which double as ids). */
export function snapshotOf (...bridged: string[][]): CallSnapshot {
  return {
    channels: bridged.flat().map((name) => channel(name, name)),
    bridges: bridged.map((names, index) => bridge(`b${index + 1}`, ...names))
  }
}

/** The two halves of the Local channel Asterisk dials `exten` through. */
export function localChannel (exten: string, half: 1 | 2, sequence = '00000000'): string {
  return `Local/${exten}@${CONTEXT}-${sequence};${half}`
}

// The call most unit tests use: agent 101 talking to a customer, and the legs its transfers create.
export const AGENT = 'PJSIP/101-0000002a'
export const CUSTOMER = 'PJSIP/trunk-00000029'
export const TARGET_102 = 'PJSIP/102-0000002c'
export const TARGET_103 = 'PJSIP/103-0000002d'
/** The consultation's halves when 101 transfers to 103 (Local;1 is with the agent, Local;2 dials 103). */
export const LOCAL_1 = localChannel('103', 1)
export const LOCAL_2 = localChannel('103', 2)

const ref = (name: string): { channel: string, uniqueId: string, linkedId: string } => ({ channel: name, uniqueId: `u-${name}`, linkedId: 'call-1' })

export const hold = (name: string): PbxEvent => ({ type: 'hold', ...ref(name) })
export const unhold = (name: string): PbxEvent => ({ type: 'unhold', ...ref(name) })
export const hangup = (name: string): PbxEvent => ({ type: 'hangup', ...ref(name), cause: 'Normal Clearing' })
export const newChannel = (name: string, exten = ''): PbxEvent => ({ type: 'newChannel', ...ref(name), exten, context: CONTEXT, state: 'Down' })
export const bridgeEnter = (name: string, bridgeId = 'b1'): PbxEvent => ({ type: 'bridgeEnter', ...ref(name), bridgeId, bridgeNumChannels: 2 })
export const bridgeLeave = (name: string, bridgeId = 'b1'): PbxEvent => ({ type: 'bridgeLeave', ...ref(name), bridgeId, bridgeNumChannels: 1 })

/** `Newchannel` of a consultation's Local half (`;1` unless told). */
export const newLocal = (exten: string, half: 1 | 2 = 1): PbxEvent => newChannel(localChannel(exten, half), exten)

export function dialBegin (from: string, to: string): PbxEvent {
  return { type: 'dialBegin', channel: from, destChannel: to, destUniqueId: `u-${to}`, destExten: '', dialString: to }
}

export function dialEnd (from: string, to: string, dialStatus: string): PbxEvent {
  return { type: 'dialEnd', channel: from, destChannel: to, destUniqueId: `u-${to}`, dialStatus }
}

export function attendedTransfer (transferer: string, transferee: string, target: string, result = 'Success', destType = 'Bridge'): PbxEvent {
  return { type: 'attendedTransfer', result, transferer, transferee, target, destType }
}

export function blindTransfer (transferer: string, transferee: string, exten: string, result = 'Success'): PbxEvent {
  return { type: 'blindTransfer', result, transferer, transferee, exten, context: CONTEXT }
}

// The real Asterisk 22 sequences (AMI events, and what ARI shows after them) for one call: an agent
// talking to a customer, transferred to `target` (the target's own leg, e.g. `PJSIP/103-0000002d`).
export interface CallLegs { agent: string, customer: string, target: string }

const extenOf = (leg: string): string => parseChannelName(leg)?.resource ?? ''
const consultationHalves = (legs: CallLegs): [string, string] => [localChannel(extenOf(legs.target), 1), localChannel(extenOf(legs.target), 2)]

export const sequences = {
  /** After AMI Redirect of the customer: the agent's leg goes, the customer dials the target. No BlindTransfer. */
  redirected: ({ agent, customer, target }: CallLegs, dialStatus: string): PbxEvent[] => [
    bridgeLeave(customer), bridgeLeave(agent), hangup(agent), newChannel(target, extenOf(target)),
    dialBegin(customer, target), dialEnd(customer, target, dialStatus),
    ...(dialStatus === 'ANSWER' ? [bridgeEnter(target, 'b2'), bridgeEnter(customer, 'b2')] : [])
  ],
  /** After AMI Atxfer: Hold, the Local pair, the agent moves to Local;1, Local;2 dials the target. */
  consultationStarts: (legs: CallLegs): PbxEvent[] => {
    const [local1, local2] = consultationHalves(legs)
    return [
      hold(legs.agent), newChannel(local1, extenOf(legs.target)), newChannel(local2, extenOf(legs.target)),
      bridgeLeave(legs.agent), bridgeEnter(legs.agent, 'b2'), bridgeEnter(local1, 'b2'), dialBegin(local2, legs.target)
    ]
  },
  targetAnswers: (legs: CallLegs): PbxEvent[] => {
    const [, local2] = consultationHalves(legs)
    return [dialEnd(local2, legs.target, 'ANSWER'), bridgeEnter(local2, 'b3'), bridgeEnter(legs.target, 'b3')]
  },
  /** The agent hangs up during the consultation: Local;1 joins the customer, AttendedTransfer, the agent's Hangup. */
  agentLeaves: (legs: CallLegs): PbxEvent[] => {
    const [local1] = consultationHalves(legs)
    return [bridgeEnter(local1, 'b1'), attendedTransfer(legs.agent, legs.customer, local1), hangup(legs.agent)]
  },
  /**
   * The agent hangs up while the target still rings: Local;1 joins the customer and Asterisk reports
   * AttendedTransfer Success at once (the target's channel still Ringing); the agent's leg goes only
   * when the target answers (seen on Asterisk 22). Follow with `targetAnswers`.
   */
  agentLeavesWhileTargetRings: (legs: CallLegs): PbxEvent[] => {
    const [local1] = consultationHalves(legs)
    return [bridgeLeave(local1, 'b2'), bridgeEnter(local1, 'b1'), attendedTransfer(legs.agent, legs.customer, local1), bridgeLeave(legs.agent, 'b2')]
  },
  /**
   * The customer hangs up while the target still rings: Asterisk aborts the consultation and sends
   * AttendedTransfer Fail between the customer's BridgeLeave and its Hangup (seen on Asterisk 22).
   */
  customerHangsUpWhileTargetRings: (legs: CallLegs): PbxEvent[] => {
    const [local1, local2] = consultationHalves(legs)
    return [
      bridgeLeave(legs.customer), attendedTransfer(legs.agent, legs.customer, local1, 'Fail'), hangup(legs.customer),
      bridgeLeave(local1, 'b2'), dialEnd(local2, legs.target, 'CANCEL'), hangup(local2), hangup(legs.target)
    ]
  },
  /**
   * The answered target hangs up: its leg leaves the dial's bridge first, the agent is moved back to the
   * customer and unheld; the target's own Hangup may come last (seen on Asterisk 22, 1 time in 4).
   * `lateTargetHangup` leaves that Hangup out, for the caller to send later.
   */
  targetHangsUp: (legs: CallLegs, { lateTargetHangup = false } = {}): PbxEvent[] => {
    const [local1, local2] = consultationHalves(legs)
    return [
      bridgeLeave(legs.target, 'b3'), bridgeLeave(local2, 'b3'), hangup(local2), bridgeLeave(local1, 'b2'),
      bridgeLeave(legs.agent, 'b2'), bridgeEnter(legs.agent, 'b1'), unhold(legs.agent), hangup(local1),
      ...(lateTargetHangup ? [] : [hangup(legs.target)])
    ]
  },
  /**
   * The agent's phone aborts an answered consultation (atxferabort): the agent leaves first, back with
   * the customer and unheld; then Asterisk hangs up the consultation, the target's leg last (seen on Asterisk 22).
   */
  phoneAbortsAnswered: (legs: CallLegs): PbxEvent[] => {
    const [local1, local2] = consultationHalves(legs)
    return [
      bridgeLeave(legs.agent, 'b2'), bridgeEnter(legs.agent, 'b1'), unhold(legs.agent), bridgeLeave(local1, 'b2'),
      hangup(local1), bridgeLeave(local2, 'b3'), bridgeLeave(legs.target, 'b3'), hangup(legs.target), hangup(local2)
    ]
  },
  /** CancelAtxfer: the agent back with the customer, Unhold, then the consultation's channels go. No AttendedTransfer. */
  consultationCancelled: (legs: CallLegs): PbxEvent[] => {
    const [local1, local2] = consultationHalves(legs)
    return [bridgeEnter(legs.agent, 'b1'), unhold(legs.agent), hangup(local2), hangup(legs.target), hangup(local1)]
  }
}

/** What ARI shows at each step of those sequences. */
export const scenes = {
  talking: ({ agent, customer }: CallLegs): CallSnapshot => snapshotOf([customer, agent]),
  customerWithTarget: ({ customer, target }: CallLegs): CallSnapshot => snapshotOf([target, customer]),
  consultation: (legs: CallLegs): CallSnapshot => {
    const [local1, local2] = consultationHalves(legs)
    return snapshotOf([legs.customer], [legs.agent, local1], [local2, legs.target])
  },
  /** A swap during the consultation: the agent with the customer, the target alone with Local;2. */
  swappedToCustomer: (legs: CallLegs): CallSnapshot => {
    const [local1, local2] = consultationHalves(legs)
    return snapshotOf([legs.customer, legs.agent], [local1], [local2, legs.target])
  },
  /** A three-way once Asterisk optimised the Local pair away: the three in one bridge. */
  threeWay: ({ agent, customer, target }: CallLegs): CallSnapshot => snapshotOf([customer, agent, target]),
  /** A three-way just after the merge: the consultation's Local;1 still stands for the target. */
  threeWayThroughLocal: (legs: CallLegs): CallSnapshot => {
    const [local1, local2] = consultationHalves(legs)
    return snapshotOf([legs.customer, legs.agent, local1], [local2, legs.target])
  },
  /** After an attended transfer: the customer with Local;1, whose other half is with the target. */
  customerWithTargetThroughLocal: (legs: CallLegs): CallSnapshot => {
    const [local1, local2] = consultationHalves(legs)
    return snapshotOf([legs.customer, local1], [local2, legs.target])
  }
}
