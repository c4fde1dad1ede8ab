// Never lose track, on the real Asterisk 22 test bed: an agent who cancels and at once tries another
// target, the host app restarted during a consultation, Asterisk killed and restarted during transfers,
// and a queue that dials its member through Local channels while an agent's own phone transfers.
import t from 'tap'
import { withAmi } from '../helpers/asterisk/ami.js'
import { listChannels } from '../helpers/asterisk/ari.js'
import { killPbx, startPbx } from '../helpers/asterisk/asterisk-process.js'
import { bridgePeersOf, callAgent, hangup, hangupAllCalls, setAgentAnswerDelay, waitFor } from '../helpers/asterisk/calls.js'
import { farm, pbx, transferContext } from '../helpers/asterisk/testbed.js'
import { connectFeed } from '../helpers/feed-client.js'
import { startTransferHost, type TransferHost } from '../helpers/transfer-host.js'

await hangupAllCalls()
t.afterEach(async () => { await hangupAllCalls() })

const isLegOf = (extension: string) => (name: string): boolean => name.startsWith(`PJSIP/${extension}-`)

async function execute (host: TransferHost, body: Record<string, unknown>): Promise<{ statusCode: number, json: () => any, body: string }> {
  return await host.as('101', { method: 'POST', url: '/api/transfers/execute', payload: body })
}

async function statusOf (host: TransferHost, id: string): Promise<any> {
  return (await host.as('super', { method: 'GET', url: `/api/transfers/${id}` })).json()
}

async function waitForStatus (host: TransferHost, id: string, status: string, timeoutMs = 10_000): Promise<any> {
  return await waitFor(async () => {
    const transfer = await statusOf(host, id)
    return transfer.status === status && transfer
  }, timeoutMs, `transfer ${id} ${status}`)
}

t.test('cancel, then at once another attended transfer on the same call: the second consultation starts', async (t) => {
  const host = await startTransferHost()
  t.teardown(host.close)
  const call = await callAgent('101')
  for (const target of ['103', '104', '105']) {
    const started = await execute(host, { targetExtension: target, transferType: 'attended' })
    t.equal(started.statusCode, 200, `${target}: ${started.body}`)
    t.equal(started.json().status, 'consulting')
    await waitForStatus(host, started.json().id, 'target_answered')
    const cancelled = await host.as('101', { method: 'POST', url: `/api/transfers/${String(started.json().id)}/cancel` })
    t.equal(cancelled.json().status, 'cancelled', cancelled.body)
    // No pause: the next request comes the moment the cancel answered, as a fast agent's would.
  }
  const last = await execute(host, { targetExtension: '102', transferType: 'blind' })
  t.equal(last.statusCode, 200, last.body)
  await waitForStatus(host, last.json().id, 'answered')
  t.ok((await bridgePeersOf(call.customerChannel.id)).some(isLegOf('102')), 'and a blind transfer right after a cancel works too')
})

t.test('an attended transfer the moment the call is bridged, and complete then at once a transfer of the next call', async (t) => {
  const host = await startTransferHost()
  t.teardown(host.close)
  await callAgent('101')
  // callAgent resolves as soon as ARI shows the bridge: the request follows the bridging at once.
  const first = await execute(host, { targetExtension: '103', transferType: 'attended' })
  t.equal(first.statusCode, 200, first.body)
  t.equal(first.json().status, 'consulting')
  await waitForStatus(host, first.json().id, 'target_answered')
  const completed = await host.as('101', { method: 'POST', url: `/api/transfers/${String(first.json().id)}/complete` })
  t.equal(completed.json().status, 'completed', completed.body)
  const next = await callAgent('101', 'customer2')
  const second = await execute(host, { targetExtension: '104', transferType: 'attended' })
  t.equal(second.statusCode, 200, second.body)
  t.equal(second.json().status, 'consulting')
  t.match(second.json().channels, { agent: next.agentChannel.name, peer: next.customerChannel.name })
})

