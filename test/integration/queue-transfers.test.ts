// Transfers and queues on the real Asterisk 22 test bed: a customer transferred into a queue keeps their
// place (a destination's priority), and a transfer of a call that came through a queue is counted in
// the PBX's own queue_log, once.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { field, withAmi } from '../helpers/asterisk/ami.js'
import { listBridges, listChannels } from '../helpers/asterisk/ari.js'
import { bridgePeersOf, callAgent, callQueue, hangup, hangupAllCalls, waitFor } from '../helpers/asterisk/calls.js'
import { asteriskRoot, farm, pbx, transferContext } from '../helpers/asterisk/testbed.js'
import { startTransferHost } from '../helpers/transfer-host.js'

await hangupAllCalls()
t.afterEach(async () => { await hangupAllCalls() })

const host = await startTransferHost({
  queueLog: true,
  destinations: {
    // 650: an attended transfer's Atxfer dials the extension as DTMF, digits only.
    waiting: { kind: 'queue', context: transferContext, exten: '650', priority: 10 },
    'waiting-plain': { kind: 'queue', context: transferContext, exten: 'waiting', queue: 'waiting' }
  }
})
t.teardown(host.close)

const isLegOf = (extension: string) => (name: string): boolean => name.startsWith(`PJSIP/${extension}-`)

async function execute (who: string, body: Record<string, unknown>): Promise<any> {
  const response = await host.as(who, { method: 'POST', url: '/api/transfers/execute', payload: body })
  if (response.statusCode !== 200) throw new Error(`execute: ${response.statusCode} ${response.body}`)
  return response.json()
}

async function waitForStatus (id: string, status: string): Promise<any> {
  return await waitFor(async () => {
    const transfer = (await host.as('super', { method: 'GET', url: `/api/transfers/${id}` })).json()
    return transfer.status === status && transfer
  }, 10_000, `transfer ${id} ${status}`)
}

/** The farm's customer calls `exten` of the PBX's from-customers context and waits there (Wait). */
async function customerCalls (customer: string, exten: string): Promise<string> {
  const before = new Set((await listChannels()).map((channel) => channel.id))
  await withAmi(farm.ami, async (ami) => {
    await ami.action({ Action: 'Originate', Channel: `PJSIP/${exten}@${customer}`, Application: 'Wait', Data: '3600', Timeout: 10_000, Async: 'true' })
  })
  const channel = await waitFor(async () => (await listChannels()).find((candidate) =>
    !before.has(candidate.id) && candidate.name.startsWith(`PJSIP/${customer}-`) && candidate.state === 'Up'), 10_000, `${customer} calling ${exten}`)
  return channel.name
}

interface QueueEntry { channel: string, position: number, priority: number }

async function queueEntries (queue: string): Promise<QueueEntry[]> {
  return await withAmi(pbx.ami, async (ami) => {
    const { events } = await ami.list({ Action: 'QueueStatus', Queue: queue })
    return events.filter((event) => field(event, 'event') === 'QueueEntry').map((event) => ({
      channel: field(event, 'channel') ?? '',
      position: Number(field(event, 'position')),
      priority: Number(field(event, 'priority'))
    })).sort((a, b) => a.position - b.position)
  })
}

async function queueMember (action: 'QueueAdd' | 'QueueRemove' | 'QueuePause', fields: Record<string, string>): Promise<void> {
  await withAmi(pbx.ami, async (ami) => { await ami.action({ Action: action, Queue: 'waiting', Interface: 'PJSIP/103', ...fields }) })
}

/**
 * Two customers wait in queue `waiting`, whose one member (103) is paused; agent 101's customer is
 * transferred into it through `destination`, then the member is unpaused: the customer it answers.
 */
