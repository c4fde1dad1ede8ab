// Rights and rules on the real Asterisk 22 test bed: an agent cannot move another agent's call, a
// supervisor can, the host's business rule can say no (and its reason reaches the client), named
// destinations route a customer into a queue, and a burst of requests for one call makes one transfer.
import t from 'tap'
import { AmiConnection } from '../helpers/asterisk/ami.js'
import { bridgePeersOf, callAgent, hangupAllCalls, waitFor } from '../helpers/asterisk/calls.js'
import { pbx, salesQueue, transferContext } from '../helpers/asterisk/testbed.js'
import { startTransferHost } from '../helpers/transfer-host.js'

const host = await startTransferHost({
  destinations: { 'sales-queue': { kind: 'queue', context: transferContext, exten: salesQueue.exten, label: 'Sales' } },
  // The call center's rule for the test: agent 106 may not transfer to 105.
  authorizeTransfer: ({ identity, target }) => identity.extension === '106' && target.exten === '105'
    ? { allowed: false, reason: 'agent 106 may not transfer to 105 after hours' }
    : true
})
t.teardown(host.close)
await hangupAllCalls()
t.afterEach(async () => { await hangupAllCalls() })

const execute = async (who: string, body: Record<string, unknown>) =>
  await host.as(who, { method: 'POST', url: '/api/transfers/execute', payload: body })
const isLegOf = (extension: string) => (name: string): boolean => name.startsWith(`PJSIP/${extension}-`)

t.test('an agent transferring another agent\'s call gets 403 and the call is untouched', async (t) => {
  const call = await callAgent('101')
  const before = host.proxy.actions().length
  const response = await execute('102', { extension: '101', targetExtension: '103', transferType: 'blind' })
  t.equal(response.statusCode, 403)
  t.equal(response.json().code, 'XFER_FORBIDDEN')
  t.same(host.proxy.actions().slice(before).filter((action) => /redirect|atxfer/i.test(action)), [])
  t.same(await bridgePeersOf(call.customerChannel.id), [call.agentChannel.name])
})

t.test('a supervisor can transfer an agent\'s call', async (t) => {
  const call = await callAgent('101')
  const response = await execute('super', { extension: '101', targetExtension: '103', transferType: 'blind' })
  t.equal(response.statusCode, 200, response.body)
  t.match(response.json(), { extension: '101', requestedBy: '100', status: 'redirected' })
  await waitFor(async () => (await bridgePeersOf(call.customerChannel.id)).some(isLegOf('103')), 10_000, 'customer with 103')
})

t.test('the host\'s authorizeTransfer denial reaches the client with its reason', async (t) => {
  const call = await callAgent('106')
  const response = await execute('106', { targetExtension: '105', transferType: 'blind' })
  t.equal(response.statusCode, 403)
  t.match(response.json(), { code: 'XFER_TRANSFER_DENIED', message: /after hours/ })
  t.same(await bridgePeersOf(call.customerChannel.id), [call.agentChannel.name], 'the call stays')
})

t.test('a target that is neither an agent nor a destination is refused with 422', async (t) => {
  await callAgent('101')
  const response = await execute('101', { targetExtension: salesQueue.exten, transferType: 'blind' })
  t.equal(response.statusCode, 422, 'the queue\'s raw extension is not a configured destination')
  t.equal(response.json().code, 'XFER_UNKNOWN_TARGET')
})

t.test('a transfer to a named queue destination lands the customer in the queue', async (t) => {
  const call = await callAgent('101')
  const ami = await AmiConnection.connect(pbx.ami, { events: true })
  t.teardown(() => ami.close())
  const joined = new Promise<void>((resolve) => {
    ami.onEvent((event) => { if (event.event === 'QueueCallerJoin' && event.channel === call.customerChannel.name) resolve() })
  })
  const response = await execute('101', { targetExtension: 'sales-queue', transferType: 'blind' })
  t.equal(response.statusCode, 200, response.body)
  t.match(response.json(), { destination: 'sales-queue', targetExtension: 'sales-queue', status: 'redirected' })
  await joined
  t.pass('the customer joined the sales queue')
  const peers = await waitFor(async () => {
    const names = await bridgePeersOf(call.customerChannel.id)
    return names.some((name) => salesQueue.members.some((member) => isLegOf(member)(name))) && names
  }, 10_000, 'the customer answered by a queue member')
  t.equal(peers.length, 1)
  const transfer = await waitFor(async () => {
    const state = (await host.as('101', { method: 'GET', url: `/api/transfers/${String(response.json().id)}` })).json()
    return state.status === 'answered' && state
  }, 5000, 'the transfer answered')
  t.ok(salesQueue.members.some((member) => String(transfer.channels.target).startsWith(`PJSIP/${member}-`)), 'the answering member is the target leg')
})

t.test('the named destinations are listed with the available agents', async (t) => {
  const response = await host.as('101', { method: 'GET', url: '/api/transfers/available-agents' })
  t.same(response.json().destinations, [{ name: 'sales-queue', kind: 'queue', label: 'Sales' }])
})

t.test('10 concurrent requests for one call: one transfer, nine 409 naming it', async (t) => {
  const call = await callAgent('101')
  const before = host.proxy.actions().length
  const responses = await Promise.all(Array.from({ length: 10 }, async () =>
    await execute('101', { targetExtension: '103', transferType: 'attended' })))
  const ok = responses.filter((response) => response.statusCode === 200)
  const conflicts = responses.filter((response) => response.statusCode === 409)
  t.equal(ok.length, 1, responses.map((response) => response.statusCode).join(','))
  t.equal(conflicts.length, 9)
  const id = ok[0]?.json().id
  t.ok(conflicts.every((response) => response.json().code === 'XFER_TRANSFER_IN_PROGRESS' && response.json().transferId === id))
  t.equal(host.proxy.actions().slice(before).filter((action) => /^atxfer$/i.test(action)).length, 1, 'one Atxfer sent')
  await waitFor(async () => (await bridgePeersOf(call.agentChannel.id)).some(isLegOf('103')), 10_000, 'the one consultation')
})

t.test('10 concurrent identical requests with one Idempotency-Key: one transfer, ten identical answers', async (t) => {
  const call = await callAgent('101')
  const before = host.proxy.actions().length
  const body = { targetExtension: '102', transferType: 'blind' }
  const responses = await Promise.all(Array.from({ length: 10 }, async () =>
    await host.as('101', { method: 'POST', url: '/api/transfers/execute', payload: body, headers: { 'idempotency-key': 'retry-7f3a' } })))
  t.same(responses.map((response) => response.statusCode), Array(10).fill(200))
  t.equal(new Set(responses.map((response) => response.json().id)).size, 1, 'one transfer id in every answer')
  t.equal(host.proxy.actions().slice(before).filter((action) => /^redirect$/i.test(action)).length, 1, 'one Redirect sent')
  t.equal(responses.filter((response) => response.headers['idempotency-replayed'] === 'true').length, 9)
  await waitFor(async () => (await bridgePeersOf(call.customerChannel.id)).some(isLegOf('102')), 10_000, 'customer with 102')
  const reused = await host.as('101', { method: 'POST', url: '/api/transfers/execute', payload: { ...body, targetExtension: '103' }, headers: { 'idempotency-key': 'retry-7f3a' } })
  t.equal(reused.statusCode, 422)
  t.equal(reused.json().code, 'XFER_IDEMPOTENCY_KEY_REUSED')
})
