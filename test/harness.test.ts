// Proves the real-Asterisk test bed (started by test/helpers/asterisk/tap-before.ts).
import t from 'tap'
import { listEndpoints, listChannels } from './helpers/asterisk/ari.js'
import { withAmi, field } from './helpers/asterisk/ami.js'
import { bridgePeersOf, callAgent, callQueue, channelExists, hangup, hangupAllCalls, setAgentMedia, waitFor } from './helpers/asterisk/calls.js'
import { agents, missingExtension, offlineAgent, pbx, transferContext } from './helpers/asterisk/testbed.js'

t.beforeEach(async () => { await hangupAllCalls() })
t.teardown(async () => { await hangupAllCalls() })

t.test('agents 101..106 are online and 107 is offline in ARI', async (t) => {
  const endpoints = await listEndpoints()
  const state = new Map(endpoints.map((e) => [e.resource, e.state]))
  for (const a of agents) t.equal(state.get(a), 'online', `agent ${a} online`)
  t.equal(state.get(offlineAgent), 'offline', `agent ${offlineAgent} offline`)
})

t.test('callAgent(101) bridges a customer with agent 101', async (t) => {
  const call = await callAgent('101')
  t.match(call.customerChannel.name, /^PJSIP\/customer1-[0-9a-f]{8}$/)
  t.match(call.agentChannel.name, /^PJSIP\/101-[0-9a-f]{8}$/)
  t.same(await bridgePeersOf(call.customerChannel.name), [call.agentChannel.name])
  t.same(await bridgePeersOf(call.agentChannel.id), [call.customerChannel.name])
  t.ok(await channelExists(call.agentChannel.id))

  await hangup(call.agentChannel.name)
  // Asterisk destroys the two channels on their own threads: either may go first.
  await waitFor(async () => !(await channelExists(call.customerChannel.id)) && !(await channelExists(call.agentChannel.id)), 5000, 'both channels to go once the agent hangs up')
  t.notOk(await channelExists(call.customerChannel.id), 'the customer is gone')
  t.notOk(await channelExists(call.agentChannel.name), 'the agent is gone')
})

t.test('a second customer can call another agent at the same time', async (t) => {
  const a = await callAgent('102', 'customer2')
  const b = await callAgent('103', 'customer3')
  t.same(await bridgePeersOf(a.customerChannel.id), [a.agentChannel.name])
  t.same(await bridgePeersOf(b.customerChannel.id), [b.agentChannel.name])
})

t.test('hangupAllCalls leaves no channels', async (t) => {
  await callAgent('104')
  t.ok((await listChannels()).length >= 2)
  await hangupAllCalls()
  t.same(await listChannels(), [])
})

t.test('hangup of a missing channel is an error', async (t) => {
  await t.rejects(hangup('PJSIP/101-ffffffff'), /No such channel/)
})

t.test('callQueue bridges a customer with a member of queue sales', async (t) => {
  const call = await callQueue('customer4')
  t.match(call.agentChannel.name, /^PJSIP\/10[45]-/)
  t.same(await bridgePeersOf(call.customerChannel.id), [call.agentChannel.name])
})

t.test('calls with audio both ways', async (t) => {
  await setAgentMedia(true)
  t.teardown(async () => { await setAgentMedia(false) })
  const call = await callAgent('105', 'customer1', { media: true })
  t.same(await bridgePeersOf(call.customerChannel.id), [call.agentChannel.name])
})

t.test('PBX dialplan: targets exist or not, as AMI Getvar DIALPLAN_EXISTS sees them', async (t) => {
  await withAmi(pbx.ami, async (ami) => {
    const exists = async (exten: string): Promise<string | undefined> =>
      field(await ami.action({ Action: 'Getvar', Variable: `DIALPLAN_EXISTS(${transferContext},${exten},1)` }), 'value')
    t.equal(await exists('103'), '1')
    t.equal(await exists(offlineAgent), '1')
    t.equal(await exists('sales'), '1')
    t.equal(await exists(missingExtension), '0')
  })
})

t.test('PBX features: AMI Atxfer starts a consultation and hanging up the agent completes it', async (t) => {
  const call = await callAgent('101')
  await withAmi(pbx.ami, async (ami) => {
    await ami.action({ Action: 'Atxfer', Channel: call.agentChannel.name, Exten: '103', Context: transferContext })
  })
  // The agent is bridged with Local/103@from-internal-…;1 whose ;2 half is bridged with PJSIP/103.
  await waitFor(async () => {
    const peers = await bridgePeersOf(call.agentChannel.id)
    return peers.length === 1 && peers[0]?.startsWith('PJSIP/103-')
  }, 5000, 'agent 101 consulting 103')
  await hangup(call.agentChannel.name)
  const peers = await waitFor(async () => {
    const p = await bridgePeersOf(call.customerChannel.id)
    return p.length === 1 && p[0]?.startsWith('PJSIP/103-') === true ? p : undefined
  }, 5000, 'customer bridged with 103')
  t.match(peers, [/^PJSIP\/103-/])
})
