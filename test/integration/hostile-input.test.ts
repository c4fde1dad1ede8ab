// Hostile input on the real Asterisk 22 while a customer talks to agent 101: the whole corpus of
// test/helpers/hostile-corpus.ts against every route, then hostile WebSocket clients on the feed. Every
// request gets its 4xx with a stable code, no action that could move a call goes through the AMI
// recording proxy, and the call is still bridged, untouched, at the end.
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import WebSocket from 'ws'
import { TOO_MANY_SOCKETS_CLOSE_CODE } from '../../src/index.js'
import { bridgePeersOf, callAgent, channelExists, hangupAllCalls } from '../helpers/asterisk/calls.js'
import { hostileCorpus, injectOptions, refusalProblem } from '../helpers/hostile-corpus.js'
import { startTransferHost } from '../helpers/transfer-host.js'

/** AMI actions that move, end, bridge or dial a call, or change what the dialplan does with one. */
const CALL_MOVING = /^(redirect|atxfer|cancelatxfer|blindtransfer|hangup|playdtmf|originate|bridge|park|setvar|dialplanextensionadd|dialplanextensionremove|command)$/i

// No rate limit: the refusals that pass validation (403, 404, 422) would spend the budget and the rest
// of the corpus would be answered 429 without being looked at.
const host = await startTransferHost({ rateLimit: false })
t.teardown(host.close)
await hangupAllCalls()
t.teardown(hangupAllCalls)

const call = await callAgent('101')
const before = host.proxy.actions().length

interface Closed { code: number, reason: string }

/** Opens a feed socket (`?token=` as a browser sends it) and resolves once it is open or refused. */
async function feedSocket (query: string): Promise<{ ws: WebSocket, status: number | 'open', closed: Promise<Closed> }> {
  const ws = new WebSocket(`${host.baseUrl.replace(/^http/, 'ws')}/api/events?${query}`)
  ws.on('error', () => {})
  const closed = new Promise<Closed>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })))
  const status = await new Promise<number | 'open'>((resolve) => {
    ws.once('open', () => resolve('open'))
    ws.once('unexpected-response', (_request, response) => { resolve(response.statusCode ?? 0); response.destroy() })
  })
  return { ws, status, closed }
}

t.test('the corpus on every route: each request its 4xx and stable code', async (t) => {
  const corpus = hostileCorpus()
  const problems: string[] = []
  for (const request of corpus) {
    const response = await host.app.inject(injectOptions(request))
    const problem = refusalProblem(request, response)
    if (problem !== undefined) problems.push(`${request.name}: ${problem}`)
  }
  t.same(problems, [], `${corpus.length} requests`)
})

t.test('hostile WebSocket clients on the feed: refused or closed, one at a time', async (t) => {
  const refusals: Array<[string, number]> = [
    ['token=token-999', 401],
    ['token=', 401],
    [`token=${'a'.repeat(4000)}`, 401],
    ['token=token-101%0d%0aAction:%20Hangup', 401],
    ['since=abc&token=token-101', 400],
    ['since=-1&token=token-101', 400],
    [`since=${'9'.repeat(20)}&token=token-101`, 400],
    ['since=1%0d%0a&token=token-101', 400]
  ]
  for (const [query, expected] of refusals) {
    const { status } = await feedSocket(query)
    t.equal(status, expected, query.slice(0, 40))
  }

  const bystander = await feedSocket('token=token-102')
  t.equal(bystander.status, 'open')
  const oversized = await feedSocket('token=token-101')
  oversized.ws.send('x'.repeat(10_000))
  t.equal((await oversized.closed).code, 1009, 'an oversized message closes that socket')
  const talker = await feedSocket('token=token-101')
  talker.ws.send('Action: Hangup\r\nChannel: /.*/\r\n\r\n')
  t.equal((await talker.closed).code, 1003, 'an AMI action sent on the feed closes that socket')

  const crowd = await Promise.all(Array.from({ length: 10 }, async () => await feedSocket('token=token-103')))
  t.ok(crowd.every((socket) => socket.status === 'open'), 'ten sockets for one identity')
  const eleventh = await feedSocket('token=token-103')
  t.equal((await eleventh.closed).code, TOO_MANY_SOCKETS_CLOSE_CODE, 'the eleventh is closed with 4029')
  for (const socket of crowd) socket.ws.close()
  await sleep(100)
  t.equal(bystander.ws.readyState, WebSocket.OPEN, 'the other sockets are untouched')
  bystander.ws.close()
})

t.test('no call-moving AMI action was sent, and the call is still bridged, untouched', async (t) => {
  const sent = host.proxy.actions().slice(before)
  t.same(sent.filter((action) => CALL_MOVING.test(action)), [], `${sent.length} AMI actions sent meanwhile, none moving a call: ${[...new Set(sent)].join(', ')}`)
  t.ok(await channelExists(call.customerChannel.id), 'the customer is still there')
  t.ok(await channelExists(call.agentChannel.id), 'the agent is still there')
  t.same(await bridgePeersOf(call.customerChannel.id), [call.agentChannel.name], 'still bridged with the agent')

  const health = await host.as('101', { method: 'GET', url: '/api/calls' })
  t.equal(health.statusCode, 200, 'the server is still up')
  t.ok(health.json().calls.some((listed: { channel?: string }) => JSON.stringify(listed).includes(call.agentChannel.name)), 'and sees the call')
})
