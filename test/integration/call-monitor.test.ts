// The call monitor on the real Asterisk 22 test bed: customers call agents (real PJSIP channels), the
// agents transfer and hang up, the monitor's AMI connection is cut and restored, and what the monitor
// says is checked against the PBX's own view (ARI).
import t from 'tap'
import Value from 'typebox/value'
import { AmiClient } from '../../src/asterisk/ami-client.js'
import { AriClient } from '../../src/asterisk/ari-client.js'
import { AsteriskPbx } from '../../src/asterisk/pbx.js'
import { CallMonitor, type AgentCalls } from '../../src/calls/call-monitor.js'
import { CallStatus, type Call } from '../../src/domain/feed-events.js'
import { findAgentCall } from '../../src/transfers/call-topology.js'
import { TransferService } from '../../src/transfers/transfer-service.js'
import { listBridges, listChannels } from '../helpers/asterisk/ari.js'
import { bridgePeersOf, callAgent, hangup, hangupAllCalls, waitFor } from '../helpers/asterisk/calls.js'
import { pbx as testbed, transferContext } from '../helpers/asterisk/testbed.js'
import { startTcpProxy } from '../helpers/tcp-proxy.js'

const reconnect = { initialDelayMs: 100, maxDelayMs: 500 }
const amiClient = (port: number): AmiClient =>
  new AmiClient({ ...testbed.ami, port, actionTimeoutMs: 5000, reconnect, pingIntervalMs: 0 })

// The monitor's connections: AMI through the proxy the last test cuts, ARI direct.
const proxy = await startTcpProxy(testbed.ami)
const ami = amiClient(proxy.port)
const ari = new AriClient({ ...testbed.ari, requestTimeoutMs: 5000, reconnect })
await Promise.all([ami.start(), ari.start()])
const pbx = new AsteriskPbx(ami, ari)
// The test's own AMI connection, to act on calls as an agent's tools would.
const actions = amiClient(testbed.ami.port)
await actions.start()

// Calls left over by an earlier run on the shared test bed would be found by the monitor too.
await hangupAllCalls()
const monitor = new CallMonitor(pbx)
const statuses: CallStatus[] = []
const agentCalls: AgentCalls[] = []
monitor.on('call:status', (status) => statuses.push(status))
monitor.on('agent:calls', (entry) => agentCalls.push(entry))
await monitor.start()

t.teardown(async () => {
  monitor.stop()
  ari.close()
  await Promise.all([ami.close(), actions.close()])
  await proxy.close()
})
t.beforeEach(() => {
  statuses.length = 0
  agentCalls.length = 0
})
t.afterEach(async () => { await hangupAllCalls() })

const isLegOf = (extension: string) => (name: string | undefined): boolean => name?.startsWith(`PJSIP/${extension}-`) === true

/** The extension's call that satisfies `check`, once there is one. */
async function callOf (extension: string, check: (call: Call) => boolean, what: string): Promise<Call> {
  return await waitFor(() => monitor.callsOf(extension).find(check), 10_000, `${extension}'s call ${what}`)
    .catch((error: Error) => { throw new Error(`${error.message}; monitor: ${JSON.stringify(monitor.callsOf(extension))}`) })
}

/** Channels and bridge memberships as the monitor has them and as ARI reports them, in one comparable form. */
async function compareWithAri (): Promise<{ monitor: string[], ari: string[] }> {
  const [channels, bridges] = await Promise.all([listChannels(), listBridges()])
  const describe = (ids: Array<{ id: string, name: string }>, bridgeIds: Array<{ id: string, members: string[] }>): string[] => [
    ...ids.map((channel) => `channel ${channel.id} ${channel.name}`),
    ...bridgeIds.filter((bridge) => bridge.members.length > 0).map((bridge) => `bridge ${bridge.id} [${[...bridge.members].sort().join(' ')}]`)
  ].sort()
  const own = monitor.snapshot()
  return {
    monitor: describe(own.channels, own.bridges.map((bridge) => ({ id: bridge.id, members: bridge.channelIds }))),
    ari: describe(channels, bridges.map((bridge) => ({ id: bridge.id, members: bridge.channels })))
  }
}

