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
import { agentToken, authTokens } from '../example-app/fixtures/config.js'
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
  AGENT_EXTENSIONS: '',
  AUTH_TOKENS: `${authTokens},${agentToken('302')}:302`
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

t.test('one call transferred across the trunk on A and on B at once: one transfer, seen on both, one feed naming the servers', async (t) => {
  const [onA, onB] = await Promise.all([feed(t, a), feed(t, b)])
  const call = await callAgent('101')
  // The targets ring two seconds: the transfer is seen under way on the other instance meanwhile.
  await setAgentAnswerDelay(2)
  const answers = await Promise.all([execute(a, '101', '303'), execute(b, '101', '304')])
  const won = answers.flatMap((answer, index) => answer.statusCode === 200 ? [index] : [])
  t.equal(won.length, 1, `one of the two transfers started: ${answers.map((answer) => `${answer.statusCode} ${answer.body}`).join(' | ')}`)
  const winner = won[0] ?? 0
  const loser = answers[1 - winner]
  // Refused by the lock while the winner holds the call, or because the call has left the agent already.
  t.ok(loser !== undefined && ['409 XFER_TRANSFER_IN_PROGRESS', '404 XFER_NO_ACTIVE_CHANNEL'].includes(`${loser.statusCode} ${String(loser.json().code)}`), loser?.body ?? '')
  const id = startedId(answers[winner] as AppResponse)
  const target = winner === 0 ? '303' : '304'
  const [owner, other] = winner === 0 ? [a, b] : [b, a]
  const underWay = (await other.as('super', { method: 'GET', url: `/api/transfers/${id}` })).json()
  t.match(underWay, { id, status: 'redirected', server: FIRST, targetExtension: target }, `${other.name} sees ${owner.name}'s transfer under way, naming its server`)
  const answeredOnB = await onB.waitFor('answered on B\'s feed', ofTransfer(id, 'answered', 'failed'), 15_000)
  t.match(answeredOnB.data, { status: 'answered', server: FIRST, targetExtension: target })
  const onOther = (await other.as('super', { method: 'GET', url: `/api/transfers/${id}` })).json()
  t.match(onOther, { id, status: 'answered', server: FIRST }, `${other.name} answers for it once answered`)
  const peers = await bridgePeersOf(call.customerChannel.id)
  t.ok(peers.length === 1 && peers.every((name) => name.startsWith('PJSIP/pbx2-')), `the customer talks over the trunk, to one target: ${peers.join(', ')}`)
  await onA.waitFor('answered on A\'s feed', ofTransfer(id, 'answered'))
  t.same(transferEvents(onB, id), transferEvents(onA, id), 'the same events, with the same ids, on both feeds')
  t.same(transferEvents(onB, id).map((line) => line.replace(/^.*:/, '')), ['initiated', 'redirected', 'answered'])
  // Asterisk's own events are published once (by the leader), each naming its server, on both feeds.
  const callOf = (extension: string, server: string) => (event: FeedEnvelope): boolean => event.type === 'call:status' &&
    dataOf(event).extension === extension && (dataOf(event).call as { server?: string } | undefined)?.server === server
  for (const client of [onA, onB]) {
    await client.waitFor(`${target}'s call on the second PBX`, callOf(target, SECOND))
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
