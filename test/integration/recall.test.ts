// Transfers the target does not take, on the real Asterisk 22 test bed: a blind transfer to a phone
// that rings and is never answered (201) or that is busy (202) brings the customer back to the agent
// (transfer recall), or to the fallback queue when the agent cannot take them; an attended transfer
// Asterisk gives up on is failed no_answer, not cancelled; a target hanging up is target_hung_up.
import t, { type Test } from 'tap'
import { field, withAmi } from '../helpers/asterisk/ami.js'
import { listChannels } from '../helpers/asterisk/ari.js'
import { bridgePeersOf, callAgent, channelExists, hangup, hangupAllCalls, waitFor } from '../helpers/asterisk/calls.js'
import { busyAgent, pbx, salesQueue, transferContext, unansweringAgent } from '../helpers/asterisk/testbed.js'
import { connectFeed, type FeedClient } from '../helpers/feed-client.js'
import { startTransferHost } from '../helpers/transfer-host.js'
import type { FeedEnvelope, Transfer } from '../../src/index.js'

const AFTER_MS = 3000
const RECALL_CONTEXT = 'fastify-transfer-recall'
/** Asterisk's atxfernoanswertimeout on the test PBX (scripts/asterisk/pbx/features.conf). */
const ATXFER_NO_ANSWER_MS = 8000

const host = await startTransferHost({
  destinations: { 'sales-queue': { kind: 'queue', context: transferContext, exten: salesQueue.exten, label: 'Sales' } },
  recall: { afterMs: AFTER_MS, ringAgentMs: 4000, fallback: 'sales-queue' }
})
t.teardown(host.close)
await hangupAllCalls()
t.afterEach(async () => { await hangupAllCalls() })

const execute = async (who: string, body: Record<string, unknown>): Promise<Transfer> => {
  const response = await host.as(who, { method: 'POST', url: '/api/transfers/execute', payload: body })
  if (response.statusCode !== 200) throw new Error(`execute answered ${response.statusCode}: ${response.body}`)
  return response.json()
}

const feed = async (t: Test, who: string): Promise<FeedClient> => {
  const client = await connectFeed(host.baseUrl, `token-${who}`)
  t.teardown(client.close)
  return client
}

const ofTransfer = (id: string, status: string) => (event: FeedEnvelope): boolean =>
  (event.data as { id?: string }).id === id && (event.data as { status?: string }).status === status

const statuses = (client: FeedClient, id: string): string[] =>
  client.received.filter((event) => event.type !== 'call:status' && (event.data as { id?: string }).id === id)
    .map((event) => (event.data as { status: string }).status)

const isLegOf = (extension: string) => (name: string): boolean => name.startsWith(`PJSIP/${extension}-`)

const recallDialplanExists = async (): Promise<boolean> => await withAmi(pbx.ami, async (ami) =>
  field(await ami.action({ Action: 'Getvar', Variable: `DIALPLAN_EXISTS(${RECALL_CONTEXT},transfer,1)` }), 'value') === '1')

t.test('the plugin added its recall dialplan, and adds it again after a reload of the dialplan module', async (t) => {
  t.ok(await recallDialplanExists(), 'in Asterisk after start')
  await withAmi(pbx.ami, async (ami) => { await ami.action({ Action: 'Command', Command: 'module reload pbx_config' }) })
  await waitFor(recallDialplanExists, 5000, 'the recall dialplan back after the Reload event')
  t.pass('back after the reload')
})

// The CLI's `dialplan reload` sends no Reload event: the next transfer finds the context gone and adds it.
t.test('after a dialplan reload that no event announces, the next blind transfer still recalls', async (t) => {
  await withAmi(pbx.ami, async (ami) => { await ami.action({ Action: 'Command', Command: 'dialplan reload' }) })
  t.notOk(await recallDialplanExists(), 'gone from Asterisk')
  const agent = await feed(t, '101')
  const call = await callAgent('101')
  const transfer = await execute('101', { targetExtension: busyAgent, transferType: 'blind' })
  const failed = await agent.waitFor('failed, recalled', ofTransfer(transfer.id, 'failed'))
  t.match(failed.data, { failureReason: 'target_busy', recall: { to: 'agent' } })
  t.ok(await channelExists(call.customerChannel.id), 'the customer was not sent to a context that does not exist')
})

