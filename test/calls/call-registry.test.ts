import t from 'tap'
import type { PbxEvent } from '../../src/asterisk/ami-events.js'
import type { CallSnapshot } from '../../src/asterisk/pbx.js'
import { CallRegistry, type CallChange } from '../../src/calls/call-registry.js'
import type { Call } from '../../src/domain/feed-events.js'
import { findAgentCall } from '../../src/transfers/call-topology.js'
import {
  atxfer101To103,
  atxferCancelled,
  atxferCompletedBy101HangingUp,
  blindRedirectTo102,
  callTo101,
  customerHangsUp,
  parseTrace,
  redirectedCallHangsUp,
  snapshotCompleted,
  snapshotConsulting,
  transferredCallHangsUp
} from './fixtures/asterisk-traces.js'

const customer = 'PJSIP/customer1-00000000'

function applyAll (registry: CallRegistry, events: PbxEvent[]): CallChange[] {
  return events.flatMap((event) => registry.apply(event))
}

function registryAfter (...traces: string[]): CallRegistry {
  const registry = new CallRegistry()
  applyAll(registry, traces.flatMap(parseTrace))
  return registry
}

/** A call in one short line: `state` or `state with <peer channel> (<peer number>)`. */
function describe (call: Call | undefined): string {
  if (call === undefined) return 'ended'
  return call.peer === undefined ? call.state : `${call.state} with ${call.peer.channel} (${call.peer.number})`
}

/**
 * Applies the events one by one and returns how the extension's (single) call looked after each event
 * that changed it, as reported by `apply`: the states the feed would publish.
 */
function timeline (registry: CallRegistry, events: PbxEvent[], extension: string): string[] {
  return events.flatMap((event) =>
    registry.apply(event).filter((change) => change.extension === extension).map((change) => describe(change.call)))
}

t.test('a customer call to 101: ringing, answered, then bridged with the customer as peer', async (t) => {
  const registry = new CallRegistry()
  t.same(timeline(registry, parseTrace(callTo101), '101'), [
    'ringing',
    'up',
    `up with ${customer} (+15550000001)`
  ])
  t.same(registry.callsOf('101'), [{
    extension: '101',
    channel: 'PJSIP/101-00000001',
    uniqueId: '1795632382.1',
    linkedId: '1795632382.0',
    state: 'up',
    peer: { channel: customer, number: '+15550000001' },
    startedAt: '2026-11-25T18:46:22.000Z'
  }])
})

t.test('the ringing call is reported before it is answered, with its change', async (t) => {
  const registry = new CallRegistry()
  const [customerLeg, agentLeg] = parseTrace(callTo101)
  t.same(registry.apply(customerLeg as PbxEvent).map((change) => change.extension), ['customer1'], 'the customer endpoint is a PJSIP leg too')
  const changes = registry.apply(agentLeg as PbxEvent)
  t.same(changes, [{ extension: '101', uniqueId: '1795632382.1', call: registry.callsOf('101')[0] }])
  t.equal(changes[0]?.call?.state, 'ringing')
})

t.test('hold and unhold from the phone keep the call in its bridge', async (t) => {
  const registry = registryAfter(callTo101)
  const ref = 'channel: PJSIP/101-00000001 | channelstatedesc: Up | uniqueid: 1795632382.1 | linkedid: 1795632382.0'
  t.same(timeline(registry, parseTrace(`Hold | ${ref}\nUnhold | ${ref}`), '101'), [
    `on_hold with ${customer} (+15550000001)`,
    `up with ${customer} (+15550000001)`
  ])
})

t.test('blind Redirect: 101 leaves and hangs up, the customer is bridged with 102', async (t) => {
  const registry = new CallRegistry()
  const events = parseTrace(blindRedirectTo102)
  const changes = applyAll(registry, events)
  const agentChanges = changes.filter((change) => change.extension === '101').map((change) => describe(change.call))
  t.same(agentChanges, ['ringing', 'up', 'up with PJSIP/customer1-00000003 (+15550000001)', 'up', 'ended'])
  t.same(registry.callsOf('101'), [])
  t.same(registry.callsOf('102').map(describe), ['up with PJSIP/customer1-00000003 (+15550000001)'])
  t.match(registry.callsOf('102')[0], { channel: 'PJSIP/102-00000005', linkedId: '1795632385.5' })
})

