import t from 'tap'
import type { PbxBridge, PbxChannel } from '../../src/asterisk/ari-client.js'
import type { CallSnapshot } from '../../src/asterisk/pbx.js'
import { callerOf, findAgentCall } from '../../src/transfers/call-topology.js'

let nextId = 0

/** A channel as the ARI adapter maps it, Up and with a fresh id unless overridden. */
function channel (name: string, overrides: Partial<PbxChannel> = {}): PbxChannel {
  return {
    id: `id-${++nextId}`,
    name,
    state: 'Up',
    callerNumber: '',
    connectedNumber: '',
    dialplan: { context: 'from-internal', exten: '' },
    createdAt: '2024-04-01T10:00:00.000+0000',
    ...overrides
  }
}

function bridge (id: string, ...members: PbxChannel[]): PbxBridge {
  return { id, technology: 'simple_bridge', bridgeType: 'mixing', channelIds: members.map((member) => member.id) }
}

function snapshot (channels: PbxChannel[], bridges: PbxBridge[] = []): CallSnapshot {
  return { channels, bridges }
}

const find = (s: CallSnapshot, extension = '101'): ReturnType<typeof findAgentCall> => findAgentCall(s, 'PJSIP', extension)

t.test('no channel of the agent: undefined', async (t) => {
  t.equal(find(snapshot([])), undefined)
  const other = channel('PJSIP/102-00000001')
  const customer = channel('PJSIP/trunk-00000002')
  t.equal(find(snapshot([other, customer], [bridge('b1', other, customer)])), undefined)
})

t.test('a channel of another technology is not the agent\'s', async (t) => {
  const sip = channel('SIP/101-00000001')
  const customer = channel('PJSIP/trunk-00000002')
  t.equal(find(snapshot([sip, customer], [bridge('b1', sip, customer)])), undefined)
})

t.test('direct two-party bridge: the peer is the other channel', async (t) => {
  const agent = channel('PJSIP/101-0000002a')
  const customer = channel('PJSIP/trunk-00000029')
  const call = find(snapshot([customer, agent], [bridge('b1', customer, agent)]))
  t.equal(call?.agent.name, 'PJSIP/101-0000002a')
  t.equal(call?.peer?.name, 'PJSIP/trunk-00000029')
  t.equal(call?.bridgeId, 'b1')
  t.equal(call?.noPeerReason, undefined)
})

t.test('agent channel not bridged: no peer, and says why', async (t) => {
  const agent = channel('PJSIP/101-0000002a', { state: 'Ringing' })
  const call = find(snapshot([agent]))
  t.equal(call?.agent.name, 'PJSIP/101-0000002a')
  t.equal(call?.peer, undefined)
  t.equal(call?.bridgeId, undefined)
  t.match(call?.noPeerReason, /not bridged/)
})

t.test('agent alone in a bridge: no peer', async (t) => {
  const agent = channel('PJSIP/101-0000002a')
  const call = find(snapshot([agent], [bridge('b1', agent)]))
  t.equal(call?.bridgeId, 'b1')
  t.equal(call?.peer, undefined)
  t.match(call?.noPeerReason, /no other party/)
})

t.test('three parties in one bridge: no single peer, the reason counts them', async (t) => {
  const agent = channel('PJSIP/101-0000002a')
  const customer = channel('PJSIP/trunk-00000029')
  const supervisor = channel('PJSIP/200-0000002b')
  const call = find(snapshot([agent, customer, supervisor], [bridge('conf', agent, customer, supervisor)]))
  t.equal(call?.bridgeId, 'conf')
  t.equal(call?.peer, undefined)
  t.match(call?.noPeerReason, /3 parties/)
})

t.test('the bridge names a channel that is not in the snapshot: no peer', async (t) => {
  const agent = channel('PJSIP/101-0000002a')
  const ghost = channel('PJSIP/trunk-00000029')
  const call = find(snapshot([agent], [bridge('b1', agent, ghost)]))
  t.equal(call?.peer, undefined)
  t.match(call?.noPeerReason, /vanished/)
})

t.test('customer <-> Local;1 and Local;2 <-> agent: the peer is the customer', async (t) => {
  const customer = channel('PJSIP/trunk-00000029')
  const local1 = channel('Local/101@from-queue-00000001;1')
  const local2 = channel('Local/101@from-queue-00000001;2')
  const agent = channel('PJSIP/101-0000002a')
  const call = find(snapshot([customer, local1, local2, agent], [bridge('outer', customer, local1), bridge('inner', local2, agent)]))
  t.equal(call?.peer?.name, 'PJSIP/trunk-00000029')
  t.equal(call?.bridgeId, 'inner', 'the bridge is the agent\'s own')
})

t.test('the far half of the Local channel is missing: no peer, names the channel', async (t) => {
  const local2 = channel('Local/101@from-queue-00000001;2')
  const agent = channel('PJSIP/101-0000002a')
  const call = find(snapshot([local2, agent], [bridge('inner', local2, agent)]))
  t.equal(call?.peer, undefined)
  t.match(call?.noPeerReason, /Local\/101@from-queue-00000001;2/)
})