// A Redirect carries only the context's entry in front (src/transfers/recall-dialplan.ts): after a reload
// the entry finds the rest gone, the customer waits there while the plugin adds it again, then goes on.
t.test('a dialplan reload between two transfers: both recall the customer to the agent, and the whole context is back', async (t) => {
  const agent = await feed(t, '101')
  const lastLineExists = async (): Promise<boolean> => await withAmi(pbx.ami, async (ami) =>
    field(await ami.action({ Action: 'Getvar', Variable: `DIALPLAN_EXISTS(${RECALL_CONTEXT},end,1)` }), 'value') === '1')
  for (const round of ['before the reload', 'after the reload']) {
    if (round === 'after the reload') {
      await withAmi(pbx.ami, async (ami) => { await ami.action({ Action: 'Command', Command: 'dialplan reload' }) })
      t.notOk(await lastLineExists(), 'the reload dropped the context')
    }
    const call = await callAgent('101')
    const transfer = await execute('101', { targetExtension: busyAgent, transferType: 'blind' })
    const failed = await agent.waitFor(`${round}: failed, recalled`, ofTransfer(transfer.id, 'failed'))
    t.match(failed.data, { failureReason: 'target_busy', recall: { to: 'agent' } }, round)
    await waitFor(async () => (await bridgePeersOf(call.customerChannel.id)).some(isLegOf('101')), 5000, `${round}: the customer back with 101`)
    await hangupAllCalls()
  }
  t.ok(await lastLineExists(), 'the whole context is back')
})

t.test('blind to a phone nobody answers: after afterMs the customer rings back at the agent, and is never dropped', async (t) => {
  const agent = await feed(t, '101')
  const call = await callAgent('101')
  const started = Date.now()
  const transfer = await execute('101', { targetExtension: unansweringAgent, transferType: 'blind' })
  t.equal(transfer.status, 'redirected')
  const recalling = await agent.waitFor('recalling', ofTransfer(transfer.id, 'recalling'))
  t.ok(Date.now() - started >= AFTER_MS - 100, `recall after ${Date.now() - started} ms, not before afterMs`)
  t.match(recalling.data, { failureReason: 'no_answer' })
  t.ok(await channelExists(call.customerChannel.id), 'the customer is still there')
  const failed = await agent.waitFor('failed, recalled', ofTransfer(transfer.id, 'failed'))
  t.match(failed.data, { failureReason: 'no_answer', recall: { to: 'agent' } })
  t.equal(failed.type, 'call:ami_transfer_failed')
  t.same(statuses(agent, transfer.id), ['initiated', 'redirected', 'recalling', 'failed'])
  const peers = await waitFor(async () => {
    const names = await bridgePeersOf(call.customerChannel.id)
    return names.some(isLegOf('101')) && names
  }, 5000, 'the customer bridged with 101 again')
  t.equal(peers.length, 1)
  const leg = (await listChannels()).find((channel) => channel.name === peers[0])
  t.match(leg?.connected.name, /^R: /, `the agent's phone sees a recall: ${JSON.stringify(leg?.connected)}`)
  t.notOk((await listChannels()).some((channel) => isLegOf(unansweringAgent)(channel.name)), '201 stopped ringing')
})