t.test('attended transfer (Atxfer): 101 on hold, then in consultation with 103 through a Local pair', async (t) => {
  const registry = registryAfter(callTo101)
  const events = parseTrace(atxfer101To103)
  t.same(timeline(registry, events, '101'), [
    `on_hold with ${customer} (+15550000001)`,
    'on_hold', // left the customer's bridge, not yet in the consultation bridge
    'in_consultation', // with Local;1 while Local;2 dials 103: no real peer yet
    'in_consultation with PJSIP/103-00000002 (103)'
  ])
  t.same(registryAfter(callTo101, atxfer101To103).callsOf('101').map(describe), ['in_consultation with PJSIP/103-00000002 (103)'])
})

t.test("during the consultation 103's peer is the consulting agent 101, the party 103 talks to", async (t) => {
  const registry = registryAfter(callTo101)
  t.same(timeline(registry, parseTrace(atxfer101To103), '103'), [
    'ringing',
    'up',
    'up with PJSIP/101-00000001 (101)'
  ])
  t.same(registry.callsOf('customer1').map(describe), ['up'], 'the customer waits alone in its bridge (music on hold is no Hold)')
})

t.test('attended transfer completed by 101 hanging up: 103 is bridged with the customer', async (t) => {
  const registry = registryAfter(callTo101, atxfer101To103)
  const changes = applyAll(registry, parseTrace(atxferCompletedBy101HangingUp))
  t.same(changes.filter((change) => change.extension === '103').map((change) => describe(change.call)), [
    'up', // Local;1 left the consultation bridge...
    `up with ${customer} (101)`, // ...and joined the customer's, before Asterisk updated 103's connected line
    `up with ${customer} (+15550000001)`
  ])
  t.same(changes.filter((change) => change.extension === '101').map((change) => describe(change.call)), ['on_hold', 'ended'])
  t.same(registry.callsOf('101'), [])
  t.same(registry.callsOf('103'), [{
    extension: '103',
    channel: 'PJSIP/103-00000002',
    uniqueId: '1795632383.4',
    linkedId: '1795632382.0',
    state: 'up',
    peer: { channel: customer, number: '+15550000001' },
    startedAt: '2026-11-25T18:46:23.000Z'
  }])
})

t.test('attended transfer cancelled: 101 is back with the customer, 103 ended', async (t) => {
  const registry = new CallRegistry()
  const events = parseTrace(atxferCancelled)
  const agent = timeline(registry, events, '101')
  t.ok(agent.includes('in_consultation with PJSIP/103-00000008 (103)'), agent.join(', '))
  t.equal(agent.at(-1), 'up with PJSIP/customer1-00000006 (+15550000001)')
  t.same(registry.callsOf('103'), [])
  t.equal(registry.channelCount, 2, 'the customer and 101 remain')
})

t.test('hangups remove channels and report the call as ended', async (t) => {
  const registry = registryAfter(atxferCancelled)
  const changes = applyAll(registry, parseTrace(customerHangsUp))
  t.same(changes.filter((change) => change.extension === '101').map((change) => describe(change.call)), ['up', 'ended'])
  t.same(changes.at(-1), { extension: '101', uniqueId: '1795632388.9' }, 'the ended call is named by its uniqueid')
  t.same(registry.allCalls(), [])
  t.equal(registry.channelCount, 0)

  const transferred = registryAfter(callTo101, atxfer101To103, atxferCompletedBy101HangingUp, transferredCallHangsUp)
  t.equal(transferred.channelCount, 0)
  const redirected = registryAfter(blindRedirectTo102, redirectedCallHangsUp)
  t.equal(redirected.channelCount, 0)
  t.same(redirected.snapshot(), { channels: [], bridges: [] }, 'no empty bridge is left behind')
})

