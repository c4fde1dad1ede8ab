// What a call center's records need from a transfer, on the real Asterisk 22 test bed: the record's ids
// are Asterisk's own for the same call (its AMI events), a call recorded on the agent's leg stays
// recorded once the agent left (the customer's file keeps growing on the PBX), and the target's channel
// shows the customer's caller ID as its connected line. Blind and attended, direct and through the
// support queue, whose member 106 is dialed through Local/106@from-internal/n.
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { field, withAmi, type AmiConnection, type AmiMessage } from '../helpers/asterisk/ami.js'
import { listBridges, listChannels } from '../helpers/asterisk/ari.js'
import { bridgePeersOf, callAgent, channelExists, hangupAllCalls, setAgentMedia, waitFor, type CustomerCall } from '../helpers/asterisk/calls.js'
import { asteriskRoot, farm, pbx, transferContext } from '../helpers/asterisk/testbed.js'
import { connectFeed } from '../helpers/feed-client.js'
import { startTransferHost } from '../helpers/transfer-host.js'
import type { Transfer } from '../../src/index.js'
import { AmiClient } from '../../src/asterisk/ami-client.js'
import { AriClient } from '../../src/asterisk/ari-client.js'
import { AsteriskPbx } from '../../src/asterisk/pbx.js'
import { silentLogger } from '../../src/support/logger.js'
import { systemClock } from '../../src/support/clock.js'
import { ConnectedLineKeeper } from '../../src/transfers/connected-line.js'

/** Asterisk's monitor spool on the test PBX (astspooldir in its asterisk.conf), inside the chroot. */
const MONITOR_DIR = '/var/spool/asterisk/monitor'

const host = await startTransferHost({
  followRecordings: true,
  destinations: { support: { kind: 'queue', context: transferContext, exten: 'support', label: 'Support' } }
})
t.teardown(host.close)
await hangupAllCalls()
// Audio both ways: a recording grows only while frames pass.
await setAgentMedia(true)
t.teardown(async () => { await setAgentMedia(false) })
t.afterEach(async () => { await hangupAllCalls() })

const isLegOf = (extension: string) => (name: string): boolean => name.startsWith(`PJSIP/${extension}-`)

/** Every channel Asterisk announced while `run` ran: name -> its uniqueid and linkedid, from AMI Newchannel. */
async function channelIdsDuring<T> (run: (ami: AmiConnection) => Promise<T>): Promise<{ result: T, ids: Map<string, { uniqueId: string, linkedId: string }> }> {
  return await withAmi(pbx.ami, async (ami) => {
    const ids = new Map<string, { uniqueId: string, linkedId: string }>()
    const stop = ami.onEvent((event: AmiMessage) => {
      if (field(event, 'event')?.toLowerCase() !== 'newchannel') return
      ids.set(field(event, 'channel') ?? '', { uniqueId: field(event, 'uniqueid') ?? '', linkedId: field(event, 'linkedid') ?? '' })
    })
    try {
      return { result: await run(ami), ids }
    } finally {
      stop()
    }
  }, { events: true })
}

const getvar = async (ami: AmiConnection, channel: string, variable: string): Promise<string> =>
  field(await ami.action({ Action: 'Getvar', Channel: channel, Variable: variable }), 'value') ?? ''

const sizeOnPbx = (file: string): number => statSync(join(asteriskRoot, file)).size

const transferOf = async (id: string): Promise<Transfer> => (await host.as('super', { method: 'GET', url: `/api/transfers/${id}` })).json()

const waitForStatus = async (id: string, status: string, timeoutMs = 10_000): Promise<Transfer> =>
  await waitFor(async () => { const transfer = await transferOf(id); return transfer.status === status && transfer }, timeoutMs, `transfer ${id} ${status}`)

const execute = async (who: string, body: Record<string, unknown>): Promise<Transfer> => {
  const response = await host.as(who, { method: 'POST', url: '/api/transfers/execute', payload: body })
  if (response.statusCode !== 200) throw new Error(`execute answered ${response.statusCode}: ${response.body}`)
  return response.json()
}

/** Starts MixMonitor on the agent's leg as a dialplan or a queue would; its file as Asterisk names it. */
async function recordAgentLeg (ami: AmiConnection, channel: string, name: string): Promise<string> {
  await ami.action({ Action: 'MixMonitor', Channel: channel, File: `${name}-${Date.now()}.wav` })
  const file = await getvar(ami, channel, 'MIXMONITOR_FILENAME')
  // The plugin learns it from the MixMonitorStart event: give it the time to arrive.
  await sleep(300)
  return file
}

