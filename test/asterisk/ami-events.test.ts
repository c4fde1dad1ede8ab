import t from 'tap'
import type { AmiMessage } from '../../src/asterisk/ami-client.js'
import { PBX_EVENT_NAMES, parsePbxEvent } from '../../src/asterisk/ami-events.js'

/** Parses an AMI event block the way asterisk-manager does: one `Key: value` a line, keys lowercased. */
function ami (block: string): AmiMessage {
  const message: Record<string, string> = {}
  for (const line of block.trim().split('\n')) {
    const [key = '', ...rest] = line.trim().split(': ')
    message[key.toLowerCase()] = rest.join(': ')
  }
  return message
}

const agentLeg = `
Channel: PJSIP/101-0000002a
ChannelState: 6
ChannelStateDesc: Up
CallerIDNum: 101
CallerIDName: Alice
ConnectedLineNum: 5551234
ConnectedLineName: Customer
Language: en
AccountCode:
Context: from-internal
Exten: 101
Priority: 1
Uniqueid: 1712000000.42
Linkedid: 1712000000.40`

t.test('Newchannel', async (t) => {
  const event = parsePbxEvent(ami(`
Event: Newchannel
Privilege: call,all
Channel: Local/103@from-internal-00000001;1
ChannelState: 0
ChannelStateDesc: Down
CallerIDNum: 101
CallerIDName: Alice
Context: from-internal
Exten: 103
Priority: 1
Uniqueid: 1712000001.50
Linkedid: 1712000000.40`))
  t.same(event, {
    type: 'newChannel',
    channel: 'Local/103@from-internal-00000001;1',
    uniqueId: '1712000001.50',
    linkedId: '1712000000.40',
    exten: '103',
    context: 'from-internal',
    state: 'Down',
    callerNumber: '101',
    callerName: 'Alice',
    connectedNumber: '',
    connectedName: ''
  })
})

t.test('Newstate', async (t) => {
  t.same(parsePbxEvent(ami(`Event: Newstate\nPrivilege: call,all${agentLeg}`)), {
    type: 'newState',
    channel: 'PJSIP/101-0000002a',
    uniqueId: '1712000000.42',
    linkedId: '1712000000.40',
    state: 'Up'
  })
})

t.test('Hold and Unhold', async (t) => {
  const ref = { channel: 'PJSIP/101-0000002a', uniqueId: '1712000000.42', linkedId: '1712000000.40' }
  t.same(parsePbxEvent(ami(`Event: Hold\nPrivilege: call,all${agentLeg}\nMusicClass: default`)), { type: 'hold', ...ref })
  t.same(parsePbxEvent(ami(`Event: Unhold\nPrivilege: call,all${agentLeg}`)), { type: 'unhold', ...ref })
})

t.test('Hangup uses Cause-txt', async (t) => {
  t.same(parsePbxEvent(ami(`Event: Hangup\nPrivilege: call,all${agentLeg}\nCause: 16\nCause-txt: Normal Clearing`)), {
    type: 'hangup',
    channel: 'PJSIP/101-0000002a',
    uniqueId: '1712000000.42',
    linkedId: '1712000000.40',
    cause: 'Normal Clearing'
  })
})

t.test('Hangup without Cause-txt falls back to the numeric Cause', async (t) => {
  const event = parsePbxEvent(ami(`Event: Hangup${agentLeg}\nCause: 16`))
  t.match(event, { type: 'hangup', cause: '16' })
})

t.test('DialBegin from a channel', async (t) => {
  const event = parsePbxEvent(ami(`
Event: DialBegin
Privilege: call,all
Channel: Local/103@from-internal-00000001;2
ChannelStateDesc: Ring
Uniqueid: 1712000001.51
Linkedid: 1712000000.40
DestChannel: PJSIP/103-0000002c
DestChannelState: 0
DestChannelStateDesc: Down
DestCallerIDNum: 103
DestContext: from-internal
DestExten: 103
DestPriority: 1
DestUniqueid: 1712000001.52
DestLinkedid: 1712000000.40
DialString: 103`))
  t.same(event, {
    type: 'dialBegin',
    channel: 'Local/103@from-internal-00000001;2',
    destChannel: 'PJSIP/103-0000002c',
    destUniqueId: '1712000001.52',
    destExten: '103',
    dialString: '103'
  })
})

