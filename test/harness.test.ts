// Proves the real-Asterisk test bed (started by test/helpers/asterisk/tap-before.ts).
import t from 'tap'
import { listEndpoints, listChannels } from './helpers/asterisk/ari.js'
import { bridgePeersOf, callAgent, channelExists, hangup, hangupAllCalls, waitFor } from './helpers/asterisk/calls.js'
import { agents, offlineAgent } from './helpers/asterisk/testbed.js'

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
  await waitFor(async () => !(await channelExists(call.customerChannel.id)), 5000, 'the customer channel to go once the agent hangs up')
  t.notOk(await channelExists(call.agentChannel.name))
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
