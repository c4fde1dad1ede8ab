// The plugin driving the test bed's two PBXes as a pool (issue 18), on real PJSIP channels: blind
// transfers across the trunk both ways (answered once both servers show it, matched by the SIP
// Call-ID), recall across (no answer, busy; an offline agent refused by its own server's state), the
// agents of both servers with their own server's states, a duplicate extension refused, metrics by
// server. The host registers the plugin with `servers`, as a host app would (test/helpers/pool-host.ts),
// each server's AMI going through a recording proxy (what reached Asterisk, and what did not).
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import type { FeedEnvelope, Transfer } from '../../src/index.js'
import { startAmiRecordingProxy } from '../helpers/ami-recording-proxy.js'
import { startTcpProxy } from '../helpers/tcp-proxy.js'
import { listEndpoints } from '../helpers/asterisk/ari.js'
import { bridgePeersOf, callAgent, hangupAllCalls, setAgentAnswerDelay, waitFor } from '../helpers/asterisk/calls.js'
import { trunkLegs, type TrunkLeg } from '../helpers/asterisk/trunk-calls.js'
import { duplicateExtension, pbx, pbx2, pbx2Agents, pbx2BusyAgent, pbx2OfflineAgent, pbx2UnansweringAgent } from '../helpers/asterisk/testbed.js'
import type { PbxSettings } from '../helpers/asterisk/testbed.js'
import { connectFeed, type FeedClient } from '../helpers/feed-client.js'
import { poolNames, startPoolHost } from '../helpers/pool-host.js'

t.setTimeout(180_000)

const AFTER_MS = 3000
/** The servers' names in the pool (the test bed's first PBX is `pbx1` here, as the other one calls it). */
const FIRST = poolNames.pbx
const SECOND = poolNames.pbx2

const [proxy1, proxy2] = await Promise.all([startAmiRecordingProxy(pbx.ami), startAmiRecordingProxy(pbx2.ami)])
// In front of the second PBX's recorder: what the second PBX tells the plugin can be held back.
const link2 = await startTcpProxy({ host: '127.0.0.1', port: proxy2.port })
const host = await startPoolHost({
  servers: [
    { name: FIRST, ami: { ...pbx.ami, port: proxy1.port }, ari: pbx.ari },
    { name: SECOND, ami: { ...pbx2.ami, port: link2.port }, ari: pbx2.ari }
  ],
  recall: { afterMs: AFTER_MS, ringAgentMs: 4000 },
  metrics: true,
  // The default keep-alive: the second PBX's link is stalled for 2 s below, which must not look like a dead link.
  amiPingIntervalMs: 15_000
})
const { app, baseUrl } = host
/** What the plugin logged, one JSON line each. */
const logLines = host.logs
t.teardown(async () => {
  await setAgentAnswerDelay(0)
  await hangupAllCalls()
  await host.close()
  await link2.close()
  await Promise.all([proxy1.close(), proxy2.close()])
})
await hangupAllCalls()
t.afterEach(async () => {
  await setAgentAnswerDelay(0)
  await hangupAllCalls()
})

// ------------------------------------------------------------------------------------------ helpers

const as = async (who: string, options: InjectOptions): Promise<LightMyRequestResponse> => await host.as(who, options)

const execute = async (who: string, targetExtension: string): Promise<LightMyRequestResponse> =>
  await as(who, { method: 'POST', url: '/api/transfers/execute', payload: { targetExtension, transferType: 'blind' } })

const started = (response: LightMyRequestResponse): Transfer => {
  if (response.statusCode !== 200) throw new Error(`execute answered ${response.statusCode}: ${response.body}`)
  return response.json()
}

const feed = async (t: Test, who = 'super'): Promise<FeedClient> => {
  const client = await connectFeed(baseUrl, `token-${who}`)
  t.teardown(client.close)
  return client
}

const dataOf = (event: FeedEnvelope): Record<string, unknown> => event.data as Record<string, unknown>

