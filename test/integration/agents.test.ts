// Agent availability on the real Asterisk 22 test bed: who can take a transfer as the PBX shows it
// (an agent on a call, a queue member paused with AMI QueuePause, an endpoint never registered), over
// HTTP and pushed live on the event feed as agent:status.
import t from 'tap'
import type { FeedEnvelope } from '../../src/index.js'
import { withAmi } from '../helpers/asterisk/ami.js'
import { callAgent, hangup, hangupAllCalls, waitFor } from '../helpers/asterisk/calls.js'
import { agents, offlineAgent, pbx } from '../helpers/asterisk/testbed.js'
import { connectFeed } from '../helpers/feed-client.js'
import { startTransferHost } from '../helpers/transfer-host.js'

interface AgentEntry { extension: string, state: string, reason?: string }

/** AMI QueuePause of PJSIP/<extension> in every queue it belongs to, as a supervisor's tool would send it. */
async function queuePause (extension: string, paused: boolean, reason?: string): Promise<void> {
  await withAmi(pbx.ami, async (ami) => {
    await ami.action({ Action: 'QueuePause', Interface: `PJSIP/${extension}`, Paused: paused ? 'true' : 'false', ...(reason === undefined ? {} : { Reason: reason }) })
  })
}

// Left paused or on a call by an interrupted run, an agent would be unavailable from the start.
await hangupAllCalls()
await queuePause('105', false)
// The call center's agents: the test bed also registers load-test and recall-test phones, which are
// endpoints but not this scenario's agents.
const host = await startTransferHost({ agents: [...agents, offlineAgent].map((extension) => ({ extension })) })
const feed = await connectFeed(host.baseUrl, 'token-102')
t.teardown(async () => {
  await queuePause('105', false)
  await hangupAllCalls()
  await feed.close()
  await host.close()
})
t.afterEach(async () => { await hangupAllCalls() })

const agentsFor = async (who: string, query = ''): Promise<AgentEntry[]> => {
  const response = await host.as(who, { method: 'GET', url: `/api/transfers/available-agents${query}` })
  if (response.statusCode !== 200) throw new Error(`available-agents${query} answered ${response.statusCode}: ${response.body}`)
  return response.json().agents
}
const extensions = (agents: AgentEntry[]): string[] => agents.map((agent) => agent.extension)
const entryOf = (agents: AgentEntry[], extension: string): AgentEntry | undefined => agents.find((agent) => agent.extension === extension)

/** The agent:status envelopes of one extension received after `since` (a feed id). */
const statusesOf = (extension: string, since: number): Array<FeedEnvelope<'agent:status'>> =>
  feed.received.filter((envelope): envelope is FeedEnvelope<'agent:status'> =>
    envelope.type === 'agent:status' && envelope.data.extension === extension && envelope.id > since)

/** Waits for agent:status of `extension` in `state`, pushed after `since`. */
const pushed = async (extension: string, state: string, since: number): Promise<FeedEnvelope> =>
  await feed.waitFor(`agent:status ${extension} ${state}`, (envelope) =>
    envelope.type === 'agent:status' && envelope.id > since && envelope.data.extension === extension && envelope.data.state === state)

t.test('everyone idle: all registered agents but the caller are available; 107, never registered, is not', async (t) => {
  t.same(extensions(await agentsFor('102')).filter((extension) => /^10\d$/.test(extension)), ['101', '103', '104', '105', '106'])
})

t.test('a queue member paused with AMI QueuePause goes paused, with the queue and the reason, and back when unpaused: pushed live', async (t) => {
  const since = feed.lastId()
  await queuePause('105', true, 'lunch')
  const paused = await pushed('105', 'paused', since)
  t.same(paused.data, { extension: '105', state: 'paused', reason: 'paused in queue sales (lunch)' })
  t.notOk(extensions(await agentsFor('102')).includes('105'), 'not available while paused')

  const unpausedSince = feed.lastId()
  await queuePause('105', false)
  t.same((await pushed('105', 'available', unpausedSince)).data, { extension: '105', state: 'available' })
  t.same(statusesOf('105', since).map((envelope) => envelope.data.state), ['paused', 'available'], 'one agent:status per change, none repeated')
  t.ok(extensions(await agentsFor('102')).includes('105'), 'available again')
})

t.test('an agent taking a call goes on_call (after ringing, if seen) and back to available when it ends: pushed live', async (t) => {
  const since = feed.lastId()
  const call = await callAgent('101')
  await pushed('101', 'on_call', since)
  t.notOk(extensions(await agentsFor('102')).includes('101'), 'not available during the call')

  const hangupSince = feed.lastId()
  await hangup(call.customerChannel.id)
  await pushed('101', 'available', hangupSince)
  const states = statusesOf('101', since).map((envelope) => envelope.data.state)
  t.match(states.join(' '), /^(ringing )?on_call available$/, `101 went ${states.join(' -> ')}`)
  t.ok(extensions(await agentsFor('102')).includes('101'), 'available again')
})

t.test('available agents for 102 exclude 101 on a call, 105 paused, 107 offline and 102 itself; ?all=true says why', async (t) => {
  const since = feed.lastId()
  await callAgent('101')
  await queuePause('105', true, 'lunch')
  await Promise.all([pushed('101', 'on_call', since), pushed('105', 'paused', since)])

  const available = await agentsFor('102')
  t.same(extensions(available).filter((extension) => /^10\d$/.test(extension)), ['103', '104', '106'], 'among the agents 101-107 (201, 202 and the load agents are other phones)')
  t.ok(available.every((agent) => agent.state === 'available' && agent.reason === undefined))

  const all = await agentsFor('102', '?all=true')
  t.same(entryOf(all, '101'), { extension: '101', state: 'on_call', reason: 'on a call' })
  t.same(entryOf(all, '105'), { extension: '105', state: 'paused', reason: 'paused in queue sales (lunch)' })
  t.same(entryOf(all, '107'), { extension: '107', state: 'offline', reason: 'not registered' })
  t.same(entryOf(all, '102'), { extension: '102', state: 'available' }, 'every agent, the caller included')
  t.same(extensions(await agentsFor('102', '?all=false')), extensions(available), 'all=false is the default list')
  await queuePause('105', false)
  await pushed('105', 'available', since)
})

t.test('?all must be true or false: anything else answers 400 (the query is not coerced)', async (t) => {
  for (const query of ['?all=1', '?all=yes', '?all=TRUE']) {
    const response = await host.as('102', { method: 'GET', url: `/api/transfers/available-agents${query}` })
    t.equal(response.statusCode, 400, query)
    t.equal(response.json().code, 'XFER_INVALID_INPUT', query)
  }
})

t.test('after the calls and pauses, every registered agent but the caller is available again', async (t) => {
  const agents = await waitFor(async () => {
    const registered = extensions(await agentsFor('102')).filter((extension) => /^10\d$/.test(extension))
    return registered.length === 5 && registered
  }, 5000, 'every registered agent available again')
  t.same(agents, ['101', '103', '104', '105', '106'])
})
