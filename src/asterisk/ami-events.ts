/**
 * Maps raw AMI events (lowercased keys, as ami-parser.ts reads them) to typed events for the layers
 * above, so nothing outside `asterisk/` reads AMI keys. Events the plugin does not use map to undefined.
 */
import type { AmiMessage } from './ami-client.js'

interface ChannelRef {
  channel: string
  uniqueId: string
  /** The id shared by every channel of one call (Asterisk's linkedid). */
  linkedId: string
}

export type PbxEvent =
  | ({ type: 'newChannel', exten: string, context: string, state: string, callerNumber?: string, callerName?: string, connectedNumber?: string, connectedName?: string } & ChannelRef)
  | ({ type: 'newState', state: string } & ChannelRef)
  | ({ type: 'hold' } & ChannelRef)
  | ({ type: 'unhold' } & ChannelRef)
  | ({ type: 'hangup', cause: string } & ChannelRef)
  /** A channel runs a dialplan step: which application (`Dial`, `VoiceMail`, `Queue`...) at which extension. */
  | ({ type: 'newExten', context: string, exten: string, application: string } & ChannelRef)
  | ({ type: 'dialBegin', destChannel: string, destUniqueId: string, destExten: string, dialString: string, channel?: string })
  | ({ type: 'dialEnd', destChannel: string, destUniqueId: string, dialStatus: string, channel?: string })
  | ({ type: 'bridgeEnter' | 'bridgeLeave', bridgeId: string, bridgeNumChannels: number } & ChannelRef)
  | {
    type: 'attendedTransfer'
    result: string
    transferer: string
    transferee?: string
    /** The consultation side (the target's leg) when Asterisk names it. */
    target?: string
    destType: string
  }
  | {
    type: 'blindTransfer'
    result: string
    transferer: string
    transferee?: string
    exten: string
    context: string
  }
  /** The party a channel is connected to changed (answer, transfer, consultation): `''` when unknown. */
  | ({ type: 'newConnectedLine', connectedNumber: string, connectedName?: string } & ChannelRef)
  /** Asterisk reloaded its configuration (all of it, or one module such as the dialplan). */
  | { type: 'reload', module: string }
  /** A device (`PJSIP/101`, but also `Queue:sales`, `MWI:...`) changed state: NOT_INUSE, INUSE, RINGING... */
  | ({ type: 'deviceStateChange' } & DeviceState)
  /**
   * An endpoint became reachable or not. For PJSIP this is the endpoint as a whole (any contact
   * registered), where ContactStatus speaks of one contact: on Asterisk 22 a REGISTER gives
   * `PeerStatus: Reachable` (and `ContactStatus: NonQualified` or `Created`), an unregister or an expiry
   * `PeerStatus: Unreachable` (and `ContactStatus: Removed`).
   */
  | { type: 'peerStatus', peer: string, registered: boolean }
  /**
   * A channel began or stopped being recorded (MixMonitor). Neither names the file; a hangup sends no
   * stop (the recording ends with the channel).
   */
  | ({ type: 'mixMonitorStart' | 'mixMonitorStop' } & ChannelRef)
  /** A queue member was added, removed, paused or unpaused, or its device changed state. */
  | ({ type: QueueMemberEventType } & QueueMember)
  /** A caller (the channel) joined a queue at `position` (1 is the head). */
  | ({ type: 'queueCallerJoin', queue: string, position: number } & ChannelRef)
  /**
   * A queue's caller (the channel) was answered by a member: the member's `memberName` (what
   * queue_log calls the agent; its interface unless named), `memberInterface`, the channel the queue
   * dialed it on (`memberChannel`: the agent's own, or a Local half) and how long the caller waited.
   */
  | ({ type: 'agentConnect', queue: string, memberName: string, memberInterface: string, memberChannel: string, holdTimeSeconds: number } & ChannelRef)

/** One device and its state, as `DeviceStateChange` events and the `DeviceStateList` items carry them. */
export interface DeviceState {
  device: string
  state: string
}

/** One membership of a queue, as the `QueueMember*` events and the `QueueStatus` items carry it. */
export interface QueueMember {
  queue: string
  /** The interface the queue dials (`PJSIP/105`, or `Local/105@agents/n`). */
  interface: string
  /** The device whose state the queue follows: the agent's phone even when it is dialed through Local. */
  stateInterface: string
  paused: boolean
  /** Why the member is paused (AMI QueuePause `Reason`); `''` when none was given. */
  pausedReason: string
}