const ofTransfer = (id: string, ...statuses: string[]) => (event: FeedEnvelope): boolean =>
  dataOf(event).id === id && statuses.includes(String(dataOf(event).status))

const transferStatuses = (client: FeedClient, id: string): string[] =>
  client.received.filter((event) => event.type !== 'call:status' && dataOf(event).id === id).map((event) => String(dataOf(event).status))

const isLegOf = (extension: string) => (name: string): boolean => name.startsWith(`PJSIP/${extension}-`)

interface AgentEntry { extension: string, server?: string, state: string, reason?: string }

const allAgents = async (): Promise<AgentEntry[]> => {
  const response = await as('super', { method: 'GET', url: '/api/transfers/available-agents?all=true' })
  if (response.statusCode !== 200) throw new Error(`available-agents answered ${response.statusCode}: ${response.body}`)
  return response.json().agents
}

const entriesOf = (entries: AgentEntry[], extension: string): AgentEntry[] => entries.filter((entry) => entry.extension === extension)

/** The AMI actions the plugin sent to a server from now on. */
const actionsFrom = (proxy: typeof proxy1): () => string[] => {
  const before = proxy.actions().length
  return () => proxy.actions().slice(before)
}

/** Actions that would move a call (the plugin's pings and reads are not). */
const CALL_ACTIONS = ['Redirect', 'Atxfer', 'Setvar', 'Originate', 'BlindTransfer', 'Hangup']

/** What a refused request sent: nothing at all but the links' keep-alive pings. */
const besidesPings = (actions: Array<() => string[]>): string[] => actions.flatMap((sent) => sent()).filter((action) => action !== 'Ping')

/**
 * The two halves of the call that crossed for the customer: on `from`, the trunk leg the customer is
 * bridged with (through the recall's Local pair), on the other server the inbound leg with the same
 * Call-ID, bridged with the target.
 */
async function halvesOf (customer: string, target: string, from: PbxSettings): Promise<{ here: TrunkLeg, there: TrunkLeg, customerPeers: string[] }> {
  const to = from === pbx ? pbx2 : pbx
  return await waitFor(async () => {
    const customerPeers = await bridgePeersOf(customer, from)
    const here = (await trunkLegs(from)).find((leg) => customerPeers.includes(leg.trunkChannel.name))
    const there = here === undefined ? undefined : (await trunkLegs(to)).find((leg) => leg.callId === here.callId)
    return here !== undefined && there?.bridge?.peers.some((peer) => isLegOf(target)(peer.name)) === true ? { here, there, customerPeers } : undefined
  }, 5000, `the customer bridged with the trunk on ${from.name}, and ${target} with the same call on ${to.name}`)
}

// ---------------------------------------------------------------------------------------- scenarios

