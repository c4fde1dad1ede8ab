// Attended transfers across the servers of a pool, on the real test bed's two PBXes: agent 101 of the
// first PBX consults agent 301 of the second (Atxfer on the first: a Local pair whose far half dials
// the trunk), then completes, cancels, swaps or brings the three into one call. Every outcome is
// checked on the bridges of both servers, the two halves of the consultation matched by their SIP
// Call-ID, never by timing or caller ID. The phone's own attended transfer across is reported the same
// way. Last, the other server killed in the middle of a consultation across, and started again.
import t, { type Test } from 'tap'
import { withAmi } from '../helpers/asterisk/ami.js'
import { killPbx, startPbx } from '../helpers/asterisk/asterisk-process.js'
import { bridgePeersOf, callAgent, channelExists, hangup, hangupAllCalls, waitFor, type CustomerCall } from '../helpers/asterisk/calls.js'
import { otherHalf, trunkLegs, type TrunkLeg } from '../helpers/asterisk/trunk-calls.js'
import { pbx, pbx2, pbx2UnansweringAgent, trunks } from '../helpers/asterisk/testbed.js'
import { poolNames, startPoolHost } from '../helpers/pool-host.js'
import type { Transfer } from '../../src/index.js'
import { isFinal } from '../../src/domain/transfer.js'

const host = await startPoolHost()
t.teardown(host.close)
await hangupAllCalls()
t.afterEach(async () => { await hangupAllCalls() })

const post = async (who: string, path: string, payload?: Record<string, unknown>): Promise<{ statusCode: number, body: string, json: () => any }> =>
  await host.as(who, { method: 'POST', url: `/api/transfers${path}`, ...(payload === undefined ? {} : { payload }) })

const isLegOf = (extension: string) => (name: string): boolean => name.startsWith(`PJSIP/${extension}-`)
const trunkOnPbx1 = (name: string): boolean => name.startsWith(`PJSIP/${trunks.pbx.endpoint}-`)

/** The trunk call between the two PBXes whose second half is bridged with `extension` on pbx2: both halves. */
async function crossedTo (extension: string, what: string): Promise<{ here: TrunkLeg, there: TrunkLeg }> {
  return await waitFor(async () => {
    for (const there of await trunkLegs(pbx2)) {
      if (there.bridge?.peers.some((peer) => isLegOf(extension)(peer.name)) !== true) continue
      const here = await otherHalf(there)
      if (here !== undefined) return { here, there }
    }
    return undefined
  }, 10_000, what)
}

/** An agent of pbx1 (101) with a customer, consulting an agent of pbx2 (301), once it answered. */
async function consultation (t: Test, parties: { agent: string, customer: string, target: string } = { agent: '101', customer: 'customer1', target: '301' }): Promise<{ call: CustomerCall, transfer: Transfer }> {
  const { agent, customer, target } = parties
  const call = await callAgent(agent, customer)
  const started = await post(agent, '/execute', { targetExtension: target, transferType: 'attended' })
  if (started.statusCode !== 200) throw new Error(`execute answered ${started.statusCode}: ${started.body}`)
  const transfer = started.json() as Transfer
  t.match(transfer, { status: 'consulting', server: poolNames.pbx, targetExtension: target, across: { server: poolNames.pbx2 } })
  const answered = await host.waitForStatus(transfer.id, 'target_answered')
  const consult = await crossedTo(target, `the consultation over the trunk: ${target} on pbx2 bridged with its inbound leg`)
  t.same(answered.across, { server: poolNames.pbx2, inbound: consult.there.trunkChannel.name, target: consult.there.bridge?.peers[0]?.name },
    `answered once both servers show it: the far half named (inbound leg and ${target}'s channel on pbx2)`)
  t.match(answered.across?.target, new RegExp(`^PJSIP/${target}-`))
  return { call, transfer: answered }
}

/** The agent's phone presses `digits` (its own feature keys, not the plugin's routes). */
async function phonePresses (call: CustomerCall, digits: string): Promise<void> {
  await withAmi(pbx.ami, async (ami) => {
    for (const digit of digits) await ami.action({ Action: 'PlayDTMF', Channel: call.agentChannel.name, Digit: digit, Duration: 120, Receive: 'true' })
  })
}