t.test('applying every event twice changes nothing the second time', async (t) => {
  const registry = new CallRegistry()
  const events = [callTo101, atxfer101To103, atxferCompletedBy101HangingUp, transferredCallHangsUp, blindRedirectTo102, atxferCancelled]
    .flatMap(parseTrace)
  const changed: string[] = []
  for (const [index, event] of events.entries()) {
    registry.apply(event)
    const before = JSON.stringify([registry.snapshot(), registry.allCalls()])
    const changes = registry.apply(event)
    if (changes.length > 0 || JSON.stringify([registry.snapshot(), registry.allCalls()]) !== before) changed.push(`${index} ${event.type}`)
  }
  t.ok(events.length > 100)
  t.same(changed, [], 'no event changed anything when applied again')
})

t.test('events buffered during a rebuild replay over the snapshot to the state reached from events alone', async (t) => {
  const events = [callTo101, atxfer101To103, atxferCompletedBy101HangingUp].flatMap(parseTrace)
  const withoutLinkedId = (calls: Call[]): unknown[] => calls.map(({ linkedId, ...call }) => call)
  const expected = withoutLinkedId(registryAfter(callTo101, atxfer101To103, atxferCompletedBy101HangingUp).allCalls())
  t.ok(expected.length > 0)
  // Buffering starts when the snapshot is requested (index `from`); Asterisk answers it a little later
  // (index `taken`), so the buffer holds events the snapshot already reflects, and later ones.
  let mismatches = 0
  for (let taken = 0; taken <= events.length; taken++) {
    const live = new CallRegistry()
    applyAll(live, events.slice(0, taken))
    const snapshot = live.snapshot()
    for (let from = 0; from <= taken; from++) {
      const rebuilt = new CallRegistry()
      rebuilt.reset(snapshot)
      applyAll(rebuilt, events.slice(from))
      if (JSON.stringify(withoutLinkedId(rebuilt.allCalls())) !== JSON.stringify(expected)) mismatches++
    }
  }
  t.equal(mismatches, 0)
})

t.test('reset from an ARI snapshot: calls are found, hold state is unknown so up', async (t) => {
  const registry = new CallRegistry()
  registry.reset(snapshotConsulting)
  t.equal(registry.channelCount, 5)
  t.same(registry.callsOf('101'), [{
    extension: '101',
    channel: 'PJSIP/101-00000001',
    uniqueId: '1795632382.1',
    linkedId: '', // ARI does not report linkedids
    state: 'up',
    peer: { channel: 'PJSIP/103-00000002', number: '103' },
    startedAt: '2026-11-25T18:46:22.000Z' // as from events: a rebuild does not change the call
  }])
  t.same(registry.callsOf('103').map(describe), ['up with PJSIP/101-00000001 (101)'])

  applyAll(registry, parseTrace(atxferCompletedBy101HangingUp))
  t.same(registry.callsOf('103'), registryAfter(callTo101, atxfer101To103, atxferCompletedBy101HangingUp).callsOf('103'),
    'the events after the snapshot lead to the same call, linkedid learned from them')
})

t.test('reset replaces everything and keeps the linkedids of the channels it already knew', async (t) => {
  const registry = registryAfter(callTo101, atxfer101To103, atxferCompletedBy101HangingUp)
  registry.reset(snapshotCompleted)
  t.same(registry.callsOf('103').map(describe), [`up with ${customer} (+15550000001)`])
  t.equal(registry.callsOf('103')[0]?.linkedId, '1795632382.0')
  registry.reset({ channels: [], bridges: [] })
  t.equal(registry.channelCount, 0)
  t.same(registry.allCalls(), [])
})

t.test('reset reports the calls that differ from before, after replaying the buffered events', async (t) => {
  const registry = registryAfter(callTo101, atxfer101To103)
  const changes = registry.reset(snapshotConsulting, parseTrace(atxferCompletedBy101HangingUp))
  t.same(changes.map((change) => `${change.extension} ${describe(change.call)}`).sort(), [
    `103 up with ${customer} (+15550000001)`,
    'customer1 up with PJSIP/103-00000002 (103)',
    '101 ended'
  ].sort())
  t.same(registry.reset(snapshotCompleted), [], 'the same state again: nothing to report')
  t.same(new CallRegistry().reset(snapshotCompleted).map((change) => change.extension).sort(), ['103', 'customer1'], 'a first build reports every call')
})