t.test('blind from an agent of the first PBX to one of the second: answered once both servers show it', async (t) => {
  const events = await feed(t)
  const call = await callAgent('101')
  // 303's phone rings a second before it answers: an answer declared from the first server alone, or
  // at the Redirect, would come before 303 is bridged on the second.
  await setAgentAnswerDelay(1)
  const transfer = started(await execute('101', '303'))
  t.match(transfer, { server: FIRST, extension: '101', targetExtension: '303', status: 'redirected' })
  const answered = await events.waitFor('answered', ofTransfer(transfer.id, 'answered', 'failed'), 15_000)
  const record = answered.data as Transfer
  // Asked at once, on both servers: what the plugin saw when it declared the answer.
  const { here, there, customerPeers } = await halvesOf(call.customerChannel.id, '303', pbx)
  t.equal(record.status, 'answered', JSON.stringify(record))
  t.equal(record.server, FIRST, 'the transfer names the server the call is on')
  t.same(customerPeers, [here.trunkChannel.name], 'on the first PBX the customer talks to the trunk leg only')
  t.match(here.trunkChannel.name, /^PJSIP\/pbx2-/)
  t.match(there.trunkChannel.name, /^PJSIP\/pbx1-/)
  t.equal(here.callId, there.callId, 'the two halves are one SIP call')
  t.match(there.bridge?.peers.map((peer) => peer.name), [/^PJSIP\/303-/], 'on the second PBX 303 talks to the inbound leg of that call')
  t.equal(record.channels.target, here.trunkChannel.name, 'the target leg on the customer\'s server is the trunk leg')
  t.same(transferStatuses(events, transfer.id), ['initiated', 'redirected', 'answered'])
  t.ok(events.received.filter((event) => event.type !== 'call:status' && dataOf(event).id === transfer.id).every((event) => dataOf(event).server === FIRST),
    'every event of the transfer names its server')
  // The feed names each call's and each agent's server: 101's on the first PBX, 303's on the second.
  const callOf = (extension: string, server: string) => (event: FeedEnvelope): boolean => event.type === 'call:status' &&
    dataOf(event).extension === extension && (dataOf(event).call as { server?: string } | undefined)?.server === server
  await events.waitFor('303\'s call on the second PBX', callOf('303', SECOND))
  await events.waitFor('101\'s call on the first PBX', callOf('101', FIRST))
  await events.waitFor('303 on a call, on the second PBX', (event) => event.type === 'agent:status' && dataOf(event).extension === '303' &&
    dataOf(event).server === SECOND && dataOf(event).state === 'on_call')
  const unnamed = events.received.filter((event) => (event.type === 'agent:status' && typeof dataOf(event).server !== 'string') ||
    (event.type === 'call:status' && dataOf(event).call !== undefined && typeof (dataOf(event).call as { server?: unknown }).server !== 'string'))
  t.same(unnamed, [], 'no agent status nor call in the feed without its server')
})

// The second PBX's events held back (its AMI link stalls what it sends for 2 s once both PBXes show the
// call): the first PBX shows the customer with the trunk, but the plugin's view of the second does not
// show 303 with that call yet. Before the fix the answer then waited for the next reconciliation (26 s);
// within 5 s it can only have come from the second PBX's own events.
t.test('the target\'s server not showing it yet: not answered until it does, then answered at once', async (t) => {
  const events = await feed(t)
  const call = await callAgent('101')
  const transfer = started(await execute('101', '303'))
  link2.stall({ answersOnly: true })
  let restored = false
  t.teardown(async () => { if (!restored) await link2.restore() })
  await halvesOf(call.customerChannel.id, '303', pbx)
  const bothShowIt = Date.now()
  // Longer than the confirmer's looks at one event (6 x 250 ms).
  await new Promise((resolve) => setTimeout(resolve, 2000))
  const meanwhile = (await as('super', { method: 'GET', url: `/api/transfers/${transfer.id}` })).json()
  t.equal(meanwhile.status, 'redirected', 'not declared while the second PBX\'s view lags')
  t.same(transferStatuses(events, transfer.id), ['initiated', 'redirected'])
  await link2.restore()
  restored = true
  const restoredAt = Date.now()
  const answered = await events.waitFor('answered', ofTransfer(transfer.id, 'answered', 'failed'), 40_000)
  t.equal(dataOf(answered).status, 'answered')
  const after = Date.now() - restoredAt
  t.ok(after < 5000, `answered ${after} ms after the second PBX's events came through (${Date.now() - bothShowIt} ms after both showed it)`)
})

t.test('and the other way: an agent of the second PBX transfers its customer to an agent of the first', async (t) => {
  const events = await feed(t)
  const call = await callAgent('302', 'customer1', { server: pbx2 })
  const redirects = actionsFrom(proxy2)
  const firstActions = actionsFrom(proxy1)
  const transfer = started(await execute('302', '102'))
  t.equal(transfer.server, SECOND, 'sent by the server the call is on')
  const answered = await events.waitFor('answered', ofTransfer(transfer.id, 'answered', 'failed'), 15_000)
  t.equal(dataOf(answered).status, 'answered', JSON.stringify(answered.data))
  const { here, there } = await halvesOf(call.customerChannel.id, '102', pbx2)
  t.equal(here.callId, there.callId)
  t.match(there.bridge?.peers.map((peer) => peer.name), [/^PJSIP\/102-/])
  t.ok(redirects().includes('Redirect'), 'the Redirect went to the second PBX')
  t.notOk(firstActions().some((action) => CALL_ACTIONS.includes(action)), 'nothing that moves a call was sent to the first')
})