/** On pbx2, 301's channel is still bridged with the inbound leg of the very trunk call pbx1 holds as the target's leg. */
async function targetStillWithThisCall (t: Test, transfer: Transfer): Promise<void> {
  const legs = await trunkLegs(pbx2)
  const there = legs.find((leg) => leg.trunkChannel.name === transfer.across?.inbound)
  t.ok(there?.bridge?.peers.some((peer) => peer.name === transfer.across?.target), 'on pbx2 301 is still bridged with this call\'s inbound leg')
  const here = (await trunkLegs(pbx)).find((leg) => leg.trunkChannel.name === transfer.channels.target)
  t.equal(here?.callId, there?.callId, 'the same Call-ID on both halves')
}

t.test('attended across: 101 on pbx1 consults 301 on pbx2, then completes; both servers show the customer with 301', async (t) => {
  const { call, transfer } = await consultation(t)
  t.equal(transfer.talkingTo, 'target')
  const consult = await crossedTo('301', 'the consultation over the trunk')
  t.same(await bridgePeersOf(call.agentChannel.id), [consult.here.trunkChannel.name], 'on pbx1 the agent talks with the trunk leg (through the Local pair)')
  t.notOk((await bridgePeersOf(call.agentChannel.id)).includes(call.customerChannel.name), 'the customer is not in the consultation')
  t.equal(consult.here.callId, consult.there.callId)

  const completed = await post('101', `/${transfer.id}/complete`)
  t.equal(completed.statusCode, 200, completed.body)
  t.match(completed.json(), { status: 'completed', server: poolNames.pbx })
  const peers = await bridgePeersOf(call.customerChannel.id)
  t.ok(peers.length === 1 && trunkOnPbx1(peers[0] ?? ''), `on pbx1 the customer is bridged with the trunk leg (${peers.join(', ')})`)
  const after = await crossedTo('301', '301 still bridged with the inbound leg on pbx2')
  t.equal(after.here.trunkChannel.name, peers[0], 'the same trunk call on both servers (Call-ID)')
  await waitFor(async () => !(await channelExists(call.agentChannel.id)), 5000, "the agent's channel hung up")
  t.same(host.statusesOf(transfer.id), ['initiated', 'consulting', 'target_answered', 'completed'])
})

t.test('attended across, cancelled: the agent is back with the customer and the trunk call is gone from both servers', async (t) => {
  const { call, transfer } = await consultation(t)
  const cancelled = await post('101', `/${transfer.id}/cancel`)
  t.equal(cancelled.statusCode, 200, cancelled.body)
  t.match(cancelled.json(), { status: 'cancelled', across: { server: poolNames.pbx2 } })
  t.same(await bridgePeersOf(call.customerChannel.id), [call.agentChannel.name], 'on pbx1 the customer is with the agent')
  t.notOk((await trunkLegs(pbx2)).some((leg) => leg.trunkChannel.name === transfer.across?.inbound), 'on pbx2 the inbound leg of the consultation is gone (seen before the answer)')
  await waitFor(async () => (await trunkLegs(pbx)).length === 0, 3000, 'no trunk leg left on pbx1')
})

t.test('attended across, swap there and back: each side confirmed on both servers', async (t) => {
  const { call, transfer } = await consultation(t)
  const toCustomer = await post('101', `/${transfer.id}/swap`)
  t.equal(toCustomer.statusCode, 200, toCustomer.body)
  t.match(toCustomer.json(), { status: 'target_answered', talkingTo: 'customer' })
  t.same(await bridgePeersOf(call.customerChannel.id), [call.agentChannel.name], 'on pbx1 the agent talks with the customer')
  await targetStillWithThisCall(t, transfer)

  const toTarget = await post('101', `/${transfer.id}/swap`)
  t.equal(toTarget.statusCode, 200, toTarget.body)
  t.match(toTarget.json(), { status: 'target_answered', talkingTo: 'target' })
  const withAgent = await bridgePeersOf(call.agentChannel.id)
  t.same(withAgent, [transfer.channels.target], 'on pbx1 the agent talks with the trunk leg again')
  await targetStillWithThisCall(t, transfer)
})