t.test('a bridge member missing from the channel list (created between the two ARI requests) is left to the replay', async (t) => {
  const registry = new CallRegistry()
  const snapshot: CallSnapshot = {
    channels: snapshotCompleted.channels.filter((channel) => channel.name !== customer),
    bridges: snapshotCompleted.bridges
  }
  registry.reset(snapshot)
  t.equal(registry.snapshot().bridges.flatMap((bridge) => bridge.channelIds).length, 3)
  t.same(registry.callsOf('103').map(describe), ['up'], 'no peer until the customer is known')
})

t.test('101 and 1011 are different extensions; Local channels belong to nobody', async (t) => {
  const registry = new CallRegistry()
  registry.reset({
    channels: [
      { id: '1.1', name: 'PJSIP/101-0000000a', state: 'Up', callerNumber: '101', connectedNumber: '', dialplan: { context: 'c', exten: '101' }, createdAt: '' },
      { id: '1.2', name: 'PJSIP/1011-0000000b', state: 'Ringing', callerNumber: '1011', connectedNumber: '', dialplan: { context: 'c', exten: '1011' }, createdAt: '' },
      { id: '1.3', name: 'Local/101@from-internal-0000000c;1', state: 'Up', callerNumber: '', connectedNumber: '', dialplan: { context: 'c', exten: '101' }, createdAt: '' }
    ],
    bridges: []
  })
  t.same(registry.callsOf('101').map((call) => call.channel), ['PJSIP/101-0000000a'])
  t.same(registry.callsOf('1011').map((call) => call.channel), ['PJSIP/1011-0000000b'])
  t.same(registry.callsOf('10'), [])
  t.same(registry.allCalls().map((call) => call.extension), ['101', '1011'])
})

t.test('the agents\' technology is configurable and compared case-insensitively', async (t) => {
  const registry = new CallRegistry({ technology: 'sip' })
  applyAll(registry, parseTrace(`
Newchannel | channel: SIP/101-00000001 | channelstatedesc: Ringing | uniqueid: 1795632382.1 | linkedid: 1795632382.0
Newchannel | channel: PJSIP/102-00000002 | channelstatedesc: Ringing | uniqueid: 1795632382.2 | linkedid: 1795632382.0`))
  t.same(registry.callsOf('101').map(describe), ['ringing'])
  t.same(registry.callsOf('102'), [], 'PJSIP legs are not agents when the agents use SIP')
})

t.test('a uniqueid chosen by an ARI application carries no time: now() at Newchannel, creationtime in snapshots', async (t) => {
  const registry = new CallRegistry({ now: () => new Date('2026-01-02T03:04:05.678Z') })
  registry.apply({ type: 'newChannel', channel: 'PJSIP/101-00000001', uniqueId: 'my-call-1', linkedId: 'my-call-1', exten: '101', context: 'c', state: 'Ring' })
  t.equal(registry.callsOf('101')[0]?.startedAt, '2026-01-02T03:04:05.678Z')
  registry.reset({ channels: [{ ...snapshotCompleted.channels[1]!, id: 'my-call-2' }], bridges: [] })
  t.equal(registry.callsOf('103')[0]?.startedAt, '2026-11-25T18:46:23.275Z')
})

t.test('events the registry does not track, and events for unknown channels, change nothing', async (t) => {
  const registry = registryAfter(callTo101)
  const before = registry.snapshot()
  t.same(registry.apply({ type: 'dialBegin', destChannel: 'PJSIP/102-00000009', destUniqueId: '9.9', destExten: '102', dialString: '102' }), [])
  t.same(registry.apply({ type: 'attendedTransfer', result: 'Success', transferer: 'PJSIP/101-00000001', destType: 'Bridge' }), [])
  t.same(registry.apply({ type: 'hold', channel: 'PJSIP/104-00000009', uniqueId: '9.9', linkedId: '9.9' }), [])
  t.same(registry.apply({ type: 'bridgeEnter', channel: 'PJSIP/104-00000009', uniqueId: '9.9', linkedId: '9.9', bridgeId: 'b', bridgeNumChannels: 1 }), [])
  t.same(registry.snapshot(), before)
})