t.test('recall across: 391 on the second PBX never answers; the customer rings back at the agent on the first', async (t) => {
  const events = await feed(t)
  const call = await callAgent('101')
  const transfer = started(await execute('101', pbx2UnansweringAgent))
  const ended = await events.waitFor('failed, recalled', ofTransfer(transfer.id, 'failed', 'answered'), AFTER_MS + 15_000)
  t.match(ended.data, { status: 'failed', failureReason: 'no_answer', recall: { to: 'agent' }, server: FIRST })
  t.same(transferStatuses(events, transfer.id), ['initiated', 'redirected', 'recalling', 'failed'])
  const peers = await waitFor(async () => {
    const names = await bridgePeersOf(call.customerChannel.id)
    return names.some(isLegOf('101')) && names
  }, 8000, 'the customer bridged with 101 again')
  t.equal(peers.length, 1, `the customer with 101 only: ${peers.join(', ')}`)
  t.same((await trunkLegs(pbx2)).map((leg) => leg.trunkChannel.name), [], '391 no longer rung over the trunk')
})

t.test('recall across: 392 on the second PBX is busy; the customer is back with the agent, never hung up', async (t) => {
  const events = await feed(t)
  const call = await callAgent('101')
  const begun = Date.now()
  const transfer = started(await execute('101', pbx2BusyAgent))
  const ended = await events.waitFor('failed, recalled', ofTransfer(transfer.id, 'failed', 'answered'), AFTER_MS + 15_000)
  t.match(ended.data, { status: 'failed', recall: { to: 'agent' }, server: FIRST })
  t.equal(dataOf(ended).failureReason, 'target_busy', `the busy answer crossed the trunk: ${String(dataOf(ended).failureReason)}`)
  t.ok(Date.now() - begun < AFTER_MS, `recalled after ${Date.now() - begun} ms, without waiting for afterMs`)
  await waitFor(async () => (await bridgePeersOf(call.customerChannel.id)).some(isLegOf('101')), 8000, 'the customer with 101 again')
})

t.test('an offline agent of the second PBX (305): refused by its own server\'s state, the call stays', async (t) => {
  const call = await callAgent('101')
  const sent = [actionsFrom(proxy1), actionsFrom(proxy2)]
  const response = await execute('101', pbx2OfflineAgent)
  t.equal(response.statusCode, 409, response.body)
  t.match(response.json(), { code: 'XFER_TARGET_UNAVAILABLE' })
  t.match(response.json().message, /not registered/, 'the reason the second PBX gives')
  t.same(besidesPings(sent), [], 'no AMI action sent to either server')
  t.same(await bridgePeersOf(call.customerChannel.id), [call.agentChannel.name], 'the customer stays with 101')
})