async function answeredFirstAfterTransferTo (t: Test, destination: string): Promise<{ transferred: string, waiting: string[], first: string, transfer: any }> {
  await queueMember('QueueAdd', { Paused: 'true' })
  t.teardown(async () => { await queueMember('QueueRemove', {}).catch(() => {}) })
  const waiting = [await customerCalls('customer2', 'waiting'), await customerCalls('customer3', 'waiting')]
  await waitFor(async () => (await queueEntries('waiting')).length === 2, 5000, 'two callers waiting')
  const call = await callAgent('101', 'customer1')
  const transfer = await execute('101', { targetExtension: destination, transferType: 'blind' })
  await waitFor(async () => (await queueEntries('waiting')).some((entry) => entry.channel === call.customerChannel.name), 5000, 'the transferred customer in the queue')
  const entries = await queueEntries('waiting')
  t.comment(`queue before the member is unpaused: ${JSON.stringify(entries)}`)
  await queueMember('QueuePause', { Paused: 'false' })
  const first = await waitFor(async () => {
    for (const customer of [call.customerChannel.name, ...waiting]) {
      if ((await bridgePeersOf(customer)).some(isLegOf('103'))) return customer
    }
    return undefined
  }, 10_000, 'a caller answered by 103')
  return { transferred: call.customerChannel.name, waiting, first, transfer }
}

t.test('a customer transferred into a queue with a priority is answered before two callers who waited longer', async (t) => {
  const { transferred, waiting, first, transfer } = await answeredFirstAfterTransferTo(t, 'waiting')
  t.match(transfer, { status: 'redirected', destination: 'waiting', queue: { name: 'waiting', priority: 10 } })
  t.equal(first, transferred, 'the transferred customer is answered first')
  t.same((await queueEntries('waiting')).map((entry) => entry.channel), waiting, 'the two others still wait, in their order')
})

t.test('the same without a priority: the transferred customer waits behind the two (the control)', async (t) => {
  const { waiting, first, transfer } = await answeredFirstAfterTransferTo(t, 'waiting-plain')
  t.same(transfer.queue, { name: 'waiting' })
  t.equal(first, waiting[0], 'the caller who came first is answered first')
})

t.test('an attended transfer into the queue: the consultation waiting there has the priority', async (t) => {
  await queueMember('QueueAdd', { Paused: 'true' })
  t.teardown(async () => { await queueMember('QueueRemove', {}).catch(() => {}) })
  await customerCalls('customer2', 'waiting')
  await callAgent('101', 'customer1')
  const transfer = await execute('101', { targetExtension: 'waiting', transferType: 'attended' })
  t.match(transfer, { status: 'consulting', queue: { name: 'waiting', priority: 10 } })
  const entries = await waitFor(async () => {
    const listed = await queueEntries('waiting')
    return listed.length === 2 && listed
  }, 5000, 'the consultation in the queue')
  t.match(entries[0], { channel: /^Local\/650@from-internal-.*;2$/, position: 1, priority: 10 }, JSON.stringify(entries))
})

/** The PBX's queue_log lines (epoch|callid|queue|agent|event|data…) of one call. */
function queueLogOf (callid: string): string[][] {
  const text = readFileSync(join(asteriskRoot, 'var/log/asterisk/queue_log'), 'utf8')
  return text.split('\n').map((line) => line.split('|')).filter((fields) => fields[1] === callid)
}

const transferLines = (callid: string): string[][] => queueLogOf(callid).filter((fields) => /TRANSFER$/.test(fields[4] ?? ''))

/** A customer calls queue `support`, whose member 106 is dialed through Local/106@from-internal/n. */
async function supportQueueCall (t: Test): Promise<{ customer: string, uniqueId: string }> {
  const customer = await customerCalls('customer1', 'support')
  // bridgePeersOf follows the member's Local pair to 106's own leg.
  await waitFor(async () => (await bridgePeersOf(customer)).some(isLegOf('106')), 10_000, 'the customer answered by 106 through Local')
  t.ok((await listChannels()).some((channel) => channel.name.startsWith('Local/106@from-internal-')), 'the member dialed through Local')
  const uniqueId = (await listChannels()).find((channel) => channel.name === customer)?.id ?? ''
  return { customer, uniqueId }
}