t.test('an answered channel does not ring again when an older Newstate is replayed', async (t) => {
  const registry = registryAfter(callTo101)
  t.same(registry.apply({ type: 'newState', channel: 'PJSIP/101-00000001', uniqueId: '1795632382.1', linkedId: '1795632382.0', state: 'Ringing' }), [])
  t.equal(registry.callsOf('101')[0]?.state, 'up')
})

t.test('an older BridgeLeave replayed after the channel moved on leaves it in its new bridge', async (t) => {
  const registry = registryAfter(callTo101, atxfer101To103)
  const leftCustomer = parseTrace(atxfer101To103).find((event) => event.type === 'bridgeLeave' && event.channel === 'PJSIP/101-00000001')
  t.same(registry.apply(leftCustomer as PbxEvent), [])
  t.same(registry.callsOf('101').map(describe), ['in_consultation with PJSIP/103-00000002 (103)'])
})

t.test('findAgentCall runs on the registry: snapshotOf holds only what the extension\'s calls involve', async (t) => {
  const registry = registryAfter(callTo101, atxfer101To103)
  const around101 = registry.snapshotOf('101')
  t.same(around101.channels.map((channel) => channel.name).sort(), [
    'Local/103@from-internal-00000000;1',
    'Local/103@from-internal-00000000;2',
    'PJSIP/101-00000001',
    'PJSIP/103-00000002'
  ], 'the consultation, not the customer waiting in another bridge')
  const call = findAgentCall(around101, 'PJSIP', '101')
  t.equal(call?.agent.name, 'PJSIP/101-00000001')
  t.equal(call?.peer?.name, 'PJSIP/103-00000002')
  t.equal(findAgentCall(registry.snapshot(), 'PJSIP', '101')?.peer?.name, 'PJSIP/103-00000002')
  t.same(registry.snapshotOf('105'), { channels: [], bridges: [] })
})

t.test('lookups by extension do not depend on how many other channels exist', async (t) => {
  const registry = registryAfter(callTo101)
  const crowded = registryAfter(callTo101)
  const others: CallSnapshot = { channels: [], bridges: [] }
  for (let i = 0; i < 20_000; i++) {
    const id = `1795600000.${1000 + i}`
    others.channels.push({ id, name: `PJSIP/${2000 + i}-${i.toString(16).padStart(8, '0')}`, state: 'Up', callerNumber: '', connectedNumber: '', dialplan: { context: 'c', exten: 's' }, createdAt: '' })
    if (i % 2 === 1) others.bridges.push({ id: `bridge-${i}`, technology: 'simple_bridge', bridgeType: 'mixing', channelIds: [`1795600000.${999 + i}`, id] })
  }
  crowded.reset({ channels: [...registry.snapshot().channels, ...others.channels], bridges: [...registry.snapshot().bridges, ...others.bridges] })
  t.equal(crowded.channelCount, 20_002)
  t.same(crowded.callsOf('101'), registry.callsOf('101'))
  t.equal(crowded.snapshotOf('101').channels.length, 2)

  const time = (subject: CallRegistry): number => {
    const start = process.hrtime.bigint()
    for (let i = 0; i < 2000; i++) subject.callsOf('101')
    return Number(process.hrtime.bigint() - start)
  }
  time(registry)
  time(crowded)
  const ratio = Math.min(...[1, 2, 3].map(() => time(crowded) / time(registry)))
  // A scan of every channel would be thousands of times slower here; an index lookup is not.
  t.ok(ratio < 20, `callsOf with 20 000 other channels took ${ratio.toFixed(1)}x the time with none`)
})

t.test('callStatesOf: the states of the extension\'s calls, each once, through a consultation and its end', async (t) => {
  const registry = registryAfter(callTo101)
  t.same(registry.callStatesOf('101'), ['up'])
  applyAll(registry, parseTrace(atxfer101To103))
  t.same(registry.callStatesOf('101'), ['in_consultation'])
  t.same(registry.callStatesOf('103'), ['up'])
  applyAll(registry, parseTrace(atxferCompletedBy101HangingUp))
  t.same(registry.callStatesOf('101'), [], 'no call left')
  t.same(registry.callStatesOf('105'), [], 'an extension never seen')
})