function field (message: AmiMessage, key: string): string {
  const value = message[key]
  return typeof value === 'string' ? value : ''
}

function optional (message: AmiMessage, key: string): string | undefined {
  const value = field(message, key)
  return value === '' ? undefined : value
}

/** AMI writes an absent caller id (number or name) as `<unknown>`; callers above should not have to know that spelling. */
function knownNumber (value: string): string {
  return value === '<unknown>' ? '' : value
}

function channelRef (message: AmiMessage): ChannelRef {
  return { channel: field(message, 'channel'), uniqueId: field(message, 'uniqueid'), linkedId: field(message, 'linkedid') }
}

/** PeerStatus words meaning the endpoint can (true) or cannot (false) be reached; others say nothing. */
const PEER_REGISTERED: ReadonlyMap<string, boolean> = new Map([
  ['registered', true],
  ['reachable', true],
  ['lagged', true],
  ['unregistered', false],
  ['unreachable', false],
  ['rejected', false]
])

export function parseDeviceState (message: AmiMessage): DeviceState {
  return { device: field(message, 'device'), state: field(message, 'state') }
}

/** A `QueueMember*` event or a `QueueStatus` item, which names the interface `Location` instead. */
export function parseQueueMember (message: AmiMessage): QueueMember {
  const memberInterface = field(message, 'interface') || field(message, 'location')
  return {
    queue: field(message, 'queue'),
    interface: memberInterface,
    stateInterface: field(message, 'stateinterface') || memberInterface,
    paused: field(message, 'paused') === '1',
    pausedReason: field(message, 'pausedreason')
  }
}

type QueueMemberEventType = 'queueMemberAdded' | 'queueMemberRemoved' | 'queueMemberPause' | 'queueMemberStatus'

// An event that names no device, queue or member, or a PeerStatus that says nothing about reachability
// (`Unknown`), cannot be applied to anyone: undefined, like the events the plugin does not use.

function queueMemberEvent (type: QueueMemberEventType): (message: AmiMessage) => PbxEvent | undefined {
  return (message) => {
    const member = parseQueueMember(message)
    return member.queue === '' || member.interface === '' ? undefined : { type, ...member }
  }
}

function bridgeEvent (type: 'bridgeEnter' | 'bridgeLeave'): (message: AmiMessage) => PbxEvent {
  return (message) => ({
    type,
    channel: field(message, 'channel'),
    uniqueId: field(message, 'uniqueid'),
    linkedId: field(message, 'linkedid'),
    bridgeId: field(message, 'bridgeuniqueid'),
    bridgeNumChannels: Number(field(message, 'bridgenumchannels')) || 0
  })
}

/**
 * How each event the plugin uses is read, by its lowercased name. The one list of those names: the AMI
 * client drops every other event unread (PBX_EVENT_NAMES). Each object is written out field by field, in
 * one order per type, rather than spread from parts: the monitor receives every event of the PBX.
 */