t.test('attended across, three-way: customer, agent and the trunk leg in one bridge on pbx1, 301 with this call on pbx2', async (t) => {
  const { call, transfer } = await consultation(t)
  const joined = await post('101', `/${transfer.id}/three-way`)
  t.equal(joined.statusCode, 200, joined.body)
  t.match(joined.json(), { status: 'three_way', talkingTo: 'both' })
  const peers = await bridgePeersOf(call.customerChannel.id)
  t.ok(peers.includes(call.agentChannel.name), `the agent is in the customer's bridge (${peers.join(', ')})`)
  t.ok(peers.some(trunkOnPbx1), 'and the trunk leg (through the Local pair or not)')
  await targetStillWithThisCall(t, transfer)
  await hangup(call.agentChannel.id)
  const done = await host.waitForStatus(transfer.id, 'completed')
  t.equal(done.across?.server, poolNames.pbx2)
  t.ok((await bridgePeersOf(call.customerChannel.id)).some(trunkOnPbx1), 'the agent gone, the customer stays with the trunk leg')
  await targetStillWithThisCall(t, transfer)
})

t.test('attended across, unanswered: 391 on pbx2 never answers, the consultation fails no_answer and the agent is back with the customer', async (t) => {
  const call = await callAgent('101')
  const started = await post('101', '/execute', { targetExtension: pbx2UnansweringAgent, transferType: 'attended' })
  t.equal(started.statusCode, 200, started.body)
  const failed = await host.waitForStatus((started.json() as Transfer).id, 'failed', 30_000)
  t.equal(failed.failureReason, 'no_answer')
  t.same(await bridgePeersOf(call.customerChannel.id), [call.agentChannel.name], 'the customer is with the agent again')
  t.same((await trunkLegs(pbx)).length, 0, 'no trunk leg left on pbx1')
  t.same((await trunkLegs(pbx2)).length, 0, 'nor on pbx2')
})

t.test('the phone\'s own attended transfer across (*2 then 301 on the agent\'s phone) is reported like the plugin\'s, naming both servers', async (t) => {
  const call = await callAgent('101')
  const after = host.feed.lastId()
  await phonePresses(call, '*2301')
  const started = await host.feed.waitFor('the phone\'s transfer', (event) => event.id > after && event.type === 'call:ami_attended_transfer_started')
  t.match(started.data, { origin: 'phone', type: 'attended', server: poolNames.pbx, extension: '101', targetExtension: '301', channels: { agent: call.agentChannel.name, peer: call.customerChannel.name } })
  const id = (started.data as Transfer).id
  const answered = await host.waitForStatus(id, 'target_answered')
  const consult = await crossedTo('301', 'the phone\'s consultation over the trunk')
  t.same(answered.across, { server: poolNames.pbx2, inbound: consult.there.trunkChannel.name, target: consult.there.bridge?.peers[0]?.name })
  await hangup(call.agentChannel.id)
  const completed = await host.waitForStatus(id, 'completed')
  t.equal(completed.across?.server, poolNames.pbx2)
  t.ok((await bridgePeersOf(call.customerChannel.id)).some(trunkOnPbx1), 'the customer with the trunk leg on pbx1')
  await targetStillWithThisCall(t, completed)
})

t.test('the phone\'s own attended transfer to 391 on pbx2, which never answers: the record names pbx2 while it rings', async (t) => {
  const call = await callAgent('101')
  const after = host.feed.lastId()
  await phonePresses(call, `*2${pbx2UnansweringAgent}`)
  const started = await host.feed.waitFor('the phone\'s transfer', (event) => event.id > after && event.type === 'call:ami_attended_transfer_started')
  const id = (started.data as Transfer).id
  const ringing = await waitFor(async () => {
    const record = (await host.as('101', { method: 'GET', url: `/api/transfers/${id}` })).json() as Transfer
    return record.across === undefined ? undefined : record
  }, 5000, 'the phone\'s transfer naming the other server')
  t.same(ringing.across, { server: poolNames.pbx2 }, 'the target\'s server named (its far half is named at the answer, which never comes)')
  t.not(ringing.status, 'target_answered')
  t.notOk(isFinal(ringing.status), `still in progress (${ringing.status})`)
})

t.test('the phone\'s own blind transfer across (#1 then 302 on the agent\'s phone) is reported like the plugin\'s, answered once pbx2 shows it', async (t) => {
  const call = await callAgent('101')
  const after = host.feed.lastId()
  await phonePresses(call, '#1302')
  const started = await host.feed.waitFor('the phone\'s blind transfer', (event) => event.id > after && event.type === 'call:ami_transfer_complete')
  t.match(started.data, { origin: 'phone', type: 'blind', server: poolNames.pbx, extension: '101', targetExtension: '302', channels: { peer: call.customerChannel.name } })
  const answered = await host.waitForStatus((started.data as Transfer).id, 'answered')
  const crossed = await crossedTo('302', '302 on pbx2 bridged with the inbound leg of the customer\'s call')
  t.same(answered.across, { server: poolNames.pbx2, inbound: crossed.there.trunkChannel.name, target: crossed.there.bridge?.peers[0]?.name })
  t.same(await bridgePeersOf(call.customerChannel.id), [crossed.here.trunkChannel.name], 'on pbx1 the customer with that very trunk call')
})