t.test('DialBegin of an originate has no calling channel', async (t) => {
  const event = parsePbxEvent(ami(`
Event: DialBegin
DestChannel: PJSIP/103-0000002c
DestExten: 103
DestUniqueid: 1712000001.52
DialString: PJSIP/103`))
  t.match(event, { type: 'dialBegin', destChannel: 'PJSIP/103-0000002c', dialString: 'PJSIP/103' })
  t.equal((event as { channel?: string }).channel, undefined)
})

t.test('DialEnd', async (t) => {
  const event = parsePbxEvent(ami(`
Event: DialEnd
Channel: Local/103@from-internal-00000001;2
Uniqueid: 1712000001.51
DestChannel: PJSIP/103-0000002c
DestUniqueid: 1712000001.52
DialStatus: ANSWER`))
  t.same(event, {
    type: 'dialEnd',
    channel: 'Local/103@from-internal-00000001;2',
    destChannel: 'PJSIP/103-0000002c',
    destUniqueId: '1712000001.52',
    dialStatus: 'ANSWER'
  })
})

const bridgeFields = `
BridgeUniqueid: 8d4b3c3e-5a6f-4a53-9f0e-1b2c3d4e5f60
BridgeType: basic
BridgeTechnology: simple_bridge
BridgeCreator: <unknown>
BridgeName: <unknown>
BridgeNumChannels: 2
BridgeVideoSourceMode: none`

t.test('BridgeEnter and BridgeLeave', async (t) => {
  const expected = {
    channel: 'PJSIP/101-0000002a',
    uniqueId: '1712000000.42',
    linkedId: '1712000000.40',
    bridgeId: '8d4b3c3e-5a6f-4a53-9f0e-1b2c3d4e5f60',
    bridgeNumChannels: 2
  }
  t.same(parsePbxEvent(ami(`Event: BridgeEnter${bridgeFields}${agentLeg}`)), { type: 'bridgeEnter', ...expected })
  t.same(parsePbxEvent(ami(`Event: BridgeLeave${bridgeFields}${agentLeg}`)), { type: 'bridgeLeave', ...expected })
})

t.test('a bridge event without a channel count counts 0', async (t) => {
  t.match(parsePbxEvent(ami(`Event: BridgeLeave${agentLeg}\nBridgeUniqueid: b1`)), { type: 'bridgeLeave', bridgeNumChannels: 0 })
})

t.test('AttendedTransfer names the target from TransferTargetChannel', async (t) => {
  const event = parsePbxEvent(ami(`
Event: AttendedTransfer
Result: Success
OrigTransfererChannel: PJSIP/101-0000002a
OrigBridgeUniqueid: 8d4b3c3e-5a6f-4a53-9f0e-1b2c3d4e5f60
SecondTransfererChannel: Local/103@from-internal-00000001;1
SecondBridgeUniqueid: 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0
TransfereeChannel: PJSIP/trunk-00000029
TransferTargetChannel: PJSIP/103-0000002c
IsExternal: No
DestType: Bridge
DestBridgeUniqueid: 8d4b3c3e-5a6f-4a53-9f0e-1b2c3d4e5f60`))
  t.same(event, {
    type: 'attendedTransfer',
    result: 'Success',
    transferer: 'PJSIP/101-0000002a',
    transferee: 'PJSIP/trunk-00000029',
    target: 'PJSIP/103-0000002c',
    destType: 'Bridge'
  })
})

t.test('AttendedTransfer without TransferTargetChannel falls back to SecondTransfererChannel', async (t) => {
  const event = parsePbxEvent(ami(`
Event: AttendedTransfer
Result: Fail
OrigTransfererChannel: PJSIP/101-0000002a
SecondTransfererChannel: Local/103@from-internal-00000001;1
DestType: Fail`))
  t.same(event, {
    type: 'attendedTransfer',
    result: 'Fail',
    transferer: 'PJSIP/101-0000002a',
    transferee: undefined,
    target: 'Local/103@from-internal-00000001;1',
    destType: 'Fail'
  })
})

