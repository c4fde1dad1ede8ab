// The life of transfers on the real Asterisk 22 test bed, as softphones see it on the WebSocket feed:
// blind and attended transfers from start to end, cancel, complete, the customer hanging up, who sees
// which events, resuming after a disconnect, and a transfer the phone made by itself.
import t, { type Test } from 'tap'
import { AmiConnection } from '../helpers/asterisk/ami.js'
import { bridgePeersOf, callAgent, channelExists, hangup, hangupAllCalls, setAgentAnswerDelay, waitFor } from '../helpers/asterisk/calls.js'
import { pbx, transferContext } from '../helpers/asterisk/testbed.js'
import { connectFeed, type FeedClient } from '../helpers/feed-client.js'
import { startTransferHost } from '../helpers/transfer-host.js'
import type { FeedEnvelope } from '../../src/index.js'

const host = await startTransferHost()
t.teardown(host.close)
await hangupAllCalls()
t.afterEach(async () => { await hangupAllCalls() })

const execute = async (who: string, body: Record<string, unknown>): Promise<{ id: string, status: string }> => {
  const response = await host.as(who, { method: 'POST', url: '/api/transfers/execute', payload: body })
  if (response.statusCode !== 200) throw new Error(`execute answered ${response.statusCode}: ${response.body}`)
  return response.json()
}

const feed = async (t: Test, who: string, since?: number): Promise<FeedClient> => {
  const client = await connectFeed(host.baseUrl, `token-${who}`, since)
  t.teardown(client.close)
  return client
}

/** The transfer events of one transfer, by type, in the order received. */
const transferEvents = (client: FeedClient, id: string): string[] =>
  client.received.filter((event) => event.type.startsWith('call:') && event.type !== 'call:status' && (event.data as { id?: string }).id === id)
    .map((event) => `${event.type}:${(event.data as { status: string }).status}`)

const ofTransfer = (id: string, status: string) => (event: FeedEnvelope): boolean =>
  (event.data as { id?: string, status?: string }).id === id && (event.data as { status?: string }).status === status

const isLegOf = (extension: string) => (name: string): boolean => name.startsWith(`PJSIP/${extension}-`)

const statusOf = async (id: string): Promise<string> => (await host.as('101', { method: 'GET', url: `/api/transfers/${id}` })).json().status

/** Agent phones ring `seconds` before answering until the test ends (calls placed before answer at once). */
const phonesRingFor = async (t: Test, seconds: number): Promise<void> => {
  await setAgentAnswerDelay(seconds)
  t.teardown(async () => { await setAgentAnswerDelay(0) })
}

t.test('blind: agent A sees initiated, complete, then answered; the customer is with B', async (t) => {
  const agentA = await feed(t, '101')
  const call = await callAgent('101')
  const transfer = await execute('101', { targetExtension: '102', transferType: 'blind' })
  await agentA.waitFor('answered', ofTransfer(transfer.id, 'answered'))
  t.same(transferEvents(agentA, transfer.id), [
    'call:transfer_initiated:initiated',
    'call:ami_transfer_complete:redirected',
    'call:transfer_updated:answered'
  ])
  t.ok((await bridgePeersOf(call.customerChannel.id)).some(isLegOf('102')))
})

t.test('attended with cancel: consultation, target answers, cancel puts A back with the customer', async (t) => {
  const agentA = await feed(t, '101')
  const call = await callAgent('101')
  const transfer = await execute('101', { targetExtension: '103', transferType: 'attended' })
  t.equal(transfer.status, 'consulting')
  await agentA.waitFor('target answered', ofTransfer(transfer.id, 'target_answered'))
  const cancel = await host.as('101', { method: 'POST', url: `/api/transfers/${transfer.id}/cancel` })
  t.equal(cancel.statusCode, 200, cancel.body)
  t.equal(cancel.json().status, 'cancelled')
  await agentA.waitFor('cancelled on the feed', ofTransfer(transfer.id, 'cancelled'))
  t.same(transferEvents(agentA, transfer.id), [
    'call:transfer_initiated:initiated',
    'call:ami_attended_transfer_started:consulting',
    'call:transfer_updated:target_answered',
    'call:ami_attended_transfer_cancelled:cancelled'
  ])
  const peers = await waitFor(async () => {
    const names = await bridgePeersOf(call.customerChannel.id)
    return names.includes(call.agentChannel.name) && names
  }, 5000, 'the customer back with A')
  t.same(peers, [call.agentChannel.name], 'only A, the consultation leg is gone')
  const again = await host.as('101', { method: 'POST', url: `/api/transfers/${transfer.id}/cancel` })
  t.equal(again.statusCode, 409)
  t.equal(again.json().code, 'XFER_TRANSFER_STATE')
})