// Every recall Redirect writes the context's entry again (Replace) in front of it, while other customers
// are inside that context, in the middle of its Dial: they must not notice.
t.test('a customer ringing in the recall context is not disturbed by the lines written again for other transfers', async (t) => {
  const agent = await feed(t, '101')
  const call = await callAgent('101')
  const waiting = await execute('101', { targetExtension: unansweringAgent, transferType: 'blind' })
  await waitFor(async () => (await listChannels()).some((channel) => isLegOf(unansweringAgent)(channel.name)), 5000, '201 ringing')
  const agent2 = await feed(t, '102')
  const stillRinging = async (): Promise<boolean> => (await host.as('101', { method: 'GET', url: `/api/transfers/${waiting.id}` })).json().status === 'redirected'
  let rewrites = 0
  // Each on a call of its own: where a bounced customer goes (back to 102, or to the fallback while
  // 102's phone still shows busy) is not what this test is about.
  while (rewrites < 3 && await stillRinging()) {
    const second = await callAgent('102', 'customer2')
    const bounced = await execute('102', { targetExtension: busyAgent, transferType: 'blind' })
    rewrites++
    await agent2.waitFor(`round ${rewrites} recalled`, ofTransfer(bounced.id, 'failed'))
    await hangup(second.customerChannel.id)
  }
  t.ok(rewrites >= 1, `${rewrites} rewrites of the context while the first customer rang 201`)
  const failed = await agent.waitFor('failed, recalled', ofTransfer(waiting.id, 'failed'), AFTER_MS + 10_000)
  t.match(failed.data, { failureReason: 'no_answer', recall: { to: 'agent' } })
  await waitFor(async () => (await bridgePeersOf(call.customerChannel.id)).some(isLegOf('101')), 5000, 'the first customer back with 101')
})

t.test('blind to a phone nobody answers while the agent is on another call: the customer goes to the fallback queue', async (t) => {
  const agent = await feed(t, '101')
  const call = await callAgent('101')
  const transfer = await execute('101', { targetExtension: unansweringAgent, transferType: 'blind' })
  // 101 takes another customer before the recall: it is not free to take the first one back.
  await callAgent('101', 'customer2')
  const failed = await agent.waitFor('failed, to the fallback', ofTransfer(transfer.id, 'failed'), 15_000)
  t.match(failed.data, { failureReason: 'no_answer', recall: { to: 'fallback', destination: 'sales-queue' } })
  const peers = await waitFor(async () => {
    const names = await bridgePeersOf(call.customerChannel.id)
    return names.some((name) => salesQueue.members.some((member) => isLegOf(member)(name))) && names
  }, 10_000, 'the customer answered by a member of the sales queue')
  t.equal(peers.length, 1)
})

t.test('blind to a busy phone: the customer is back with the agent at once', async (t) => {
  const agent = await feed(t, '101')
  const call = await callAgent('101')
  const started = Date.now()
  const transfer = await execute('101', { targetExtension: busyAgent, transferType: 'blind' })
  const failed = await agent.waitFor('failed, recalled', ofTransfer(transfer.id, 'failed'))
  t.match(failed.data, { failureReason: 'target_busy', recall: { to: 'agent' } })
  t.ok(Date.now() - started < AFTER_MS, `recalled after ${Date.now() - started} ms, without waiting for afterMs`)
  await waitFor(async () => (await bridgePeersOf(call.customerChannel.id)).some(isLegOf('101')), 5000, 'the customer with 101 again')
})

t.test('blind to a free agent who answers: answered as before, through the recall context', async (t) => {
  const agent = await feed(t, '101')
  const call = await callAgent('101')
  const transfer = await execute('101', { targetExtension: '102', transferType: 'blind' })
  const answered = await agent.waitFor('answered', ofTransfer(transfer.id, 'answered'))
  t.match((answered.data as Transfer).channels.target, /^PJSIP\/102-/, 'the target leg is 102\'s own, not the Local in between')
  t.ok((await bridgePeersOf(call.customerChannel.id)).some(isLegOf('102')))
})

t.test('attended to a phone nobody answers: Asterisk gives up after atxfernoanswertimeout; failed no_answer, the agent back with the customer', async (t) => {
  const agent = await feed(t, '101')
  const call = await callAgent('101')
  const transfer = await execute('101', { targetExtension: unansweringAgent, transferType: 'attended' })
  t.equal(transfer.status, 'consulting')
  const failed = await agent.waitFor('failed', (event) => (event.data as { id?: string }).id === transfer.id &&
    ['failed', 'cancelled'].includes((event.data as { status: string }).status), ATXFER_NO_ANSWER_MS + 5000)
  t.match(failed.data, { status: 'failed', failureReason: 'no_answer' })
  t.same(await bridgePeersOf(call.customerChannel.id), [call.agentChannel.name], 'the customer is back with 101')
})