t.test('BlindTransfer', async (t) => {
  const event = parsePbxEvent(ami(`
Event: BlindTransfer
Result: Success
TransfererChannel: PJSIP/101-0000002a
TransfererUniqueid: 1712000000.42
TransfereeChannel: PJSIP/trunk-00000029
TransfereeUniqueid: 1712000000.40
IsExternal: No
Context: from-internal
Extension: 103`))
  t.same(event, {
    type: 'blindTransfer',
    result: 'Success',
    transferer: 'PJSIP/101-0000002a',
    transferee: 'PJSIP/trunk-00000029',
    exten: '103',
    context: 'from-internal'
  })
})

t.test('the event name is matched case-insensitively', async (t) => {
  t.match(parsePbxEvent(ami(`Event: HOLD${agentLeg}`)), { type: 'hold' })
  t.match(parsePbxEvent(ami(`Event: bridgeenter${bridgeFields}${agentLeg}`)), { type: 'bridgeEnter' })
})

t.test('events the plugin does not use map to undefined', async (t) => {
  for (const name of ['VarSet', 'Newexten', 'FullyBooted', 'PeerStatus', 'CoreShowChannel', 'Holdx', 'Hangup2']) {
    t.equal(parsePbxEvent(ami(`Event: ${name}${agentLeg}`)), undefined, name)
  }
})

t.test('Newexten names the application a channel runs, at which extension', async (t) => {
  t.same(parsePbxEvent(ami(`Event: Newexten${agentLeg}\nApplication: VoiceMail\nAppData: 101@default`)), {
    type: 'newExten', channel: 'PJSIP/101-0000002a', uniqueId: '1712000000.42', linkedId: '1712000000.40', context: 'from-internal', exten: '101', application: 'VoiceMail'
  })
})

t.test('a message that is not an event (a response) maps to undefined', async (t) => {
  t.equal(parsePbxEvent(ami('Response: Success\nActionID: 1\nMessage: Redirect successful')), undefined)
  t.equal(parsePbxEvent({}), undefined)
})

t.test('a repeated Event key (an array) maps to undefined instead of throwing', async (t) => {
  t.equal(parsePbxEvent({ event: ['Hold', 'Hold'], channel: 'PJSIP/101-0000002a' }), undefined)
})

t.test('NewConnectedLine carries the number of the party the channel is now connected to', async (t) => {
  const event = parsePbxEvent(ami(`
Event: NewConnectedLine
Privilege: call,all
Channel: PJSIP/103-00000002
ChannelState: 6
ChannelStateDesc: Up
CallerIDNum: 103
CallerIDName: <unknown>
ConnectedLineNum: +15550000001
ConnectedLineName: <unknown>
Uniqueid: 1795632031.4
Linkedid: 1795632030.0`))
  t.same(event, {
    type: 'newConnectedLine',
    channel: 'PJSIP/103-00000002',
    uniqueId: '1795632031.4',
    linkedId: '1795632030.0',
    connectedNumber: '+15550000001',
    connectedName: ''
  })
})

t.test('NewConnectedLine carries the name of the party too, when Asterisk knows it', async (t) => {
  const event = parsePbxEvent(ami(`Event: NewConnectedLine${agentLeg}`))
  t.match(event, { type: 'newConnectedLine', connectedNumber: '5551234', connectedName: 'Customer' })
})

t.test("NewConnectedLine with AMI's <unknown> number maps to an empty number", async (t) => {
  const event = parsePbxEvent(ami(`Event: NewConnectedLine${agentLeg.replace('ConnectedLineNum: 5551234', 'ConnectedLineNum: <unknown>')}`))
  t.match(event, { type: 'newConnectedLine', channel: 'PJSIP/101-0000002a', connectedNumber: '' })
})

// Agent presence events, as the Asterisk 22 test bed sent them (agent 107 registering and unregistering
// with a SIP REGISTER, a call to 104, QueueAdd/QueuePause/QueueRemove of PJSIP/107 in queue sales).

t.test('DeviceStateChange: the device and its state', async (t) => {
  t.same(parsePbxEvent(ami(`
Event: DeviceStateChange
Privilege: call,all
Timestamp: 1795634019.172998
Device: PJSIP/104
State: BUSY`)), { type: 'deviceStateChange', device: 'PJSIP/104', state: 'BUSY' })
})

t.test('DeviceStateChange without a device maps to undefined', async (t) => {
  t.equal(parsePbxEvent(ami('Event: DeviceStateChange\nState: INUSE')), undefined)
})

