// Two instances of the example app, A and B, on one Redis, each connected to both PBXes of the test bed
// through ASTERISK_SERVERS (issue 18: the host scales out on Redis, the telephony across servers): a
// blind transfer across the trunk executed on one is seen and locked on the other, and both feeds are
// one log, naming the servers.
import t, { type Test } from 'tap'
import { bridgePeersOf, callAgent, hangupAllCalls, setAgentAnswerDelay } from '../helpers/asterisk/calls.js'
import { pbx, pbx2, transferContext } from '../helpers/asterisk/testbed.js'
import { startApp, type AppProcess, type AppResponse } from '../helpers/app-process.js'
import { connectFeed, type FeedClient } from '../helpers/feed-client.js'
import { startRedis } from '../helpers/redis-process.js'
import type { FeedEnvelope } from '../../src/index.js'

t.setTimeout(180_000)

const FIRST = 'pbx1'
const SECOND = 'pbx2'

/** The pool as an operator writes it: ASTERISK_SERVERS in place of AMI_* and ARI_* (unset here). */
const poolEnvironment: Record<string, string> = {
  ASTERISK_SERVERS: JSON.stringify([
    { name: FIRST, ami: pbx.ami, ari: pbx.ari },
    { name: SECOND, ami: pbx2.ami, ari: pbx2.ari }
  ]),
  TRANSFER_CONTEXT: transferContext,
  ...Object.fromEntries(['AMI_HOST', 'AMI_PORT', 'AMI_USERNAME', 'AMI_PASSWORD', 'ARI_URL', 'ARI_USERNAME', 'ARI_PASSWORD'].map((name) => [name, ''])),
  // Every endpoint of each server is an agent of that server (AGENT_EXTENSIONS would put them all on the first).
  AGENT_EXTENSIONS: ''
}

const redis = await startRedis()
const [a, b] = await Promise.all([
  startApp({ name: 'A', redisUrl: redis.url, env: poolEnvironment }),
  startApp({ name: 'B', redisUrl: redis.url, env: poolEnvironment })
])
t.teardown(async () => {
  await setAgentAnswerDelay(0)
  await Promise.all([a.stop(), b.stop()])
  await redis.stop()
})
await hangupAllCalls()
t.afterEach(async (t) => {
  await setAgentAnswerDelay(0)
  await hangupAllCalls()
  if (!t.passing()) t.comment(`app A (${a.logFile}):\n${a.logTail(15)}\napp B (${b.logFile}):\n${b.logTail(15)}`)
})

const execute = async (app: AppProcess, who: string, targetExtension: string): Promise<AppResponse> =>
  await app.as(who, { method: 'POST', url: '/api/transfers/execute', payload: { targetExtension, transferType: 'blind' } })

const startedId = (response: AppResponse): string => {
  if (response.statusCode !== 200) throw new Error(`execute answered ${response.statusCode}: ${response.body}`)
  return String(response.json().id)
}

const feed = async (t: Test, app: AppProcess): Promise<FeedClient> => {
  const client = await connectFeed(app.baseUrl, app.tokenOf('super'))
  t.teardown(client.close)
  return client
}

const dataOf = (event: FeedEnvelope): Record<string, unknown> => event.data as Record<string, unknown>

const ofTransfer = (id: string, ...statuses: string[]) => (event: FeedEnvelope): boolean =>
  dataOf(event).id === id && statuses.includes(String(dataOf(event).status))

/** `<feed id> <type>:<status>` of one transfer's events. */
const transferEvents = (client: FeedClient, id: string): string[] =>
  client.received.filter((event) => event.type !== 'call:status' && dataOf(event).id === id).map((event) => `${event.id} ${event.type}:${String(dataOf(event).status)}`)

const isLegOf = (extension: string) => (name: string): boolean => name.startsWith(`PJSIP/${extension}-`)

