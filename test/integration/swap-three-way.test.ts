// Swap and three-way during an attended transfer, on the real Asterisk 22 test bed: the plugin presses
// Asterisk's own feature digits for the agent (PlayDTMF Receive) and answers once the bridges show the
// change. Swap there and back; three-way, then the agent leaves (the customer stays with the target) or
// the target leaves (the customer stays with the agent); refused on a blind or finished transfer.
import t, { type Test } from 'tap'
import { withAmi } from '../helpers/asterisk/ami.js'
import { bridgePeersOf, callAgent, channelExists, hangup, hangupAllCalls, setAgentAnswerDelay, waitFor, type CustomerCall } from '../helpers/asterisk/calls.js'
import { pbx } from '../helpers/asterisk/testbed.js'
import { connectFeed, type FeedClient } from '../helpers/feed-client.js'
import { startTransferHost } from '../helpers/transfer-host.js'
import type { FeedEnvelope, Transfer } from '../../src/index.js'

// More transfer actions by agent 101 in this file than the default rate budget allows: not its topic.
const host = await startTransferHost({ rateLimit: false })
t.teardown(host.close)
await hangupAllCalls()
t.afterEach(async () => { await hangupAllCalls() })

const post = async (path: string): Promise<{ statusCode: number, body: string, json: () => any }> =>
  await host.as('101', { method: 'POST', url: `/api/transfers${path}` })

const feed = async (t: Test): Promise<FeedClient> => {
  const client = await connectFeed(host.baseUrl, 'token-101')
  t.teardown(client.close)
  return client
}

const ofTransfer = (id: string, status: string) => (event: FeedEnvelope): boolean =>
  (event.data as { id?: string }).id === id && (event.data as { status?: string }).status === status

/** The transfer events of one transfer, as `type:status:talkingTo`, in the order received. */
const transferEvents = (client: FeedClient, id: string): string[] =>
  client.received.filter((event) => event.type.startsWith('call:') && event.type !== 'call:status' && (event.data as { id?: string }).id === id)
    .map((event) => { const data = event.data as Transfer; return `${event.type}:${data.status}:${data.talkingTo ?? '-'}` })

const isLegOf = (extension: string) => (name: string): boolean => name.startsWith(`PJSIP/${extension}-`)

/** A customer call to 101, transferred attended to 103, once 103 answered the consultation. */
async function consultation (t: Test): Promise<{ call: CustomerCall, transfer: Transfer, agentA: FeedClient }> {
  const agentA = await feed(t)
  const call = await callAgent('101')
  const started = await host.as('101', { method: 'POST', url: '/api/transfers/execute', payload: { targetExtension: '103', transferType: 'attended' } })
  if (started.statusCode !== 200) throw new Error(`execute answered ${started.statusCode}: ${started.body}`)
  const transfer = started.json<Transfer>()
  const answered = await agentA.waitFor('103 answered', ofTransfer(transfer.id, 'target_answered'))
  t.equal((answered.data as Transfer).talkingTo, 'target', 'consulting: the agent talks with the target')
  return { call, transfer: answered.data as Transfer, agentA }
}

t.test('swap there and back: the agent goes to the customer while 103 waits, then back to 103', async (t) => {
  const { call, transfer, agentA } = await consultation(t)
  const toCustomer = await post(`/${transfer.id}/swap`)
  t.equal(toCustomer.statusCode, 200, toCustomer.body)
  t.match(toCustomer.json(), { status: 'target_answered', talkingTo: 'customer' })
  t.same(await bridgePeersOf(call.customerChannel.id), [call.agentChannel.name], 'the customer talks with the agent')
  t.ok(await channelExists(transfer.channels.target ?? ''), '103 still waits in the consultation')

  const toTarget = await post(`/${transfer.id}/swap`)
  t.equal(toTarget.statusCode, 200, toTarget.body)
  t.match(toTarget.json(), { status: 'target_answered', talkingTo: 'target' })
  t.ok((await bridgePeersOf(call.agentChannel.id)).some(isLegOf('103')), 'the agent talks with 103 again')
  t.same(await bridgePeersOf(call.customerChannel.id), [], 'the customer waits alone')

  await agentA.waitFor('the second swap on the feed', (event) => event.type === 'call:transfer_swapped' && (event.data as Transfer).talkingTo === 'target')
  t.same(transferEvents(agentA, transfer.id).slice(-2), [
    'call:transfer_swapped:target_answered:customer',
    'call:transfer_swapped:target_answered:target'
  ])
  const complete = await post(`/${transfer.id}/complete`)
  t.equal(complete.json().status, 'completed', complete.body)
  t.ok((await bridgePeersOf(call.customerChannel.id)).some(isLegOf('103')), 'after the swaps, complete still hands the customer to 103')
})