t.test('PeerStatus of a PJSIP endpoint that registers: Reachable -> registered', async (t) => {
  t.same(parsePbxEvent(ami(`
Event: PeerStatus
Privilege: system,all
Timestamp: 1795633982.892201
ChannelType: PJSIP
Peer: PJSIP/107
PeerStatus: Reachable`)), { type: 'peerStatus', peer: 'PJSIP/107', registered: true })
})

t.test('PeerStatus of a PJSIP endpoint that unregisters: Unreachable -> not registered', async (t) => {
  t.same(parsePbxEvent(ami('Event: PeerStatus\nChannelType: PJSIP\nPeer: PJSIP/107\nPeerStatus: Unreachable')), { type: 'peerStatus', peer: 'PJSIP/107', registered: false })
})

t.test('PeerStatus words of other channel drivers', async (t) => {
  const registered = (status: string): unknown => (parsePbxEvent(ami(`Event: PeerStatus\nPeer: SIP/107\nPeerStatus: ${status}`)) as { registered?: boolean } | undefined)?.registered
  t.same(['Registered', 'Lagged', 'Unregistered', 'Rejected', 'REACHABLE'].map(registered), [true, true, false, false, true])
})

t.test('PeerStatus Unknown, or without a peer, maps to undefined: it tells nothing of anyone', async (t) => {
  t.equal(parsePbxEvent(ami('Event: PeerStatus\nPeer: PJSIP/107\nPeerStatus: Unknown')), undefined)
  t.equal(parsePbxEvent(ami('Event: PeerStatus\nPeerStatus: Reachable')), undefined)
})

/** The fields Asterisk 22 sends with every QueueMember* event (PJSIP/107 added to sales, then paused). */
const memberFields = (paused: string, reason: string): string => `
Privilege: agent,all
Queue: sales
MemberName: PJSIP/107
Interface: PJSIP/107
StateInterface: PJSIP/107
Membership: dynamic
Penalty: 0
CallsTaken: 0
LastCall: 0
LastPause: 1795634003
LoginTime: 1795634002
InCall: 0
Status: 5
Paused: ${paused}
PausedReason: ${reason}
Ringinuse: 0
Wrapuptime: 0`

const member107 = { queue: 'sales', interface: 'PJSIP/107', stateInterface: 'PJSIP/107' }

t.test('QueueMemberPause: paused with its reason, and unpaused', async (t) => {
  t.same(parsePbxEvent(ami(`Event: QueueMemberPause${memberFields('1', 'lunch')}`)), { type: 'queueMemberPause', ...member107, paused: true, pausedReason: 'lunch' })
  t.same(parsePbxEvent(ami(`Event: QueueMemberPause${memberFields('0', '')}`)), { type: 'queueMemberPause', ...member107, paused: false, pausedReason: '' })
})

t.test('QueueMemberAdded, QueueMemberRemoved and QueueMemberStatus carry the same member', async (t) => {
  t.same(parsePbxEvent(ami(`Event: QueueMemberAdded${memberFields('0', '')}`)), { type: 'queueMemberAdded', ...member107, paused: false, pausedReason: '' })
  t.same(parsePbxEvent(ami(`Event: QueueMemberRemoved${memberFields('0', '')}`)), { type: 'queueMemberRemoved', ...member107, paused: false, pausedReason: '' })
  t.same(parsePbxEvent(ami(`Event: QueueMemberStatus${memberFields('1', 'break')}`)), { type: 'queueMemberStatus', ...member107, paused: true, pausedReason: 'break' })
})

t.test('a member dialed through a Local channel is known by its state interface', async (t) => {
  const fields = memberFields('1', '').replace('Interface: PJSIP/107', 'Interface: Local/107@agents/n')
  t.match(parsePbxEvent(ami(`Event: QueueMemberPause${fields}`)), { interface: 'Local/107@agents/n', stateInterface: 'PJSIP/107' })
})

t.test('a member without a state interface is known by its interface', async (t) => {
  t.match(parsePbxEvent(ami('Event: QueueMemberPause\nQueue: sales\nInterface: PJSIP/105\nPaused: 1')), { interface: 'PJSIP/105', stateInterface: 'PJSIP/105', paused: true })
})

