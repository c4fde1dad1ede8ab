// The test bed's second PBX (issue 18's pool of servers): its own agents, a PJSIP trunk both ways to the
// first, each server's dialplan routing the other's extensions; proven on real channels.
import t from 'tap'
import { field, withAmi } from '../helpers/asterisk/ami.js'
import { listChannels, listEndpoints } from '../helpers/asterisk/ari.js'
import { callAgent, hangupAllCalls, waitFor } from '../helpers/asterisk/calls.js'
import { agentCallsAcross, otherHalf, trunkLegs } from '../helpers/asterisk/trunk-calls.js'
import { pbx, pbx2, pbx2Agents, pbxes, transferContext } from '../helpers/asterisk/testbed.js'
import type { PbxSettings } from '../helpers/asterisk/testbed.js'

t.beforeEach(async () => { await hangupAllCalls() })
t.teardown(async () => { await hangupAllCalls() })

const getvar = async (server: PbxSettings, channel: string, variable: string): Promise<string | undefined> =>
  await withAmi(server.ami, async (ami) => field(await ami.action({ Action: 'Getvar', Channel: channel, Variable: variable }), 'value'))

t.test('both PBXes are up, each with its own agents registered on it only', async (t) => {
  for (const server of pbxes) {
    const endpoints = await listEndpoints('PJSIP', server.ari)
    const state = new Map(endpoints.map((e) => [e.resource, e.state]))
    for (const extension of server.registered) t.equal(state.get(extension), 'online', `${extension} online on ${server.name}`)
    t.equal(state.get(server.offline), 'offline', `${server.offline} offline on ${server.name}`)
    const others = pbxes.filter((other) => other !== server).flatMap((other) => [...other.registered, other.offline])
    t.same(others.filter((extension) => state.has(extension)), [], `${server.name} knows none of the other PBX's agents`)
  }
  t.same(pbx2.registered, [...pbx2Agents, '391', '392'])
})

t.test('an agent of the first PBX calls one of the second: the call crosses the trunk and is bridged on both', async (t) => {
  const call = await agentCallsAcross('101', '301')
  t.match(call.from.trunkChannel.name, /^PJSIP\/pbx2-[0-9a-f]{8}$/, 'on the first PBX the trunk is endpoint pbx2')
  t.match(call.from.bridge?.peers.map((p) => p.name), [/^PJSIP\/101-/], 'bridged there with the caller only')
  t.match(call.to.trunkChannel.name, /^PJSIP\/pbx1-[0-9a-f]{8}$/, 'on the second PBX the trunk is endpoint pbx1')
  t.match(call.to.bridge?.peers.map((p) => p.name), [/^PJSIP\/301-/], 'bridged there with the callee only')
  t.equal(call.from.callId, call.to.callId)
  // Asterisk also publishes the Call-ID to the bridged parties on each side: the halves correlate
  // without any dialplan of ours.
  const caller = call.from.bridge?.peers[0]?.name ?? ''
  const callee = call.to.bridge?.peers[0]?.name ?? ''
  t.equal(await getvar(pbx, caller, 'BRIDGEPVTCALLID'), call.callId, "the caller's BRIDGEPVTCALLID")
  t.equal(await getvar(pbx2, callee, 'BRIDGEPVTCALLID'), call.callId, "the callee's BRIDGEPVTCALLID")
  t.notOk((await listChannels(pbx.ari)).some((c) => c.name.startsWith('PJSIP/301-')), 'the first PBX has no channel of 301')
  t.notOk((await listChannels(pbx2.ari)).some((c) => c.name.startsWith('PJSIP/101-')), 'the second PBX has no channel of 101')
})

t.test('and the other way: an agent of the second PBX calls one of the first', async (t) => {
  const call = await agentCallsAcross('302', '102', { from: pbx2 })
  t.match(call.from.trunkChannel.name, /^PJSIP\/pbx1-/)
  t.match(call.from.bridge?.peers.map((p) => p.name), [/^PJSIP\/302-/])
  t.match(call.to.trunkChannel.name, /^PJSIP\/pbx2-/)
  t.match(call.to.bridge?.peers.map((p) => p.name), [/^PJSIP\/102-/])
})

t.test("a customer of the first PBX redirected to the second PBX's agent: a blind transfer across, by the dialplans", async (t) => {
  const call = await callAgent('101')
  await withAmi(pbx.ami, async (ami) => {
    await ami.action({ Action: 'Redirect', Channel: call.customerChannel.name, Context: transferContext, Exten: '303', Priority: 1 })
  })
  const [here, there] = await waitFor(async () => {
    const leg = (await trunkLegs(pbx)).find((l) => l.bridge?.peers.some((p) => p.id === call.customerChannel.id))
    const far = leg === undefined ? undefined : await otherHalf(leg)
    return leg !== undefined && far?.bridge?.peers.some((p) => p.name.startsWith('PJSIP/303-')) === true ? [leg, far] : undefined
  }, 10_000, 'the customer bridged with the trunk on the first PBX, and 303 with its other half on the second')
  t.same(here.bridge?.peers.map((p) => p.name), [call.customerChannel.name])
  t.match(there.bridge?.peers.map((p) => p.name), [/^PJSIP\/303-/])
  t.equal(here.callId, there.callId)
  const callee = there.bridge?.peers[0]?.name ?? ''
  t.equal(await getvar(pbx2, callee, 'CONNECTEDLINE(num)'), '+15550000001', "the customer's number reaches the second PBX")
})

t.test('a customer calls into the second PBX', async (t) => {
  const call = await callAgent('304', 'customer1', { server: pbx2 })
  t.match(call.customerChannel.name, /^PJSIP\/customer1-/)
  t.match(call.agentChannel.name, /^PJSIP\/304-/)
  await hangupAllCalls()
  t.same(await listChannels(pbx2.ari), [], 'hangupAllCalls clears the second PBX too')
})