t.test('attended with complete: the customer ends up with C, A is gone', async (t) => {
  const agentA = await feed(t, '101')
  const call = await callAgent('101')
  const transfer = await execute('101', { targetExtension: '103', transferType: 'attended' })
  await agentA.waitFor('target answered', ofTransfer(transfer.id, 'target_answered'))
  const complete = await host.as('101', { method: 'POST', url: `/api/transfers/${transfer.id}/complete` })
  t.equal(complete.statusCode, 200, complete.body)
  t.equal(complete.json().status, 'completed')
  t.ok((await bridgePeersOf(call.customerChannel.id)).some(isLegOf('103')), 'customer bridged with 103')
  const twice = await host.as('101', { method: 'POST', url: `/api/transfers/${transfer.id}/complete` })
  t.equal(twice.statusCode, 409)
  t.equal(twice.json().code, 'XFER_TRANSFER_STATE')
  await agentA.waitFor('completed on the feed', ofTransfer(transfer.id, 'completed'))
  t.same(transferEvents(agentA, transfer.id).at(-1), 'call:ami_attended_transfer_completed:completed')
})

t.test('visibility: B sees nothing of A\'s transfer, the supervisor and the target see it', async (t) => {
  const [agentB, supervisor, target] = [await feed(t, '104'), await feed(t, 'super'), await feed(t, '102')]
  await callAgent('101')
  const transfer = await execute('101', { targetExtension: '102', transferType: 'blind' })
  await supervisor.waitFor('answered', ofTransfer(transfer.id, 'answered'))
  await target.waitFor('answered', ofTransfer(transfer.id, 'answered'))
  t.same(transferEvents(agentB, transfer.id), [], 'agent 104 is not involved')
  t.equal(transferEvents(supervisor, transfer.id).length, 3)
})

t.test('resume: a client reconnecting with since gets exactly the events it missed', async (t) => {
  const stayed = await feed(t, '101')
  const left = await feed(t, '101')
  await callAgent('101')
  const seen = await execute('101', { targetExtension: '102', transferType: 'blind' })
  await left.waitFor('the first transfer answered', ofTransfer(seen.id, 'answered'))
  const since = left.lastId()
  await left.close()
  await hangupAllCalls()
  await callAgent('101')
  const transfer = await execute('101', { targetExtension: '102', transferType: 'blind' })
  const last = await stayed.waitFor('answered', ofTransfer(transfer.id, 'answered'))
  const resumed = await feed(t, '101', since)
  await resumed.waitFor('answered', ofTransfer(transfer.id, 'answered'))
  const window = (client: FeedClient): string[] => client.received
    .filter((event) => event.id > since && event.id <= last.id)
    .map((event) => `${event.id} ${event.type}`)
  t.ok(window(stayed).length >= 3, 'the transfer produced events while the client was away')
  t.same(window(resumed), window(stayed), 'exactly the missed events, in order, no duplicates')
  t.ok(resumed.received.every((event) => event.id > since), 'nothing it had already seen')
})

t.test('the customer hanging up while A talks with C abandons the transfer', async (t) => {
  const agentA = await feed(t, '101')
  const call = await callAgent('101')
  const transfer = await execute('101', { targetExtension: '103', transferType: 'attended' })
  await agentA.waitFor('target answered', ofTransfer(transfer.id, 'target_answered'))
  await hangup(call.customerChannel.id)
  const abandoned = await agentA.waitFor('abandoned', ofTransfer(transfer.id, 'abandoned'))
  t.equal(abandoned.type, 'call:transfer_updated')
  t.equal(await statusOf(transfer.id), 'abandoned')
})

// Asterisk aborts the consultation and sends AttendedTransfer Fail just before the customer's Hangup:
// read alone, that looks like a cancel.
t.test('the customer hanging up while C still rings abandons the transfer, it is not a cancel', async (t) => {
  const agentA = await feed(t, '101')
  const call = await callAgent('101')
  await phonesRingFor(t, 5)
  const transfer = await execute('101', { targetExtension: '103', transferType: 'attended' })
  t.equal(transfer.status, 'consulting')
  await hangup(call.customerChannel.id)
  await agentA.waitFor('abandoned', ofTransfer(transfer.id, 'abandoned'))
  t.same(transferEvents(agentA, transfer.id), [
    'call:transfer_initiated:initiated',
    'call:ami_attended_transfer_started:consulting',
    'call:transfer_updated:abandoned'
  ], 'never target_answered, never cancelled')
  t.equal(await statusOf(transfer.id), 'abandoned')
})