t.test('the host app restarted during a consultation: the transfer is found again under its id and completes', async (t) => {
  const first = await startTransferHost()
  const softphone = await connectFeed(first.baseUrl, 'token-101')
  const call = await callAgent('101')
  const started = await execute(first, { targetExtension: '103', transferType: 'attended' })
  t.equal(started.statusCode, 200, started.body)
  const id = String(started.json().id)
  await waitForStatus(first, id, 'target_answered')
  await softphone.waitFor('target answered', (event) => (event.data as { status?: string }).status === 'target_answered')
  const seen = softphone.lastId()
  await softphone.close()
  await first.close()

  const second = await startTransferHost()
  t.teardown(second.close)
  // The softphone resumes on the restarted app: the ids it knew mean nothing there, so it is told.
  const resumed = await connectFeed(second.baseUrl, 'token-101', seen)
  t.teardown(resumed.close)
  const gap = await resumed.waitFor('feed:gap', (event) => event.type === 'feed:gap')
  t.equal(resumed.received[0]?.type, 'feed:gap', 'the first message says what was lost')
  t.match(gap.data, { since: seen })
  t.ok(resumed.received.every((event) => event.type === 'feed:gap' || event.id > seen), 'nothing numbered like the old process\'s events')
  const found = await statusOf(second, id)
  t.match(found, { id, type: 'attended', status: 'target_answered', extension: '101', targetExtension: '103', channels: { agent: call.agentChannel.name, peer: call.customerChannel.name } })
  const completed = await second.as('101', { method: 'POST', url: `/api/transfers/${id}/complete` })
  t.equal(completed.statusCode, 200, completed.body)
  t.equal(completed.json().status, 'completed')
  t.ok((await bridgePeersOf(call.customerChannel.id)).some(isLegOf('103')), 'the customer is with 103')
})

t.test('the host app restarted during a consultation: cancel works afterwards too', async (t) => {
  const first = await startTransferHost()
  const call = await callAgent('101')
  const started = await execute(first, { targetExtension: '104', transferType: 'attended' })
  const id = String(started.json().id)
  await waitForStatus(first, id, 'target_answered')
  await first.close()
  const second = await startTransferHost()
  t.teardown(second.close)
  const cancelled = await second.as('101', { method: 'POST', url: `/api/transfers/${id}/cancel` })
  t.equal(cancelled.statusCode, 200, cancelled.body)
  t.equal(cancelled.json().status, 'cancelled')
  t.same(await bridgePeersOf(call.customerChannel.id), [call.agentChannel.name], 'the agent is back with the customer')
})

t.test('the host app restarted during a three-way: found again as a three-way; the agent leaves: completed', async (t) => {
  const first = await startTransferHost()
  const call = await callAgent('101')
  const id = String((await execute(first, { targetExtension: '104', transferType: 'attended' })).json().id)
  await waitForStatus(first, id, 'target_answered')
  const joined = await first.as('101', { method: 'POST', url: `/api/transfers/${id}/three-way` })
  t.equal(joined.json().status, 'three_way', joined.body)
  await first.close()
  const second = await startTransferHost()
  t.teardown(second.close)
  const found = await waitForStatus(second, id, 'three_way')
  t.equal(found.talkingTo, 'both', JSON.stringify(found))
  await hangup(call.agentChannel.id)
  await waitForStatus(second, id, 'completed')
  t.ok((await bridgePeersOf(call.customerChannel.id)).some(isLegOf('104')), 'the customer talks with 104')
})

t.test('the host app restarted while the agent had swapped back to the customer: found again, swapped; swap back and complete work', async (t) => {
  const first = await startTransferHost({ rateLimit: false })
  const call = await callAgent('101')
  const id = String((await execute(first, { targetExtension: '104', transferType: 'attended' })).json().id)
  await waitForStatus(first, id, 'target_answered')
  const swapped = await first.as('101', { method: 'POST', url: `/api/transfers/${id}/swap` })
  t.equal(swapped.json().talkingTo, 'customer', swapped.body)
  await first.close()
  const second = await startTransferHost({ rateLimit: false })
  t.teardown(second.close)
  const found = await waitForStatus(second, id, 'target_answered')
  t.match(found, { talkingTo: 'customer', channels: { agent: call.agentChannel.name, peer: call.customerChannel.name } }, JSON.stringify(found))
  const back = await second.as('101', { method: 'POST', url: `/api/transfers/${id}/swap` })
  t.equal(back.json().talkingTo, 'target', back.body)
  const completed = await second.as('101', { method: 'POST', url: `/api/transfers/${id}/complete` })
  t.equal(completed.json().status, 'completed', completed.body)
  await waitFor(async () => (await bridgePeersOf(call.customerChannel.id)).some(isLegOf('104')), 5000, 'the customer talks with 104')
})