/** The agent's file stopped with its leg; the customer's keeps growing with the target. */
async function checkRecordingsFollow (t: Test, transfer: Transfer, agentFile: string, agentChannelId: string): Promise<void> {
  t.ok(agentFile.startsWith(`${MONITOR_DIR}/`), `Asterisk names the agent's file in its monitor spool: ${agentFile}`)
  t.equal(transfer.recordings?.[0], agentFile, `the agent's file first, as Asterisk names it: ${JSON.stringify(transfer.recordings)}`)
  const customerFile = transfer.recordings?.[1]
  t.ok(customerFile !== undefined && customerFile.startsWith(agentFile.replace(/\.wav$/, '')), `the customer's file is named after the agent's: ${String(customerFile)}`)
  if (customerFile === undefined) return
  await waitFor(async () => !(await channelExists(agentChannelId)), 5000, 'the agent\'s leg gone')
  await sleep(500)
  const agentSize = sizeOnPbx(agentFile)
  const customerBefore = sizeOnPbx(customerFile)
  // Asterisk writes a recording in blocks of 32 KiB (2 s of 8 kHz 16-bit audio): two more blocks hold a
  // block at least of audio recorded after the agent left, whatever was buffered before.
  const customerAfter = await waitFor(() => { const size = sizeOnPbx(customerFile); return size >= customerBefore + 2 * 32768 && size }, 10_000,
    `the customer's file growing past ${customerBefore + 2 * 32768} bytes`).catch(() => sizeOnPbx(customerFile))
  t.ok(customerAfter >= customerBefore + 2 * 32768, `the customer's file grew while they talked with the target: ${customerBefore} -> ${customerAfter} bytes`)
  t.equal(sizeOnPbx(agentFile), agentSize, `the agent's file (${agentSize} bytes) no longer grew once the agent left`)
}

/** The customer's caller ID (on their own channel) is the target channel's connected line. */
async function checkTargetSeesCustomer (t: Test, ami: AmiConnection, customerChannel: string, targetExtension: string): Promise<void> {
  const customerNumber = await getvar(ami, customerChannel, 'CALLERID(num)')
  t.not(customerNumber, '', 'the customer has a number')
  const targetLeg = (await listChannels()).find((channel) => isLegOf(targetExtension)(channel.name))
  t.ok(targetLeg, `${targetExtension}'s leg is up`)
  if (targetLeg === undefined) return
  const shown = await waitFor(async () => {
    const number = await getvar(ami, targetLeg.name, 'CONNECTEDLINE(num)')
    return number === customerNumber && number
  }, 3000, `${targetExtension} showing ${customerNumber}`).catch(async () => await getvar(ami, targetLeg.name, 'CONNECTEDLINE(num)'))
  t.equal(shown, customerNumber, `${targetLeg.name} shows the customer's number as its connected line`)
  // Whether Asterisk did it by itself (0) or the plugin had to (README: "The target sees the customer").
  await sleep(800)
  t.comment(`connected line set by the plugin (Setvar CONNECTEDLINE) so far: ${host.proxy.written().split(/\r?\n\r?\n/).filter((block) => /action: setvar/i.test(block) && /CONNECTEDLINE\(num\)/.test(block)).length}`)
  // What the console shows the target: their call's peer number (the agent channel's connected line).
  const calls = await waitFor(async () => {
    const listed = (await host.as(targetExtension, { method: 'GET', url: '/api/calls' })).json().calls as Array<{ peer?: { number: string } }>
    return listed.some((call) => call.peer?.number === customerNumber) && listed
  }, 3000, `the plugin's calls of ${targetExtension} naming the customer`).catch(() => [])
  t.ok(calls.length > 0, `GET /calls (the console) shows ${targetExtension} with ${customerNumber}`)
}

/** The record's ids equal Asterisk's for the same channels; the linkedid is the customer's uniqueid. */
function checkIds (t: Test, transfer: Transfer, ids: Map<string, { uniqueId: string, linkedId: string }>, customer: CustomerCall['customerChannel']): void {
  const customerIds = ids.get(customer.name)
  t.ok(customerIds, 'Asterisk announced the customer\'s channel')
  t.equal(transfer.linkedId, customerIds?.linkedId, `the record's linkedid is Asterisk's (${String(customerIds?.linkedId)})`)
  t.equal(transfer.linkedId, customer.id, 'which is the customer\'s uniqueid')
  for (const role of ['agent', 'peer', 'consultation', 'target'] as const) {
    const channel = transfer.channels[role]
    if (channel === undefined) continue
    t.equal(transfer.uniqueIds?.[role], ids.get(channel)?.uniqueId, `${role} ${channel}: uniqueid ${String(transfer.uniqueIds?.[role])}`)
  }
  t.ok(transfer.uniqueIds?.target !== undefined, 'the target\'s uniqueid is known')
  t.equal(transfer.server, 'default')
}