async function waitUntilMatchesAri (what: string): Promise<void> {
  let last = { monitor: [] as string[], ari: [] as string[] }
  await waitFor(async () => {
    last = await compareWithAri()
    return JSON.stringify(last.monitor) === JSON.stringify(last.ari)
  }, 10_000, `the monitor to match ARI ${what}`).catch((error: Error) => {
    throw new Error(`${error.message}\nmonitor: ${last.monitor.join('\n  ')}\nARI: ${last.ari.join('\n  ')}`)
  })
}

t.test('a customer call to 101 appears as ringing, then up with the customer as peer', async (t) => {
  const call = await callAgent('101')
  const up = await callOf('101', (c) => c.channel === call.agentChannel.name && c.state === 'up' && c.peer !== undefined, 'up and bridged')
  t.match(up, {
    extension: '101',
    channel: call.agentChannel.name,
    uniqueId: call.agentChannel.id,
    state: 'up',
    peer: { channel: call.customerChannel.name, number: '+15550000001' }
  })
  t.match(up.peer?.channel, /^PJSIP\/customer1-/)
  t.not(up.linkedId, '', 'the linkedid comes with the events')
  const seen = statuses.filter((status) => status.extension === '101').map((status) => status.call?.state)
  t.equal(seen[0], 'ringing', 'published while the agent leg was being dialed')
  t.equal(seen.at(-1), 'up')
  t.ok(statuses.every((status) => Value.Check(CallStatus, status)), 'every call:status matches the feed schema')
  t.same(agentCalls.filter((entry) => entry.extension === '101').at(-1)?.calls, [up])

  t.same(await bridgePeersOf(call.agentChannel.id), [up.peer?.channel], 'ARI agrees on the peer')
  t.equal(findAgentCall(monitor.snapshotOf('101'), 'PJSIP', '101')?.peer?.name, call.customerChannel.name,
    'findAgentCall answers from the monitor, without asking ARI')
  await waitUntilMatchesAri('with one call up')
})

t.test('a monitor started while a call is already up finds it in the snapshot', async (t) => {
  const call = await callAgent('102')
  const late = new CallMonitor(pbx)
  t.teardown(() => late.stop())
  await late.start()
  t.match(late.callsOf('102'), [{
    channel: call.agentChannel.name,
    uniqueId: call.agentChannel.id,
    state: 'up',
    peer: { channel: call.customerChannel.name, number: '+15550000001' }
  }])
  t.equal(late.callsOf('101').length, 0)
})

t.test('AMI Atxfer of 101 to 103: 101 in consultation with 103, then 103 with the customer once 101 hangs up', async (t) => {
  const call = await callAgent('101')
  await callOf('101', (c) => c.peer !== undefined, 'bridged')
  await actions.action({ Action: 'Atxfer', Channel: call.agentChannel.name, Exten: '103', Context: transferContext })

  const consulting = await callOf('101', (c) => c.state === 'in_consultation' && isLegOf('103')(c.peer?.channel), 'in consultation with 103')
  t.equal(consulting.peer?.number, '103')
  const target = await callOf('103', (c) => c.peer?.channel === call.agentChannel.name, "bridged with 101's consultation")
  t.equal(target.state, 'up')
  t.match(monitor.callsOf('customer1'), [{ state: 'up' }], 'the customer waits in its own bridge')
  t.ok(statuses.some((status) => status.extension === '101' && status.call?.state === 'on_hold'), 'the Hold came first')

  await hangup(call.agentChannel.id)
  const transferred = await callOf('103', (c) => c.peer?.channel === call.customerChannel.name && c.peer.number === '+15550000001', 'bridged with the customer')
  t.equal(transferred.uniqueId, target.uniqueId, "the same leg of 103's")
  t.same(monitor.callsOf('101'), [])
  t.ok(statuses.some((status) => status.extension === '101' && status.ended), '101 ended')
  await waitUntilMatchesAri('after the transfer')
})