// Asterisk reports the target's Hangup after the agent's Unhold about 1 time in 4: several rounds.
t.test('the target hanging up during the consultation: failed target_hung_up, four times out of four', async (t) => {
  const agent = await feed(t, '101')
  for (let round = 1; round <= 4; round++) {
    const call = await callAgent('101')
    const transfer = await execute('101', { targetExtension: '103', transferType: 'attended' })
    const answered = await agent.waitFor('target answered', ofTransfer(transfer.id, 'target_answered'))
    const target = (answered.data as Transfer).channels.target
    t.match(target, /^PJSIP\/103-/)
    await hangup(target as string)
    const ended = await agent.waitFor('failed', (event) => (event.data as { id?: string }).id === transfer.id &&
      ['failed', 'cancelled'].includes((event.data as { status: string }).status))
    t.match(ended.data, { status: 'failed', failureReason: 'target_hung_up' }, `round ${round}`)
    await waitFor(async () => (await bridgePeersOf(call.customerChannel.id)).includes(call.agentChannel.name), 5000, 'the customer back with 101')
    await hangupAllCalls()
  }
})

t.test('the agent\'s phone aborting the answered consultation (atxferabort, *1): cancelled, though 103\'s leg hangs up too', async (t) => {
  const agent = await feed(t, '101')
  for (let round = 1; round <= 2; round++) {
    const call = await callAgent('101')
    const transfer = await execute('101', { targetExtension: '103', transferType: 'attended' })
    await agent.waitFor('target answered', ofTransfer(transfer.id, 'target_answered'))
    await withAmi(pbx.ami, async (ami) => {
      for (const digit of '*1') await ami.action({ Action: 'PlayDTMF', Channel: call.agentChannel.name, Digit: digit, Duration: 120, Receive: 'true' })
    })
    const ended = await agent.waitFor('cancelled', (event) => (event.data as { id?: string }).id === transfer.id &&
      ['failed', 'cancelled'].includes((event.data as { status: string }).status))
    t.match(ended.data, { status: 'cancelled' }, `round ${round}`)
    t.same(await bridgePeersOf(call.customerChannel.id), [call.agentChannel.name], 'the customer back with 101')
    await hangupAllCalls()
  }
})

t.test('the agent\'s cancel while the target rings stays cancelled', async (t) => {
  const call = await callAgent('101')
  const transfer = await execute('101', { targetExtension: unansweringAgent, transferType: 'attended' })
  const cancel = await host.as('101', { method: 'POST', url: `/api/transfers/${transfer.id}/cancel` })
  t.equal(cancel.statusCode, 200, cancel.body)
  t.equal(cancel.json().status, 'cancelled')
  t.same(await bridgePeersOf(call.customerChannel.id), [call.agentChannel.name])
})

t.test('a transfer to an agent on a call is refused with 409 XFER_TARGET_BUSY, and the call stays', async (t) => {
  const call = await callAgent('101')
  await callAgent('102', 'customer2')
  await waitFor(async () => {
    const response = await host.as('101', { method: 'GET', url: '/api/transfers/available-agents?all=true' })
    return response.json().agents.some((entry: { extension: string, state: string }) => entry.extension === '102' && entry.state === 'on_call')
  }, 5000, 'the plugin to see 102 on a call')
  const response = await host.as('101', { method: 'POST', url: '/api/transfers/execute', payload: { targetExtension: '102', transferType: 'blind' } })
  t.equal(response.statusCode, 409, response.body)
  t.equal(response.json().code, 'XFER_TARGET_BUSY')
  t.same(await bridgePeersOf(call.customerChannel.id), [call.agentChannel.name])
})