t.test('blind, direct: ids as Asterisk gives them, the recording follows the customer, 102 sees the customer', async (t) => {
  const { result: { call, done, agentFile }, ids } = await channelIdsDuring(async (ami) => {
    const call = await callAgent('101', 'customer1', { media: true })
    const agentFile = await recordAgentLeg(ami, call.agentChannel.name, 'blind')
    const transfer = await execute('101', { targetExtension: '102', transferType: 'blind' })
    const done = await waitForStatus(transfer.id, 'answered')
    await waitFor(async () => (await bridgePeersOf(call.customerChannel.id)).some(isLegOf('102')), 5000, 'the customer with 102')
    await checkTargetSeesCustomer(t, ami, call.customerChannel.name, '102')
    return { call, done, agentFile }
  })
  checkIds(t, done, ids, call.customerChannel)
  const feedRecord = await transferOf(done.id)
  await checkRecordingsFollow(t, feedRecord, agentFile, call.agentChannel.id)
})

t.test('attended, direct: ids with the consultation\'s, the recording follows at completion, 103 sees the customer', async (t) => {
  const { result: { call, done, agentFile }, ids } = await channelIdsDuring(async (ami) => {
    const call = await callAgent('101', 'customer1', { media: true })
    const agentFile = await recordAgentLeg(ami, call.agentChannel.name, 'attended')
    const transfer = await execute('101', { targetExtension: '103', transferType: 'attended' })
    await waitForStatus(transfer.id, 'target_answered')
    const completed = await host.as('101', { method: 'POST', url: `/api/transfers/${transfer.id}/complete` })
    t.equal(completed.json().status, 'completed', completed.body)
    await waitFor(async () => (await bridgePeersOf(call.customerChannel.id)).some(isLegOf('103')), 5000, 'the customer with 103')
    await checkTargetSeesCustomer(t, ami, call.customerChannel.name, '103')
    return { call, done: await transferOf(transfer.id), agentFile }
  })
  checkIds(t, done, ids, call.customerChannel)
  t.ok(done.uniqueIds?.consultation !== undefined, 'the consultation\'s uniqueid is known')
  await checkRecordingsFollow(t, done, agentFile, call.agentChannel.id)
})

t.test('blind made on the agent\'s phone (Asterisk\'s BlindTransfer): the recording follows the customer too', async (t) => {
  const feed = await connectFeed(host.baseUrl, 'token-101')
  t.teardown(feed.close)
  const { call, agentFile, id } = await withAmi(pbx.ami, async (ami) => {
    const call = await callAgent('101', 'customer1', { media: true })
    const agentFile = await recordAgentLeg(ami, call.agentChannel.name, 'phone-blind')
    await ami.action({ Action: 'BlindTransfer', Channel: call.agentChannel.name, Exten: '102', Context: transferContext })
    const seen = await feed.waitFor('the phone\'s transfer', (event) => (event.data as { origin?: string }).origin === 'phone')
    return { call, agentFile, id: (seen.data as Transfer).id }
  })
  await waitFor(async () => (await bridgePeersOf(call.customerChannel.id)).some(isLegOf('102')), 5000, 'the customer with 102')
  const done = await waitForStatus(id, 'answered')
  t.match(done, { origin: 'phone', type: 'blind', linkedId: call.customerChannel.id, uniqueIds: { peer: call.customerChannel.id } })
  await checkRecordingsFollow(t, done, agentFile, call.agentChannel.id)
})