t.test('both instances are ready with both servers, and list the agents of both', async (t) => {
  for (const app of [a, b]) {
    const ready = await fetch(`${app.baseUrl}/health/ready`)
    const body = await ready.json() as { servers?: Record<string, unknown>, down?: string[] }
    t.equal(ready.status, 200, `${app.name} ready`)
    t.same(Object.keys(body.servers ?? {}), [FIRST, SECOND], `${app.name} reports each server`)
    t.same(body.down, [], `${app.name}: no server down`)
    const agents = (await app.as('super', { method: 'GET', url: '/api/transfers/available-agents' })).json().agents as Array<{ extension: string, server?: string }>
    const named = agents.map((agent) => `${agent.extension}@${String(agent.server)}`)
    t.ok(named.includes(`101@${FIRST}`) && named.includes(`303@${SECOND}`), `${app.name}: ${named.join(', ')}`)
  }
})

t.test('a transfer across the trunk executed on A: locked and seen on B, one feed naming the servers', async (t) => {
  const [onA, onB] = await Promise.all([feed(t, a), feed(t, b)])
  const call = await callAgent('101')
  // 303 rings two seconds: long enough to ask B for the same call while the transfer is under way.
  await setAgentAnswerDelay(2)
  const id = startedId(await execute(a, '101', '303'))
  const second = await execute(b, '101', '304')
  t.equal(second.statusCode, 409, second.body)
  t.equal(second.json().code, 'XFER_TRANSFER_IN_PROGRESS', 'B knows the call is being transferred by A')
  const answeredOnB = await onB.waitFor('answered on B\'s feed', ofTransfer(id, 'answered', 'failed'), 15_000)
  t.match(answeredOnB.data, { status: 'answered', server: FIRST, targetExtension: '303' })
  const onBRecord = (await b.as('super', { method: 'GET', url: `/api/transfers/${id}` })).json()
  t.match(onBRecord, { id, status: 'answered', server: FIRST }, 'B answers for it, naming its server')
  t.ok((await bridgePeersOf(call.customerChannel.id)).some((name) => name.startsWith('PJSIP/pbx2-')), 'the customer talks over the trunk')
  await onA.waitFor('answered on A\'s feed', ofTransfer(id, 'answered'))
  t.same(transferEvents(onB, id), transferEvents(onA, id), 'the same events, with the same ids, on both feeds')
  t.same(transferEvents(onB, id).map((line) => line.replace(/^.*:/, '')), ['initiated', 'redirected', 'answered'])
  // Asterisk's own events are published once (by the leader), each naming its server, on both feeds.
  const callOf = (extension: string, server: string) => (event: FeedEnvelope): boolean => event.type === 'call:status' &&
    dataOf(event).extension === extension && (dataOf(event).call as { server?: string } | undefined)?.server === server
  for (const client of [onA, onB]) {
    await client.waitFor('303\'s call on the second PBX', callOf('303', SECOND))
    await client.waitFor('101\'s call on the first PBX', callOf('101', FIRST))
  }
  const ids = (client: FeedClient): number[] => client.received.filter((event) => !event.type.startsWith('feed:')).map((event) => event.id)
  const common = ids(onA).filter((eventId) => ids(onB).includes(eventId))
  const sameOnBoth = common.every((eventId) => JSON.stringify(onA.received.find((event) => event.id === eventId)) === JSON.stringify(onB.received.find((event) => event.id === eventId)))
  t.ok(common.length > 0 && sameOnBoth, `one log: the ${common.length} events both feeds hold are the same under the same ids`)
})

t.test('and from the second PBX on B, seen on A', async (t) => {
  const onA = await feed(t, a)
  const call = await callAgent('302', 'customer1', { server: pbx2 })
  const id = startedId(await execute(b, '302', '102'))
  const answered = await onA.waitFor('answered on A\'s feed', ofTransfer(id, 'answered', 'failed'), 15_000)
  t.match(answered.data, { status: 'answered', server: SECOND, extension: '302', targetExtension: '102' })
  t.ok((await bridgePeersOf(call.customerChannel.id, pbx2)).some((name) => name.startsWith('PJSIP/pbx1-')), 'the customer of the second PBX talks over the trunk')
  t.match((await a.as('super', { method: 'GET', url: `/api/transfers/${id}` })).json(), { status: 'answered', server: SECOND })
  t.ok(isLegOf('302')(String((answered.data as { channels: { agent: string } }).channels.agent)), 'the agent\'s channel, on the second PBX')
})