t.test('the far half of the Local channel is not bridged (queue still ringing): no peer', async (t) => {
  const local1 = channel('Local/101@from-queue-00000001;1', { state: 'Ringing' })
  const local2 = channel('Local/101@from-queue-00000001;2')
  const agent = channel('PJSIP/101-0000002a')
  const call = find(snapshot([local1, local2, agent], [bridge('inner', local2, agent)]))
  t.equal(call?.peer, undefined)
  t.match(call?.noPeerReason, /not bridged/)
})

/** agent <-> L1;2, L1;1 <-> L2;2, ..., Ln;1 <-> customer */
function localChain (pairs: number): CallSnapshot {
  const agent = channel('PJSIP/101-0000002a')
  const customer = channel('PJSIP/trunk-00000029')
  const channels = [agent, customer]
  const bridges: PbxBridge[] = []
  let near = agent
  for (let i = 1; i <= pairs; i++) {
    const half1 = channel(`Local/hop${i}@chain-0000000${i};1`)
    const half2 = channel(`Local/hop${i}@chain-0000000${i};2`)
    channels.push(half1, half2)
    bridges.push(bridge(`b${i}`, near, half2))
    near = half1
  }
  bridges.push(bridge('last', near, customer))
  return snapshot(channels, bridges)
}

t.test('four chained Local pairs are followed to the customer', async (t) => {
  t.equal(find(localChain(4))?.peer?.name, 'PJSIP/trunk-00000029')
})

t.test('five chained Local pairs are treated as a loop', async (t) => {
  const call = find(localChain(5))
  t.equal(call?.peer, undefined)
  t.match(call?.noPeerReason, /too many Local/)
})

t.test('several channels of the agent: the bridged one wins over a newer ringing one', async (t) => {
  const customer = channel('PJSIP/trunk-00000029')
  const talking = channel('PJSIP/101-0000002a', { createdAt: '2024-04-01T10:00:00.000+0000' })
  const ringing = channel('PJSIP/101-0000002c', { state: 'Ringing', createdAt: '2024-04-01T10:05:00.000+0000' })
  for (const order of [[ringing, talking, customer], [talking, ringing, customer]]) {
    const call = find(snapshot(order, [bridge('b1', customer, talking)]))
    t.equal(call?.agent.name, 'PJSIP/101-0000002a')
    t.equal(call?.peer?.name, 'PJSIP/trunk-00000029')
  }
})

t.test('several unbridged channels of the agent: the Up one wins over a newer ringing one', async (t) => {
  const up = channel('PJSIP/101-0000002a', { state: 'Up', createdAt: '2024-04-01T10:00:00.000+0000' })
  const ringing = channel('PJSIP/101-0000002c', { state: 'Ringing', createdAt: '2024-04-01T10:05:00.000+0000' })
  t.equal(find(snapshot([ringing, up]))?.agent.name, 'PJSIP/101-0000002a')
  t.equal(find(snapshot([up, ringing]))?.agent.name, 'PJSIP/101-0000002a')
})

t.test('equally ranked channels of the agent: the newest wins', async (t) => {
  const older = channel('PJSIP/101-0000002a', { state: 'Ringing', createdAt: '2024-04-01T10:00:00.000+0000' })
  const newer = channel('PJSIP/101-0000002c', { state: 'Ringing', createdAt: '2024-04-01T10:05:00.000+0000' })
  t.equal(find(snapshot([older, newer]))?.agent.name, 'PJSIP/101-0000002c')
  t.equal(find(snapshot([newer, older]))?.agent.name, 'PJSIP/101-0000002c')
})

t.test('endpoints 101 and 1011 are not confused', async (t) => {
  const agent101 = channel('PJSIP/101-0000002a', { state: 'Ringing' })
  const agent1011 = channel('PJSIP/1011-0000002b')
  const customer = channel('PJSIP/trunk-00000029')
  const s = snapshot([agent1011, agent101, customer], [bridge('b1', agent1011, customer)])

  const call101 = find(s, '101')
  t.equal(call101?.agent.name, 'PJSIP/101-0000002a', 'the bridged 1011 leg is not taken for 101')
  t.equal(call101?.peer, undefined)

  const call1011 = find(s, '1011')
  t.equal(call1011?.agent.name, 'PJSIP/1011-0000002b')
  t.equal(call1011?.peer?.name, 'PJSIP/trunk-00000029')

  t.equal(find(s, '10'), undefined)
})

t.test('the caller for the target: the agent\'s connected line, else the peer\'s caller id, else none', async (t) => {
  const customer = channel('PJSIP/customer1-00000001', { callerNumber: '+15550000001', callerName: 'Customer 1' })
  t.same(callerOf(channel('PJSIP/101-00000002', { connectedNumber: '+15550000009', connectedName: 'Front desk' }), customer),
    { number: '+15550000009', name: 'Front desk' }, 'the connected line follows answers and transfers')
  t.same(callerOf(channel('PJSIP/101-00000002', { connectedNumber: '+15550000009', connectedName: '' }), customer),
    { number: '+15550000009' }, 'no name when Asterisk has none')
  t.same(callerOf(channel('PJSIP/101-00000002'), customer), { number: '+15550000001', name: 'Customer 1' })
  t.equal(callerOf(channel('PJSIP/101-00000002'), channel('PJSIP/customer1-00000001')), undefined, 'nothing known: no caller')
})