t.test('pbx2 killed in the middle of a consultation across, then started again', async (t) => {
  const { call, transfer } = await consultation(t)
  const second = await consultation(t, { agent: '102', customer: 'customer3', target: '302' })
  const other = await callAgent('103', 'customer2')
  await killPbx(pbx2)
  let restarted = false
  t.teardown(async () => { if (!restarted) await startPbx({ server: pbx2 }) })
  await host.feed.waitFor('pbx2 seen down', (event) => event.type === 'asterisk:connection' &&
    (event.data as { server?: string, ami: boolean, ari: boolean }).server === poolNames.pbx2 && !(event.data as { ami: boolean }).ami && !(event.data as { ari: boolean }).ari, 10_000)

  const started = Date.now()
  const toPbx2 = await post('103', '/execute', { targetExtension: '302', transferType: 'blind' })
  t.equal(toPbx2.statusCode, 503, toPbx2.body)
  t.match(toPbx2.json(), { code: 'XFER_ASTERISK_UNAVAILABLE', message: /server pbx2/ })
  const complete = await post('101', `/${transfer.id}/complete`)
  t.equal(complete.statusCode, 503, complete.body)
  t.match(complete.json(), { code: 'XFER_ASTERISK_UNAVAILABLE', message: /server pbx2/ })
  t.ok(Date.now() - started < 1000, `both refused at once (${Date.now() - started} ms), not after an action's timeout`)

  const cancelled = await post('102', `/${second.transfer.id}/cancel`)
  t.equal(cancelled.statusCode, 200, cancelled.body)
  t.match(cancelled.json(), { status: 'cancelled' }, 'a cancel needs only the agent\'s server: it goes through')
  t.same(await bridgePeersOf(second.call.customerChannel.id), [second.call.agentChannel.name], 'that customer is back with its agent')

  const local = await post('103', '/execute', { targetExtension: '104', transferType: 'blind' })
  t.equal(local.statusCode, 200, local.body)
  await host.waitForStatus((local.json() as Transfer).id, 'answered')
  t.ok((await bridgePeersOf(other.customerChannel.id)).some(isLegOf('104')), 'meanwhile a transfer among pbx1\'s agents went through')
  const listed = await host.as('super', { method: 'GET', url: '/api/transfers/available-agents?all=true' })
  t.equal(listed.statusCode, 200, `the agents are still listed while pbx2 is down: ${listed.body}`)
  const servers = new Set((listed.json().agents as Array<{ server?: string }>).map((entry) => entry.server))
  t.same([...servers], [poolNames.pbx], 'pbx1\'s agents, none of pbx2 (it cannot be asked)')
  const still = await host.as('super', { method: 'GET', url: `/api/transfers/${transfer.id}` })
  t.match(still.json(), { status: 'target_answered' }, 'the crossed consultation waits for pbx2 (nothing known of it)')

  await startPbx({ server: pbx2 })
  restarted = true
  const backAt = Date.now()
  const lost = await host.waitForStatus(transfer.id, 'failed', 30_000)
  t.comment(`the crossed consultation ended ${Date.now() - backAt} ms after pbx2 was ready again`)
  t.equal(lost.failureReason, 'asterisk_restarted')
  t.ok(host.logs.some((line) => line.transferId === transfer.id && line.targetServer === poolNames.pbx2), 'the log names the server that lost it')
  const back = await waitFor(async () => {
    const peers = await bridgePeersOf(call.customerChannel.id)
    return peers.length === 1 && peers[0] === call.agentChannel.name && peers
  }, 10_000, 'the customer back with the agent on pbx1')
  t.same(back, [call.agentChannel.name])
  t.comment(`the customer back with the agent ${Date.now() - backAt} ms after pbx2 was ready again`)
  t.same(await trunkLegs(pbx), [], 'the dead trunk leg hung up on pbx1')
  const inProgress = await host.as('super', { method: 'GET', url: '/api/transfers' })
  t.equal(inProgress.statusCode, 200)
  t.same((inProgress.json().transfers as Transfer[]).map((x) => x.id).filter((id) => id === transfer.id), [], 'no stuck transfer')
})