t.test('swapped to the customer, complete hands the customer to 103 and never drops them (3 times: hanging the agent up there dropped the customer in 2 of 4 tries)', async (t) => {
  for (let attempt = 1; attempt <= 3; attempt++) {
    const { call, transfer, agentA } = await consultation(t)
    t.equal((await post(`/${transfer.id}/swap`)).json().talkingTo, 'customer')
    const complete = await post(`/${transfer.id}/complete`)
    t.equal(complete.statusCode, 200, complete.body)
    t.equal(complete.json().status, 'completed', `attempt ${attempt}`)
    t.ok(await channelExists(call.customerChannel.id), `attempt ${attempt}: the customer is still there`)
    t.ok((await bridgePeersOf(call.customerChannel.id)).some(isLegOf('103')), `attempt ${attempt}: the customer talks with 103`)
    await agentA.close()
    await hangupAllCalls()
  }
})

t.test('swapped to the customer, cancel drops 103: the agent stays with the customer', async (t) => {
  const { call, transfer } = await consultation(t)
  t.equal((await post(`/${transfer.id}/swap`)).json().talkingTo, 'customer')
  const cancel = await post(`/${transfer.id}/cancel`)
  t.equal(cancel.statusCode, 200, cancel.body)
  t.equal(cancel.json().status, 'cancelled')
  await waitFor(async () => !(await channelExists(transfer.channels.target ?? '')), 5000, '103 hung up')
  t.same(await bridgePeersOf(call.customerChannel.id), [call.agentChannel.name])
})

t.test('three-way, then the agent leaves: the customer stays with 103, the transfer is completed', async (t) => {
  const { call, transfer, agentA } = await consultation(t)
  const threeWay = await post(`/${transfer.id}/three-way`)
  t.equal(threeWay.statusCode, 200, threeWay.body)
  t.match(threeWay.json(), { status: 'three_way', talkingTo: 'both' })
  const peers = await bridgePeersOf(call.customerChannel.id)
  t.ok(peers.includes(call.agentChannel.name) && peers.some(isLegOf('103')), `customer, agent and 103 in one call: ${peers.join(', ')}`)
  await agentA.waitFor('three-way on the feed', (event) => event.type === 'call:transfer_three_way')

  const swap = await post(`/${transfer.id}/swap`)
  t.equal(swap.statusCode, 409, 'no swap in a three-way: Asterisk\'s attended transfer is over')

  const complete = await post(`/${transfer.id}/complete`)
  t.equal(complete.statusCode, 200, complete.body)
  t.equal(complete.json().status, 'completed')
  t.notOk(await channelExists(call.agentChannel.id), 'the agent left')
  t.same((await bridgePeersOf(call.customerChannel.id)).filter(isLegOf('103')).length, 1, 'the customer talks with 103')
  await agentA.waitFor('completed on the feed', ofTransfer(transfer.id, 'completed'))
  t.same(transferEvents(agentA, transfer.id).slice(-2), [
    'call:transfer_three_way:three_way:both',
    'call:ami_attended_transfer_completed:completed:-'
  ])
})

t.test('three-way, then 103 hangs up: the customer stays with the agent, the transfer is cancelled', async (t) => {
  const { call, transfer, agentA } = await consultation(t)
  t.equal((await post(`/${transfer.id}/three-way`)).json().status, 'three_way')
  await hangup(transfer.channels.target ?? '')
  await agentA.waitFor('cancelled', ofTransfer(transfer.id, 'cancelled'))
  t.same(await bridgePeersOf(call.customerChannel.id), [call.agentChannel.name], 'the customer with the agent')
})

t.test('three-way, then cancel drops 103: the customer stays with the agent', async (t) => {
  const { call, transfer } = await consultation(t)
  t.equal((await post(`/${transfer.id}/three-way`)).json().status, 'three_way')
  const cancel = await post(`/${transfer.id}/cancel`)
  t.equal(cancel.statusCode, 200, cancel.body)
  t.equal(cancel.json().status, 'cancelled')
  t.same(await bridgePeersOf(call.customerChannel.id), [call.agentChannel.name])
  t.notOk(await channelExists(transfer.channels.target ?? ''), '103 was hung up')
})