t.test('a QueueMember* event without a queue or an interface maps to undefined', async (t) => {
  t.equal(parsePbxEvent(ami('Event: QueueMemberPause\nInterface: PJSIP/105\nPaused: 1')), undefined)
  t.equal(parsePbxEvent(ami('Event: QueueMemberPause\nQueue: sales\nPaused: 1')), undefined)
})

t.test('QueueCallerJoin and AgentConnect: where a caller joined a queue, and which member answered it', async (t) => {
  const caller = 'Channel: PJSIP/customer1-00000011\nUniqueid: 1796613177.1101\nLinkedid: 1796613177.1101'
  t.same(parsePbxEvent(ami(`Event: QueueCallerJoin\n${caller}\nQueue: support\nPosition: 2\nCount: 2`)),
    { type: 'queueCallerJoin', channel: 'PJSIP/customer1-00000011', uniqueId: '1796613177.1101', linkedId: '1796613177.1101', queue: 'support', position: 2 })
  const connect = `Event: AgentConnect\n${caller}\nDestChannel: Local/106@from-internal-00000012;1\nDestUniqueid: 1796613177.1102\n` +
    'Queue: support\nMemberName: Agent 106\nInterface: Local/106@from-internal/n\nStateInterface: PJSIP/106\nHoldTime: 7\nRingTime: 1'
  t.same(parsePbxEvent(ami(connect)), {
    type: 'agentConnect',
    channel: 'PJSIP/customer1-00000011',
    uniqueId: '1796613177.1101',
    linkedId: '1796613177.1101',
    queue: 'support',
    memberName: 'Agent 106',
    memberInterface: 'Local/106@from-internal/n',
    memberChannel: 'Local/106@from-internal-00000012;1',
    holdTimeSeconds: 7
  })
  t.match(parsePbxEvent(ami(connect.replace('MemberName: Agent 106\n', ''))), { memberName: 'Local/106@from-internal/n' }, 'unnamed: known by its interface')
  t.equal(parsePbxEvent(ami(`Event: QueueCallerJoin\n${caller}\nPosition: 2`)), undefined, 'no queue')
})

t.test('ContactStatus (one contact of an endpoint) and the other queue events map to undefined', async (t) => {
  for (const name of ['ContactStatus', 'QueueCallerAbandon', 'QueueMemberRinginuse', 'QueueParams', 'ExtensionStatus']) {
    t.equal(parsePbxEvent(ami(`Event: ${name}\nQueue: sales\nInterface: PJSIP/105\nDevice: PJSIP/105\nPeer: PJSIP/105`)), undefined, name)
  }
})

t.test('PBX_EVENT_NAMES lists exactly the events that map to something', async (t) => {
  // Every field any of them reads, so that none maps to undefined for lack of one.
  const full = (name: string): AmiMessage => ({
    event: name,
    channel: 'PJSIP/101-0000002a',
    uniqueid: '1.1',
    linkedid: '1.1',
    application: 'Dial',
    device: 'PJSIP/101',
    state: 'INUSE',
    peer: 'PJSIP/101',
    peerstatus: 'Reachable',
    queue: 'sales',
    interface: 'PJSIP/101'
  })
  for (const name of PBX_EVENT_NAMES) t.not(parsePbxEvent(full(name)), undefined, name)
  for (const name of ['VarSet', 'Newcallerid', 'BridgeCreate', 'ContactStatus', 'QueueParams', 'UserEvent', 'OriginateResponse']) {
    t.notOk(PBX_EVENT_NAMES.has(name.toLowerCase()), name)
    t.equal(parsePbxEvent(full(name)), undefined, name)
  }
})

t.test('MixMonitorStart and MixMonitorStop name the recorded channel by its ids', async (t) => {
  t.same(parsePbxEvent(ami(`Event: MixMonitorStart${agentLeg}`)), { type: 'mixMonitorStart', channel: 'PJSIP/101-0000002a', uniqueId: '1712000000.42', linkedId: '1712000000.40' })
  t.same(parsePbxEvent(ami(`Event: MixMonitorStop${agentLeg}`)), { type: 'mixMonitorStop', channel: 'PJSIP/101-0000002a', uniqueId: '1712000000.42', linkedId: '1712000000.40' })
})