t.test('complete while C still rings answers 409 and touches nothing; cancel then puts A back', async (t) => {
  const agentA = await feed(t, '101')
  const call = await callAgent('101')
  await phonesRingFor(t, 5)
  const transfer = await execute('101', { targetExtension: '103', transferType: 'attended' })
  const early = await host.as('101', { method: 'POST', url: `/api/transfers/${transfer.id}/complete` })
  t.equal(early.statusCode, 409, early.body)
  t.match(early.json(), { code: 'XFER_TRANSFER_STATE', message: /103 has not answered yet/ })
  t.ok(await channelExists(call.agentChannel.id), 'A was not hung up')
  const cancel = await host.as('101', { method: 'POST', url: `/api/transfers/${transfer.id}/cancel` })
  t.equal(cancel.json().status, 'cancelled', cancel.body)
  t.same(await bridgePeersOf(call.customerChannel.id), [call.agentChannel.name], 'the customer is back with A')
  t.notOk(transferEvents(agentA, transfer.id).some((event) => event.includes('target_answered')), '103 never answered')
})

// Asterisk reports AttendedTransfer Success at once, with the target's channel still Ringing.
t.test('A\'s phone hanging up while C rings completes the transfer only when C answers', async (t) => {
  const agentA = await feed(t, '101')
  const call = await callAgent('101')
  await phonesRingFor(t, 4)
  const transfer = await execute('101', { targetExtension: '103', transferType: 'attended' })
  await hangup(call.agentChannel.id)
  // Longer than the plugin's look at the bridges after an outcome (6 x 250 ms), shorter than the ringing.
  await new Promise((resolve) => setTimeout(resolve, 2500))
  t.equal(await statusOf(transfer.id), 'consulting', 'not completed while 103 rings')
  await agentA.waitFor('completed', ofTransfer(transfer.id, 'completed'))
  t.ok((await bridgePeersOf(call.customerChannel.id)).some(isLegOf('103')), 'the customer talks to 103')
  t.same(transferEvents(agentA, transfer.id), [
    'call:transfer_initiated:initiated',
    'call:ami_attended_transfer_started:consulting',
    'call:ami_attended_transfer_completed:completed'
  ])
})

t.test('the phone\'s own attended transfer (AMI Atxfer sent directly) is reported and followed', async (t) => {
  const agentA = await feed(t, '101')
  const call = await callAgent('101')
  const ami = await AmiConnection.connect(pbx.ami)
  t.teardown(() => ami.close())
  await ami.action({ Action: 'Atxfer', Channel: call.agentChannel.name, Exten: '103', Context: transferContext })
  const started = await agentA.waitFor('phone transfer started', (event) => event.type === 'call:ami_attended_transfer_started')
  t.match(started.data, { origin: 'phone', type: 'attended', extension: '101', targetExtension: '103', channels: { agent: call.agentChannel.name, peer: call.customerChannel.name } })
  const id = (started.data as { id: string }).id
  await agentA.waitFor('target answered', ofTransfer(id, 'target_answered'))
  await hangup(call.agentChannel.id)
  await agentA.waitFor('completed', ofTransfer(id, 'completed'))
  t.ok((await bridgePeersOf(call.customerChannel.id)).some(isLegOf('103')))
})

t.test('the phone\'s own blind transfer (a BlindTransfer event) is reported and followed to the answer', async (t) => {
  const agentA = await feed(t, '101')
  const call = await callAgent('101')
  const ami = await AmiConnection.connect(pbx.ami)
  t.teardown(() => ami.close())
  await ami.action({ Action: 'BlindTransfer', Channel: call.agentChannel.name, Exten: '102', Context: transferContext })
  const started = await agentA.waitFor('phone blind transfer', (event) => event.type === 'call:ami_transfer_complete')
  t.match(started.data, { origin: 'phone', type: 'blind', extension: '101', targetExtension: '102', channels: { peer: call.customerChannel.name } })
  await agentA.waitFor('answered', ofTransfer((started.data as { id: string }).id, 'answered'))
})