t.test('a queue dialing its member through Local while an agent\'s phone makes its own attended transfer: one transfer, no phantom', async (t) => {
  const host = await startTransferHost()
  t.teardown(host.close)
  const call = await callAgent('101')
  // The agent's phone starts its own consultation (its transfer key), and at the same moment a
  // customer calls the support queue, whose member 106 is dialed through Local/106@from-internal.
  await withAmi(pbx.ami, async (ami) => { await ami.action({ Action: 'Atxfer', Channel: call.agentChannel.name, Exten: '103', Context: transferContext }) })
  await withAmi(farm.ami, async (ami) => {
    await ami.action({ Action: 'Originate', Channel: 'PJSIP/support@customer2', Application: 'Wait', Data: '3600', Timeout: 10_000, Async: 'true' })
  })
  await waitFor(async () => (await listChannels()).some((channel) => channel.name.startsWith('Local/106@') && channel.state === 'Up'), 10_000, 'the queue member answered through Local')
  const transfers = await waitFor(async () => {
    const list = (await host.as('super', { method: 'GET', url: '/api/transfers' })).json().transfers as any[]
    return list.length > 0 && list
  }, 5000, 'the phone transfer adopted')
  await new Promise((resolve) => setTimeout(resolve, 500))
  const all = (await host.as('super', { method: 'GET', url: '/api/transfers' })).json().transfers as any[]
  t.equal(all.length, 1, 'exactly one transfer')
  t.match(transfers[0], { origin: 'phone', type: 'attended', extension: '101', targetExtension: '103' })
  t.notOk(all.some((transfer) => transfer.targetExtension === '106' || String(transfer.channels.consultation ?? '').startsWith('Local/106@')), 'the queue\'s Local channel is no consultation')
})

t.test('Asterisk killed and restarted mid-consultation and mid-blind-transfer: both end with asterisk_restarted, the monitor matches ARI', async (t) => {
  const host = await startTransferHost({ reconcileIntervalMs: 1000, amiPingIntervalMs: 500 })
  t.teardown(host.close)
  await callAgent('101')
  const attended = await execute(host, { targetExtension: '103', transferType: 'attended' })
  t.equal(attended.statusCode, 200, attended.body)
  await waitForStatus(host, attended.json().id, 'target_answered')
  await callAgent('104', 'customer2')
  await setAgentAnswerDelay(30)
  t.teardown(async () => { await setAgentAnswerDelay(0) })
  const blind = await host.as('104', { method: 'POST', url: '/api/transfers/execute', payload: { targetExtension: '105', transferType: 'blind' } })
  t.equal(blind.statusCode, 200, blind.body)
  t.equal(blind.json().status, 'redirected', 'the customer rings 105, who does not answer yet')

  await killPbx()
  await startPbx()
  await setAgentAnswerDelay(0)
  for (const id of [attended.json().id, blind.json().id]) {
    const ended = await waitForStatus(host, id, 'failed', 15_000)
    t.equal(ended.failureReason, 'asterisk_restarted', `${String(ended.type)} transfer: ${JSON.stringify(ended)}`)
  }
  t.same((await host.as('super', { method: 'GET', url: '/api/transfers' })).json().transfers, [], 'nothing left in progress')
  const calls = await waitFor(async () => {
    const listed = (await host.as('super', { method: 'GET', url: '/api/calls' })).json().calls as unknown[]
    return listed.length === 0 && listed
  }, 10_000, 'no ghost call')
  t.same(calls, [])
})