const PARSERS: ReadonlyMap<string, (message: AmiMessage) => PbxEvent | undefined> = new Map<string, (message: AmiMessage) => PbxEvent | undefined>([
  ['newchannel', (message) => ({
    type: 'newChannel',
    channel: field(message, 'channel'),
    uniqueId: field(message, 'uniqueid'),
    linkedId: field(message, 'linkedid'),
    exten: field(message, 'exten'),
    context: field(message, 'context'),
    state: field(message, 'channelstatedesc'),
    callerNumber: knownNumber(field(message, 'calleridnum')),
    callerName: knownNumber(field(message, 'calleridname')),
    connectedNumber: knownNumber(field(message, 'connectedlinenum')),
    connectedName: knownNumber(field(message, 'connectedlinename'))
  })],
  ['newstate', (message) => ({ type: 'newState', ...channelRef(message), state: field(message, 'channelstatedesc') })],
  ['hold', (message) => ({ type: 'hold', ...channelRef(message) })],
  ['unhold', (message) => ({ type: 'unhold', ...channelRef(message) })],
  ['hangup', (message) => ({ type: 'hangup', ...channelRef(message), cause: field(message, 'cause-txt') || field(message, 'cause') })],
  // Without an application there is nothing to learn from the step.
  ['newexten', (message) => field(message, 'application') === ''
    ? undefined
    : { type: 'newExten', ...channelRef(message), context: field(message, 'context'), exten: field(message, 'extension') || field(message, 'exten'), application: field(message, 'application') }],
  ['dialbegin', (message) => ({
    type: 'dialBegin',
    channel: optional(message, 'channel'),
    destChannel: field(message, 'destchannel'),
    destUniqueId: field(message, 'destuniqueid'),
    destExten: field(message, 'destexten'),
    dialString: field(message, 'dialstring')
  })],
  ['dialend', (message) => ({
    type: 'dialEnd',
    channel: optional(message, 'channel'),
    destChannel: field(message, 'destchannel'),
    destUniqueId: field(message, 'destuniqueid'),
    dialStatus: field(message, 'dialstatus')
  })],
  ['bridgeenter', bridgeEvent('bridgeEnter')],
  ['bridgeleave', bridgeEvent('bridgeLeave')],
  ['attendedtransfer', (message) => ({
    type: 'attendedTransfer',
    result: field(message, 'result'),
    transferer: field(message, 'origtransfererchannel'),
    transferee: optional(message, 'transfereechannel'),
    target: optional(message, 'transfertargetchannel') ?? optional(message, 'secondtransfererchannel'),
    destType: field(message, 'desttype')
  })],
  ['blindtransfer', (message) => ({
    type: 'blindTransfer',
    result: field(message, 'result'),
    transferer: field(message, 'transfererchannel'),
    transferee: optional(message, 'transfereechannel'),
    exten: field(message, 'extension'),
    context: field(message, 'context')
  })],
  ['reload', (message) => ({ type: 'reload', module: field(message, 'module') })],
  ['newconnectedline', (message) => ({
    type: 'newConnectedLine',
    ...channelRef(message),
    connectedNumber: knownNumber(field(message, 'connectedlinenum')),
    connectedName: knownNumber(field(message, 'connectedlinename'))
  })],
  ['devicestatechange', (message) => {
    const device = parseDeviceState(message)
    return device.device === '' ? undefined : { type: 'deviceStateChange', ...device }
  }],
  ['peerstatus', (message) => {
    const peer = field(message, 'peer')
    const registered = PEER_REGISTERED.get(field(message, 'peerstatus').toLowerCase())
    return peer === '' || registered === undefined ? undefined : { type: 'peerStatus', peer, registered }
  }],
  ['queuecallerjoin', (message) => field(message, 'queue') === ''
    ? undefined
    : { type: 'queueCallerJoin', ...channelRef(message), queue: field(message, 'queue'), position: Number(field(message, 'position')) || 0 }],
  ['agentconnect', (message) => field(message, 'queue') === ''
    ? undefined
    : {
        type: 'agentConnect',
        ...channelRef(message),
        queue: field(message, 'queue'),
        memberName: field(message, 'membername') || field(message, 'interface'),
        memberInterface: field(message, 'interface'),
        memberChannel: field(message, 'destchannel'),
        holdTimeSeconds: Number(field(message, 'holdtime')) || 0
      }],
  ['mixmonitorstart', (message) => ({ type: 'mixMonitorStart', ...channelRef(message) })],
  ['mixmonitorstop', (message) => ({ type: 'mixMonitorStop', ...channelRef(message) })],
  ['queuememberadded', queueMemberEvent('queueMemberAdded')],
  ['queuememberremoved', queueMemberEvent('queueMemberRemoved')],
  ['queuememberpause', queueMemberEvent('queueMemberPause')],
  ['queuememberstatus', queueMemberEvent('queueMemberStatus')]
])

/**
 * The lowercased names of the events parsePbxEvent may map to something; every other event maps to
 * undefined, so a reader that feeds only parsePbxEvent need not parse them at all.
 */
export const PBX_EVENT_NAMES: ReadonlySet<string> = new Set(PARSERS.keys())

export function parsePbxEvent (message: AmiMessage): PbxEvent | undefined {
  return PARSERS.get(field(message, 'event').toLowerCase())?.(message)
}