t.test('an event on one of many calls through a shared endpoint (a trunk) changes only that call', async (t) => {
  const registry = new CallRegistry()
  const legs = (i: number): [string, string] => [`PJSIP/trunk-${(2 * i).toString(16).padStart(8, '0')}`, `PJSIP/${2000 + i}-${(2 * i + 1).toString(16).padStart(8, '0')}`]
  const event = (type: 'newChannel' | 'newState' | 'bridgeEnter', name: string, id: string, i: number): PbxEvent => {
    const ref = { channel: name, uniqueId: id, linkedId: `1795600000.${2 * i}` }
    if (type === 'newChannel') return { type, ...ref, exten: '', context: 'c', state: 'Ring' }
    if (type === 'newState') return { type, ...ref, state: 'Up' }
    return { type, ...ref, bridgeId: `bridge-${i}`, bridgeNumChannels: 2 }
  }
  for (let i = 0; i < 1000; i++) {
    const [trunk, agent] = legs(i)
    const ids = [`1795600000.${2 * i}`, `1795600000.${2 * i + 1}`] as const
    applyAll(registry, [event('newChannel', trunk, ids[0], i), event('newChannel', agent, ids[1], i), event('newState', trunk, ids[0], i),
      event('newState', agent, ids[1], i), event('bridgeEnter', trunk, ids[0], i), event('bridgeEnter', agent, ids[1], i)])
  }
  t.equal(registry.callsOf('trunk').length, 1000)
  t.same(registry.callStatesOf('trunk'), ['up'])
  const [trunk] = legs(500)
  const changes = registry.apply({ type: 'hold', channel: trunk, uniqueId: '1795600000.1000', linkedId: '1795600000.1000' })
  t.same(changes.map((change) => [change.uniqueId, change.call?.state]), [['1795600000.1000', 'on_hold']], 'only the held leg\'s own call is reported, no other call of the trunk')
  t.same(registry.callStatesOf('trunk').sort(), ['on_hold', 'up'])
  const hangup = registry.apply({ type: 'hangup', channel: trunk, uniqueId: '1795600000.1000', linkedId: '1795600000.1000', cause: '16' })
  t.same(hangup.map((change) => [change.extension, change.call?.peer]), [['trunk', undefined], ['2500', undefined]], 'the ended trunk leg and its agent, who lost the peer')
  t.equal(registry.callsOf('trunk').length, 999)
})

t.test('the calls handed out are frozen: a reader cannot change what the next reader sees', async (t) => {
  const registry = registryAfter(callTo101)
  const [call] = registry.callsOf('101')
  t.ok(Object.isFrozen(call))
  t.ok(Object.isFrozen(call?.peer))
})

t.test('an event that leaves a call as it was hands out the same call object, and one that changes it a new one', async (t) => {
  const registry = registryAfter(callTo101)
  const [call] = registry.callsOf('101')
  const agent = call?.channel ?? ''
  const uniqueId = call?.uniqueId ?? ''
  const linkedId = call?.linkedId ?? ''
  // Up again, and the bridge the call is already in: nothing to report, nothing copied.
  t.same(registry.apply({ type: 'newState', channel: agent, uniqueId, linkedId, state: 'Up' }), [])
  t.equal(registry.callsOf('101')[0], call)
  const [held] = registry.apply({ type: 'hold', channel: agent, uniqueId, linkedId })
  t.not(held?.call, call)
  t.equal(held?.call?.state, 'on_hold')
  t.equal(held?.call?.peer, call?.peer, 'the unchanged peer is shared')
  t.same(registry.callStatesOf('101'), ['on_hold'])
  const [unheld] = registry.apply({ type: 'unhold', channel: agent, uniqueId, linkedId })
  t.same(unheld?.call, call)
  t.same(registry.callStatesOf('101'), ['up'])
})