t.test('a hangup removes the call and publishes ended: true', async (t) => {
  const call = await callAgent('101')
  await callOf('101', (c) => c.peer !== undefined, 'bridged')
  await hangup(call.customerChannel.id)
  await waitFor(() => monitor.callsOf('101').length === 0, 10_000, "101's call gone")
  t.same(statuses.filter((status) => status.extension === '101').at(-1), { extension: '101', uniqueId: call.agentChannel.id, ended: true })
  t.same(agentCalls.filter((entry) => entry.extension === '101').at(-1), { extension: '101', calls: [] })
  await waitUntilMatchesAri('after the hangup')
  t.equal(monitor.channelCount, 0)
})

t.test("the transfer service finds an agent's call in the monitor's memory, never by listing the PBX", async (t) => {
  // The PBX as the service sees it, with its full listings counted.
  let listings = 0
  const snapshot = async (): ReturnType<AsteriskPbx['snapshot']> => { listings++; return await pbx.snapshot() }
  const counted = new Proxy(pbx, {
    get: (target, key) => {
      if (key === 'snapshot') return snapshot
      const value: unknown = Reflect.get(target, key, target)
      return typeof value === 'function' ? value.bind(target) : value
    }
  })
  const transfers = new TransferService(counted, { transferContext, channelTechnology: 'PJSIP', consultationTimeoutMs: 5000, calls: monitor })

  await t.rejects(transfers.getChannelForExtension('101'), { code: 'XFER_NO_ACTIVE_CHANNEL' }, 'no call: answered from memory')
  // Asked the moment the call is bridged on the PBX (the helper saw it through ARI): its events may
  // still be on their way to the monitor.
  const call = await callAgent('101')
  const found = await transfers.getChannelForExtension('101')
  t.equal(found.agentChannel, call.agentChannel.name)
  t.equal(found.peerChannel, call.customerChannel.name, 'the customer, as the bridge has it')
  t.equal(listings, 0, 'neither lookup listed the PBX')

  // While AMI is down the monitor has no events: ARI, the one source left, is listed.
  await proxy.cut({ refuse: true })
  await waitFor(() => !monitor.inSync, 5000, 'the monitor to notice AMI is gone')
  t.equal((await transfers.getChannelForExtension('101')).peerChannel, call.customerChannel.name, 'found while AMI is down')
  t.ok(listings >= 1, `listed while AMI was down (${listings})`)
  // Back: a lookup during the rebuild waits for it, and lists nothing of its own.
  listings = 0
  await proxy.restore()
  await waitFor(() => pbx.connectionState().ami, 10_000, 'AMI back')
  t.equal((await transfers.getChannelForExtension('101')).peerChannel, call.customerChannel.name, 'found after the reconnect')
  t.ok(monitor.inSync, 'from the rebuilt memory')
  t.equal(listings, 0, 'no listing of its own after the reconnect')
})

t.test('after the AMI connection is cut and restored the monitor rebuilds and matches ARI again', async (t) => {
  const before = await callAgent('101')
  await callOf('101', (c) => c.peer !== undefined, 'bridged')

  await proxy.cut({ refuse: true })
  await waitFor(() => !monitor.inSync && !pbx.connectionState().ami, 5000, 'the monitor to notice AMI is gone')
  // What happens now is not seen through AMI: 101's call ends, a new call reaches 102.
  await hangup(before.customerChannel.id)
  const during = await callAgent('102')
  t.equal(monitor.callsOf('101').length, 1, 'still the last known state: the hangup was not seen')
  t.same(monitor.callsOf('102'), [], 'the new call was not seen either')

  statuses.length = 0
  await proxy.restore()
  await waitFor(() => monitor.inSync, 10_000, 'the monitor to reconnect and rebuild')
  t.same(monitor.callsOf('101'), [], "101's call is gone after the rebuild")
  t.match(monitor.callsOf('102'), [{
    channel: during.agentChannel.name,
    state: 'up',
    peer: { channel: during.customerChannel.name, number: '+15550000001' }
  }], 'the call placed while AMI was down is found')
  t.ok(statuses.some((status) => status.extension === '101' && status.ended), '101 published as ended')
  t.ok(statuses.some((status) => status.extension === '102' && status.call?.state === 'up'), "102's call published")
  await waitUntilMatchesAri('after the rebuild')

  // Events flow again after the rebuild.
  await hangup(during.customerChannel.id)
  await waitFor(() => monitor.callsOf('102').length === 0, 10_000, "102's call gone, seen through AMI")
})