/** Swap and three-way of this transfer answer 409 XFER_TRANSFER_STATE and send Asterisk nothing. */
async function refusedWithoutAction (t: Test, id: string): Promise<void> {
  const before = host.proxy.written().length
  for (const action of ['swap', 'three-way']) {
    const response = await post(`/${id}/${action}`)
    t.equal(response.statusCode, 409, `${action}: ${response.body}`)
    t.equal(response.json().code, 'XFER_TRANSFER_STATE')
  }
  const written = host.proxy.written().slice(before)
  t.notMatch(written, /PlayDTMF|FEATURE\(atxfer/i, 'no digit pressed, not even read')
}

t.test('swap or three-way on a blind transfer: 409, nothing sent', async (t) => {
  const agentA = await feed(t)
  await callAgent('101')
  const blind = await host.as('101', { method: 'POST', url: '/api/transfers/execute', payload: { targetExtension: '102', transferType: 'blind' } })
  const id = blind.json<Transfer>().id
  await agentA.waitFor('answered', ofTransfer(id, 'answered'))
  await refusedWithoutAction(t, id)
})

t.test('swap or three-way on a finished attended transfer: 409, nothing sent', async (t) => {
  const { transfer } = await consultation(t)
  t.equal((await post(`/${transfer.id}/cancel`)).json().status, 'cancelled')
  await refusedWithoutAction(t, transfer.id)
})

t.test('swap or three-way while 103 still rings: 409, nothing sent', async (t) => {
  const agentA = await feed(t)
  await callAgent('101')
  await setAgentAnswerDelay(5)
  t.teardown(async () => { await setAgentAnswerDelay(0) })
  const started = await host.as('101', { method: 'POST', url: '/api/transfers/execute', payload: { targetExtension: '103', transferType: 'attended' } })
  const transfer = started.json<Transfer>()
  t.equal(transfer.status, 'consulting', started.body)
  await refusedWithoutAction(t, transfer.id)
  t.equal((await post(`/${transfer.id}/cancel`)).json().status, 'cancelled')
  t.notOk(agentA.received.some(ofTransfer(transfer.id, 'target_answered')), '103 never answered')
})

t.test('the agent\'s phone presses three-way while 103 still rings: three_way at once, 103 joins both on answering; the agent leaves: completed', async (t) => {
  const agentA = await feed(t)
  const call = await callAgent('101')
  await setAgentAnswerDelay(3)
  t.teardown(async () => { await setAgentAnswerDelay(0) })
  const started = await host.as('101', { method: 'POST', url: '/api/transfers/execute', payload: { targetExtension: '103', transferType: 'attended' } })
  const transfer = started.json<Transfer>()
  t.equal(transfer.status, 'consulting', started.body)
  // The phone's own feature key, as the agent presses it (not the plugin's route, which waits for the answer).
  await phonePresses(call, '*3')
  const threeWay = await agentA.waitFor('three-way on the feed', ofTransfer(transfer.id, 'three_way'))
  t.equal((threeWay.data as Transfer).talkingTo, 'both')
  t.same(await bridgePeersOf(call.customerChannel.id).then((peers) => peers.includes(call.agentChannel.name)), true, 'the customer is back with the agent while 103 rings')
  await waitFor(async () => (await bridgePeersOf(call.customerChannel.id)).some(isLegOf('103')), 10_000, '103 answered and joined')
  t.equal((await host.as('super', { method: 'GET', url: `/api/transfers/${transfer.id}` })).json().status, 'three_way', 'still a three-way once 103 answered')
  await hangup(call.agentChannel.id)
  await agentA.waitFor('completed', ofTransfer(transfer.id, 'completed'))
  t.same((await bridgePeersOf(call.customerChannel.id)).filter(isLegOf('103')).length, 1, 'the customer talks with 103')
  t.same(transferEvents(agentA, transfer.id), [
    'call:transfer_initiated:initiated:-',
    'call:ami_attended_transfer_started:consulting:target',
    'call:transfer_three_way:three_way:both',
    'call:ami_attended_transfer_completed:completed:-'
  ], 'never reported answered as a consultation: it is a three-way from the start')
})

/** The agent's phone presses `digits` (its own feature keys, not the plugin's routes). */
async function phonePresses (call: CustomerCall, digits: string): Promise<void> {
  await withAmi(pbx.ami, async (ami) => {
    for (const digit of digits) await ami.action({ Action: 'PlayDTMF', Channel: call.agentChannel.name, Digit: digit, Duration: 120, Receive: 'true' })
  })
}

/** A customer call to 101 and an attended transfer to 103, whose phone answers after `answerAfterS`. */
async function ringingConsultation (t: Test, answerAfterS: number): Promise<{ call: CustomerCall, transfer: Transfer, agentA: FeedClient }> {
  const agentA = await feed(t)
  const call = await callAgent('101')
  await setAgentAnswerDelay(answerAfterS)
  t.teardown(async () => { await setAgentAnswerDelay(0) })
  const started = await host.as('101', { method: 'POST', url: '/api/transfers/execute', payload: { targetExtension: '103', transferType: 'attended' } })
  const transfer = started.json<Transfer>()
  t.equal(transfer.status, 'consulting', started.body)
  return { call, transfer, agentA }
}

const swappedTo = (id: string, side: string) => (event: FeedEnvelope): boolean =>
  event.type === 'call:transfer_swapped' && (event.data as Transfer).id === id && (event.data as Transfer).talkingTo === side

t.test('the agent\'s phone swaps to the customer while 103 rings: still a consultation; 103 answers and waits; complete hands the customer over', async (t) => {
  const { call, transfer, agentA } = await ringingConsultation(t, 3)
  await phonePresses(call, '*4')
  const swapped = await agentA.waitFor('swapped to the customer', swappedTo(transfer.id, 'customer'))
  t.equal((swapped.data as Transfer).status, 'consulting', '103 still rings')
  t.same(await bridgePeersOf(call.customerChannel.id), [call.agentChannel.name], 'the agent talks with the customer')
  const answered = await agentA.waitFor('103 answered', ofTransfer(transfer.id, 'target_answered'), 10_000)
  t.equal((answered.data as Transfer).talkingTo, 'customer', '103 waits while the agent talks with the customer')
  const complete = await post(`/${transfer.id}/complete`)
  t.equal(complete.statusCode, 200, complete.body)
  t.equal(complete.json().status, 'completed')
  t.ok((await bridgePeersOf(call.customerChannel.id)).some(isLegOf('103')), 'the customer talks with 103')
  await agentA.waitFor('completed on the feed', ofTransfer(transfer.id, 'completed'))
  t.same(transferEvents(agentA, transfer.id), [
    'call:transfer_initiated:initiated:-',
    'call:ami_attended_transfer_started:consulting:target',
    'call:transfer_swapped:consulting:customer',
    'call:transfer_updated:target_answered:customer',
    'call:ami_attended_transfer_completed:completed:-'
  ], 'never reported cancelled')
})

t.test('the agent\'s phone swaps to the customer and back while 103 rings; then cancel: cancelled, the agent with the customer', async (t) => {
  const { call, transfer, agentA } = await ringingConsultation(t, 8)
  await phonePresses(call, '*4')
  await agentA.waitFor('swapped to the customer', swappedTo(transfer.id, 'customer'))
  await phonePresses(call, '*4')
  const back = await agentA.waitFor('swapped back to 103', swappedTo(transfer.id, 'target'))
  t.equal((back.data as Transfer).status, 'consulting')
  t.same(await bridgePeersOf(call.customerChannel.id), [], 'the customer waits alone again')
  const cancel = await post(`/${transfer.id}/cancel`)
  t.equal(cancel.statusCode, 200, cancel.body)
  t.equal(cancel.json().status, 'cancelled')
  t.same(await bridgePeersOf(call.customerChannel.id), [call.agentChannel.name])
})

t.test('the agent\'s phone swaps to the customer while 103 rings; then cancel while it rings: cancelled, 103 stops ringing', async (t) => {
  const { call, transfer, agentA } = await ringingConsultation(t, 8)
  await phonePresses(call, '*4')
  await agentA.waitFor('swapped to the customer', swappedTo(transfer.id, 'customer'))
  const cancel = await post(`/${transfer.id}/cancel`)
  t.equal(cancel.statusCode, 200, cancel.body)
  t.equal(cancel.json().status, 'cancelled')
  t.same(await bridgePeersOf(call.customerChannel.id), [call.agentChannel.name], 'the agent stays with the customer')
  await waitFor(async () => !(await channelExists(transfer.channels.consultation ?? '')), 5000, 'the consultation hung up')
})