t.test('queueLog: a blind transfer of a queue call (member behind Local) adds one BLINDTRANSFER line in Asterisk\'s format', async (t) => {
  const { uniqueId } = await supportQueueCall(t)
  const connect = queueLogOf(uniqueId).find((fields) => fields[4] === 'CONNECT')
  t.ok(connect, 'Asterisk logged the queue call')
  await execute('106', { targetExtension: '102', transferType: 'blind' })
  const [line] = await waitFor(() => transferLines(uniqueId).length > 0 && transferLines(uniqueId), 5000, 'a transfer line')
  t.match(line, [/^\d+$/, uniqueId, 'support', connect?.[3] ?? 'Agent 106', 'BLINDTRANSFER', '102', transferContext, /^\d+$/, /^\d+$/, '1'])
  await new Promise((resolve) => setTimeout(resolve, 1500))
  t.equal(transferLines(uniqueId).length, 1, 'exactly one transfer line')
})

t.test('queueLog: an attended transfer of a queue call (member behind Local) adds one ATTENDEDTRANSFER line when completed', async (t) => {
  const { customer, uniqueId } = await supportQueueCall(t)
  const transfer = await execute('106', { targetExtension: '103', transferType: 'attended' })
  await waitForStatus(transfer.id, 'target_answered')
  t.same(transferLines(uniqueId), [], 'nothing while consulting')
  const completed = await host.as('106', { method: 'POST', url: `/api/transfers/${String(transfer.id)}/complete` })
  t.equal(completed.json().status, 'completed', completed.body)
  const [line] = await waitFor(() => transferLines(uniqueId).length > 0 && transferLines(uniqueId), 5000, 'a transfer line')
  const customerId = (await listChannels()).find((channel) => channel.name === customer)?.id ?? ''
  const bridge = (await listBridges()).find((candidate) => candidate.channels.includes(customerId))
  t.match(line, [/^\d+$/, uniqueId, 'support', 'Agent 106', 'ATTENDEDTRANSFER', 'BRIDGE', bridge?.id ?? 'the customer\'s bridge', /^\d+$/, /^\d+$/, '1'])
  await new Promise((resolve) => setTimeout(resolve, 1500))
  t.equal(transferLines(uniqueId).length, 1, 'exactly one transfer line')
})

t.test('queueLog: the phone\'s own attended transfer of a queue call (member behind Local) adds one ATTENDEDTRANSFER line', async (t) => {
  const { uniqueId } = await supportQueueCall(t)
  const agentLeg = (await listChannels()).find((channel) => isLegOf('106')(channel.name))
  // The phone's transfer key, as AMI Atxfer on the agent's own channel sends it (not the plugin's API).
  await withAmi(pbx.ami, async (ami) => { await ami.action({ Action: 'Atxfer', Channel: agentLeg?.name ?? '', Exten: '103', Context: transferContext }) })
  await waitFor(async () => (await bridgePeersOf(agentLeg?.id ?? '')).some(isLegOf('103')), 10_000, '106 consulting 103')
  await hangup(agentLeg?.id ?? '')
  const [line] = await waitFor(() => transferLines(uniqueId).length > 0 && transferLines(uniqueId), 5000, 'a transfer line')
  t.match(line, [/^\d+$/, uniqueId, 'support', 'Agent 106', 'ATTENDEDTRANSFER', 'BRIDGE'])
  await new Promise((resolve) => setTimeout(resolve, 1500))
  t.equal(transferLines(uniqueId).length, 1, 'exactly one transfer line')
})

t.test('queueLog: an attended transfer on a member dialed on the agent\'s own channel is logged by Asterisk itself, once', async (t) => {
  const call = await callQueue('customer1')
  const agent = call.agentChannel.name.slice('PJSIP/'.length, 'PJSIP/'.length + 3)
  const transfer = await execute(agent, { targetExtension: '103', transferType: 'attended' })
  await waitForStatus(transfer.id, 'target_answered')
  await hangup(call.agentChannel.id)
  await waitForStatus(transfer.id, 'completed')
  const lines = await waitFor(() => transferLines(call.customerChannel.id).length > 0 && transferLines(call.customerChannel.id), 5000, 'a transfer line')
  await new Promise((resolve) => setTimeout(resolve, 1500))
  t.equal(transferLines(call.customerChannel.id).length, 1, `exactly one transfer line: ${JSON.stringify(lines)}`)
  t.match(lines[0], [/^\d+$/, call.customerChannel.id, 'sales', `PJSIP/${agent}`, 'ATTENDEDTRANSFER'])
})