t.test('available agents: both servers\' agents with their server, busy and offline from each one\'s own server; a busy one refused', async (t) => {
  const idle = await allAgents()
  for (const extension of pbx2Agents) t.same(entriesOf(idle, extension), [{ extension, server: SECOND, state: 'available' }], `${extension} on the second PBX`)
  t.same(entriesOf(idle, '101'), [{ extension: '101', server: FIRST, state: 'available' }])
  t.same(entriesOf(idle, pbx2OfflineAgent), [{ extension: pbx2OfflineAgent, server: SECOND, state: 'offline', reason: 'not registered' }])
  t.same(entriesOf(idle, '107'), [{ extension: '107', server: FIRST, state: 'offline', reason: 'not registered' }])
  // 302 takes a customer of the second PBX: busy there, and so in the list.
  await callAgent('302', 'customer2', { server: pbx2 })
  const busy = await waitFor(async () => {
    const entries = await allAgents()
    return entriesOf(entries, '302')[0]?.state === 'on_call' && entries
  }, 5000, '302 on a call in the list')
  t.match(entriesOf(busy, '302'), [{ extension: '302', server: SECOND, state: 'on_call' }])
  const available = await as('101', { method: 'GET', url: '/api/transfers/available-agents' })
  const extensions = (available.json().agents as AgentEntry[]).map((entry) => `${entry.extension}@${String(entry.server)}`)
  t.ok(extensions.includes(`303@${SECOND}`) && extensions.includes(`102@${FIRST}`), extensions.join(', '))
  t.notOk(extensions.includes(`302@${SECOND}`), '302, on a call, is not offered')
  t.notOk(extensions.some((entry) => entry.startsWith('101@')), 'nor the caller')
  // A transfer to 302 is refused by its own server's state, as on one server.
  const call = await callAgent('101')
  const sent = actionsFrom(proxy1)
  const refused = await execute('101', '302')
  t.equal(refused.statusCode, 409, refused.body)
  t.equal(refused.json().code, 'XFER_TARGET_BUSY')
  t.same(besidesPings([sent]), [], 'no AMI action sent')
  t.same(await bridgePeersOf(call.customerChannel.id), [call.agentChannel.name], 'the customer stays with 101')
})

t.test('an extension configured on both servers: logged once, listed offline with the reason, refused 409, nothing sent', async (t) => {
  const mentions = (): number => logLines.filter((line) => line.extension === duplicateExtension && /several Asterisk servers/.test(String(line.msg))).length
  await waitFor(async () => (await listEndpoints('PJSIP', pbx2.ari)).some((endpoint) => endpoint.resource === duplicateExtension && endpoint.state === 'online'),
    10_000, `${duplicateExtension} registered on the second PBX`)
  const entries = entriesOf(await allAgents(), duplicateExtension)
  t.same(entries.map((entry) => entry.server), [FIRST, SECOND], 'listed under each server it is on')
  for (const entry of entries) t.match(entry, { state: 'offline', reason: `configured on several servers (${FIRST}, ${SECOND})` })
  await allAgents()
  const call = await callAgent('101')
  const sent = [actionsFrom(proxy1), actionsFrom(proxy2)]
  const response = await execute('101', duplicateExtension)
  t.equal(response.statusCode, 409, response.body)
  t.equal(response.json().code, 'XFER_AMBIGUOUS_AGENT')
  t.same(besidesPings(sent), [], 'no AMI action sent to either server')
  t.same(await bridgePeersOf(call.customerChannel.id), [call.agentChannel.name], 'the customer stays with 101')
  t.equal(mentions(), 1, 'said once in the log, however often it is listed or asked for')
})

t.test('metrics: the transfers above, by the server they were sent on; each server\'s events and links', async (t) => {
  const response = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(response.statusCode, 200)
  const value = (series: string): number | undefined => {
    const line = response.body.split('\n').find((candidate) => candidate.startsWith(`${series} `))
    return line === undefined ? undefined : Number(line.slice(series.length + 1))
  }
  t.equal(value(`asterisk_transfer_transfers_finished_total{type="blind",outcome="answered",reason="none",server="${FIRST}"}`), 2)
  t.equal(value(`asterisk_transfer_transfers_finished_total{type="blind",outcome="answered",reason="none",server="${SECOND}"}`), 1)
  t.equal(value(`asterisk_transfer_transfers_finished_total{type="blind",outcome="failed",reason="no_answer",server="${FIRST}"}`), 1)
  t.equal(value(`asterisk_transfer_transfers_started_total{type="blind",origin="plugin",server="${FIRST}"}`), 4)
  t.equal(value(`asterisk_transfer_asterisk_connected{link="ami",server="${SECOND}"}`), 1)
  t.ok((value(`asterisk_transfer_pbx_events_total{type="bridgeEnter",server="${SECOND}"}`) ?? 0) > 0, 'the second server\'s events are counted')
})