/** A customer calls the support queue; 106 answers through Local/106@from-internal/n. */
async function callSupportQueue (): Promise<CustomerCall> {
  const before = new Set((await listChannels()).map((channel) => channel.id))
  await withAmi(farm.ami, async (ami) => {
    await ami.action({ Action: 'Originate', Channel: 'PJSIP/support@customer2', Application: 'Milliwatt', Timeout: 10_000, Async: 'true' })
  })
  return await waitFor(async () => {
    const [channels, bridges] = await Promise.all([listChannels(), listBridges()])
    const fresh = channels.filter((channel) => !before.has(channel.id) && channel.state === 'Up')
    const customer = fresh.find((channel) => channel.name.startsWith('PJSIP/customer2-'))
    const agent = fresh.find((channel) => isLegOf('106')(channel.name))
    const bridge = agent === undefined ? undefined : bridges.find((candidate) => candidate.channels.includes(agent.id))
    if (customer === undefined || agent === undefined || bridge === undefined) return undefined
    return (await bridgePeersOf(customer.id)).includes(agent.name) && { customerChannel: { id: customer.id, name: customer.name }, agentChannel: { id: agent.id, name: agent.name }, bridgeId: bridge.id }
  }, 10_000, 'the support queue\'s call answered by 106 through Local')
}

t.test('attended from a queue member behind Local: linkedid is the customer\'s, the recording follows, 103 sees the customer', async (t) => {
  const { result: { call, done, agentFile }, ids } = await channelIdsDuring(async (ami) => {
    const call = await callSupportQueue()
    const agentFile = await recordAgentLeg(ami, call.agentChannel.name, 'queue-attended')
    const transfer = await execute('106', { targetExtension: '103', transferType: 'attended' })
    t.equal(transfer.channels.peer, call.customerChannel.name, 'the customer behind the member\'s Local pair is the peer')
    await waitForStatus(transfer.id, 'target_answered')
    const completed = await host.as('106', { method: 'POST', url: `/api/transfers/${transfer.id}/complete` })
    t.equal(completed.json().status, 'completed', completed.body)
    await waitFor(async () => (await bridgePeersOf(call.customerChannel.id)).some(isLegOf('103')), 5000, 'the customer with 103')
    await checkTargetSeesCustomer(t, ami, call.customerChannel.name, '103')
    return { call, done: await transferOf(transfer.id), agentFile }
  })
  checkIds(t, done, ids, call.customerChannel)
  await checkRecordingsFollow(t, done, agentFile, call.agentChannel.id)
})

t.test('blind into the support queue (member behind Local): ids, and 106 sees the customer', async (t) => {
  const { result: { call, done }, ids } = await channelIdsDuring(async (ami) => {
    const call = await callAgent('101', 'customer1', { media: true })
    const transfer = await execute('101', { targetExtension: 'support', transferType: 'blind' })
    await waitFor(async () => (await bridgePeersOf(call.customerChannel.id)).some(isLegOf('106')), 10_000, 'the customer with 106')
    await checkTargetSeesCustomer(t, ami, call.customerChannel.name, '106')
    return { call, done: await waitForStatus(transfer.id, 'answered') }
  })
  checkIds(t, done, ids, call.customerChannel)
  t.match(done.channels.target, /^PJSIP\/106-/, 'the target is the member\'s phone behind the Local pair')
  t.equal(done.recordings, undefined, 'a call nobody records lists no recording')
})

// Asterisk set the customer's number by itself in every case above; where it would not, the plugin
// sets it. Proven here on a target that still shows the agent: 103 during the consultation.
t.test('where the target shows another number, the plugin sets the customer\'s as its connected line', async (t) => {
  const reconnect = { initialDelayMs: 100, maxDelayMs: 500 }
  const ami = new AmiClient({ ...pbx.ami, actionTimeoutMs: 5000, reconnect, pingIntervalMs: 0 })
  const ari = new AriClient({ ...pbx.ari, requestTimeoutMs: 5000, reconnect })
  t.teardown(async () => { ari.close(); await ami.close() })
  await ami.start()
  const keeper = new ConnectedLineKeeper(new AsteriskPbx(ami, ari), systemClock, silentLogger)
  await withAmi(pbx.ami, async (test) => {
    const call = await callAgent('101', 'customer1', { media: true })
    const transfer = await execute('101', { targetExtension: '103', transferType: 'attended' })
    const consulting = await waitForStatus(transfer.id, 'target_answered')
    const target = consulting.channels.target ?? ''
    const customerNumber = await getvar(test, call.customerChannel.name, 'CALLERID(num)')
    const before = await getvar(test, target, 'CONNECTEDLINE(num)')
    t.not(before, customerNumber, `${target} shows the agent during the consultation (${before})`)
    t.equal(await keeper.showCustomer(consulting), true, 'the plugin set it')
    t.equal(await getvar(test, target, 'CONNECTEDLINE(num)'), customerNumber, `${target} now shows the customer`)
    t.equal(await getvar(test, target, 'CONNECTEDLINE(name)'), consulting.caller?.name, 'and their name')
  })
})
