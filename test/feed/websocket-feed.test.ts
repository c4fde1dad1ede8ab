import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import websocket from '@fastify/websocket'
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import t, { type Test } from 'tap'
import { WebSocket, type ClientOptions } from 'ws'
import { EventLog, type Audience } from '../../src/domain/event-log.js'
import type { FeedEnvelope } from '../../src/domain/feed-events.js'
import { SLOW_CONSUMER_CLOSE_CODE } from '../../src/feed/close-codes.js'
import { eventFeedRoutes, type EventFeedOptions } from '../../src/feed/websocket-feed.js'
import type { Identity } from '../../src/identity.js'
import { requireIdentity } from '../../src/authentication.js'
import { transferErrorHandler } from '../../src/routes/error-handler.js'

/** `Authorization: <role> <extension>` is the identity; anything else is anonymous. */
function authenticate (request: FastifyRequest): Identity | null {
  const match = /^(agent|supervisor) (\w+)$/.exec(request.headers.authorization ?? '')
  if (match?.[1] === undefined || match[2] === undefined) return null
  return { role: match[1] === 'agent' ? 'agent' : 'supervisor', extension: match[2] }
}

const agent = (extension: string): Record<string, string> => ({ authorization: `agent ${extension}` })
const supervisor = { authorization: 'supervisor 900' }

interface Feed {
  app: FastifyInstance
  eventLog: EventLog
  url: (query?: string) => string
  /** What the app logged, parsed. */
  logs: Array<{ level: number, msg: string, [key: string]: unknown }>
}

interface SetupOptions extends Partial<EventFeedOptions> {
  /** Register @fastify/websocket at the root, as a host app that serves its own WebSockets does ('deflate': with permessage-deflate). */
  hostWebsocket?: boolean | 'deflate'
}

/** The feed mounted as the plugin mounts its routes: under a prefix, after `requireIdentity`. */
async function setup (t: Test, { hostWebsocket = false, ...options }: SetupOptions = {}): Promise<Feed> {
  const eventLog = options.eventLog ?? new EventLog()
  const logs: Feed['logs'] = []
  const stream = new Writable({ write (line, _encoding, done) { logs.push(JSON.parse(String(line))); done() } })
  const app = Fastify({ logger: { level: 'debug', stream } })
  if (hostWebsocket !== false) await app.register(websocket, hostWebsocket === 'deflate' ? { options: { perMessageDeflate: true } } : {})
  await app.register(async (routes) => {
    // Like the plugin's routes context; the host's Ajv is exercised by the hostWebsocket setup.
    if (!hostWebsocket) {
      routes.setErrorHandler(transferErrorHandler)
      routes.setValidatorCompiler(TypeBoxValidatorCompiler)
    }
    requireIdentity(routes, authenticate)
    await routes.register(eventFeedRoutes, { ...options, eventLog })
  }, { prefix: '/api' })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => await app.close())
  const { port } = app.server.address() as AddressInfo
  return { app, eventLog, logs, url: (query = '') => `ws://127.0.0.1:${port}/api/events${query}` }
}

interface Client {
  ws: WebSocket
  /** Every text message, as received, but the `feed:hello` that opens a socket without `since`. */
  raw: string[]
  /** The `feed:hello` notices received. */
  hellos: FeedEnvelope[]
  envelopes: () => FeedEnvelope[]
  ids: () => number[]
  closed: Promise<{ code: number, reason: string }>
}

async function connect (t: Test, url: string, headers: Record<string, string>, options: ClientOptions = {}): Promise<Client> {
  const ws = new WebSocket(url, { ...options, headers })
  const raw: string[] = []
  const hellos: FeedEnvelope[] = []
  ws.on('message', (data) => {
    const envelope = JSON.parse(String(data)) as FeedEnvelope
    if (envelope.type === 'feed:hello') hellos.push(envelope)
    else raw.push(String(data))
  })
  const closed = new Promise<{ code: number, reason: string }>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: String(reason) }))
  })
  t.teardown(() => ws.terminate())
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve)
    ws.once('error', reject)
  })
  const envelopes = (): FeedEnvelope[] => raw.map((message) => JSON.parse(message) as FeedEnvelope)
  return { ws, raw, hellos, envelopes, ids: () => envelopes().map((envelope) => envelope.id), closed }
}

interface Refusal { statusCode: number, body: { code: string }, opened: boolean, serverClosedSocket: boolean }

/** An upgrade the server must answer over HTTP: its status, its body, and whether it closed the socket. */
async function refusedUpgrade (url: string, headers: Record<string, string>): Promise<Refusal> {
  const ws = new WebSocket(url, { headers })
  let opened = false
  ws.on('open', () => { opened = true })
  ws.on('error', () => {})
  // With this listener ws leaves the response and its socket alone: closing it is up to the server.
  const [, response] = await new Promise<[unknown, import('node:http').IncomingMessage]>((resolve) => {
    ws.once('unexpected-response', (request, response) => resolve([request, response]))
  })
  const socket = response.socket
  let body = ''
  for await (const chunk of response) body += String(chunk)
  const serverClosedSocket = await new Promise<boolean>((resolve) => {
    if (socket.destroyed) { resolve(true); return }
    const timer = setTimeout(() => resolve(false), 1000)
    socket.once('close', () => { clearTimeout(timer); resolve(true) })
  })
  socket.destroy()
  return { statusCode: response.statusCode ?? 0, body: JSON.parse(body) as { code: string }, opened, serverClosedSocket }
}

async function until (what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

/** An `agent:status` event for `extension`, seen by `audience` (by default, that agent). */
function appendStatus (eventLog: EventLog, extension: string, audience: Audience = { extensions: [extension] }, reason?: string): number {
  const data = reason === undefined ? { extension, state: 'on_call' as const } : { extension, state: 'paused' as const, reason }
  return eventLog.append('agent:status', data, audience).envelope.id
}

/** A last event for everyone: once a client has it, every earlier event it may see has arrived too. */
async function flush (eventLog: EventLog, clients: Client[]): Promise<void> {
  const id = eventLog.append('asterisk:connection', { ami: true, ari: true }, 'everyone').envelope.id
  await until(`event ${id}`, () => clients.every((client) => client.ids().includes(id)))
}

t.test('without an identity the upgrade is refused with 401, and the socket is closed', async (t) => {
  const { url } = await setup(t)
  for (const headers of [{}, { authorization: 'nobody' }] as Array<Record<string, string>>) {
    const refusal = await refusedUpgrade(url(), headers)
    t.equal(refusal.statusCode, 401)
    t.equal(refusal.body.code, 'XFER_UNAUTHENTICATED')
    t.equal(refusal.opened, false, 'no WebSocket opened')
    t.equal(refusal.serverClosedSocket, true, 'the server does not keep the refused socket')
  }
})

t.test('an invalid since is refused with 400 before the upgrade', async (t) => {
  const { url } = await setup(t)
  for (const since of ['abc', '-1', '1.5', '1e3', '', '0x10', '1234567890123456', '1&since=2']) {
    const refusal = await refusedUpgrade(url(`?since=${since}`), agent('101'))
    t.equal(refusal.statusCode, 400, since)
    t.equal(refusal.body.code, 'XFER_INVALID_INPUT', since)
    t.equal(refusal.opened, false, since)
    t.equal(refusal.serverClosedSocket, true, since)
  }
})

t.test('an agent gets its own events and those for everyone; a supervisor gets all', async (t) => {
  const { url, eventLog } = await setup(t)
  const a = await connect(t, url(), agent('101'))
  const b = await connect(t, url(), agent('102'))
  const boss = await connect(t, url(), supervisor)
  const everyone = eventLog.append('asterisk:connection', { ami: false, ari: true }, 'everyone').envelope.id
  const forA = appendStatus(eventLog, '101')
  const forB = appendStatus(eventLog, '102')
  const forBoth = appendStatus(eventLog, '101', { extensions: ['101', '102'] })
  const forNobody = appendStatus(eventLog, '103')
  await flush(eventLog, [a, b, boss])
  const last = eventLog.lastId
  t.same(a.ids(), [everyone, forA, forBoth, last])
  t.same(b.ids(), [everyone, forB, forBoth, last])
  t.same(boss.ids(), [everyone, forA, forB, forBoth, forNobody, last])
  t.same(a.envelopes()[1], eventLog.since(forA - 1).events[0]?.envelope, 'the envelope as logged')
})

t.test('an event is serialised once, however many sockets receive it', async (t) => {
  const { url, eventLog } = await setup(t)
  const clients = [await connect(t, url(), agent('101')), await connect(t, url(), agent('101')), await connect(t, url(), supervisor)]
  const stringify = JSON.stringify
  let calls = 0
  JSON.stringify = ((...args: Parameters<typeof stringify>) => { calls++; return stringify(...args) }) as typeof stringify
  let json: string
  try {
    json = eventLog.append('agent:status', { extension: '101', state: 'ringing' }, { extensions: ['101'] }).json
  } finally {
    JSON.stringify = stringify
  }
  t.equal(calls, 1)
  await until('the event on every socket', () => clients.every((client) => client.raw.length === 1))
  for (const client of clients) t.equal(client.raw[0], json)
})

t.test('a burst in one turn arrives as one message per event, byte for byte, whatever the frame length', async (t) => {
  const { url, eventLog } = await setup(t)
  const clients = [await connect(t, url(), agent('101')), await connect(t, url(), supervisor)]
  // Reasons that put the envelope around each frame-length boundary of RFC 6455 (125/126 bytes, 64 KiB),
  // past the batch size written at once, and in multi-byte UTF-8.
  const base = Buffer.byteLength(eventLog.append('agent:status', { extension: '101', state: 'paused', reason: '' }, { extensions: ['101'] }).json)
  const sizes = [125, 126, 127, 65_535, 65_536, 65_537, 200_000]
  const reasons = [...sizes.map((size) => 'r'.repeat(Math.max(0, size - base))), 'é€😀'.repeat(50), '']
  const sent = [eventLog.since(0).events[0]?.json as string]
  for (const reason of reasons) sent.push(eventLog.append('agent:status', { extension: '101', state: 'paused', reason }, { extensions: ['101'] }).json)
  t.same(sent.slice(1, 1 + sizes.length).map((json) => Buffer.byteLength(json)), sizes, 'the envelopes have the boundary lengths')
  await until('every event on both sockets', () => clients.every((client) => client.raw.length === sent.length))
  for (const client of clients) t.same(client.raw, sent, 'the same messages, in order')
})

t.test('with permessage-deflate negotiated the feed sends through ws (compressed), in order', async (t) => {
  const { url, eventLog } = await setup(t, { hostWebsocket: 'deflate' })
  const a = await connect(t, url(), agent('101'), { perMessageDeflate: true })
  t.match(a.ws.extensions, /permessage-deflate/, 'negotiated')
  const ids = Array.from({ length: 50 }, () => appendStatus(eventLog, '101', 'everyone', 'x'.repeat(2000)))
  await flush(eventLog, [a])
  t.same(a.ids(), [...ids, eventLog.lastId])
})

t.test('resuming with ?since= replays exactly the missed visible events in order, then goes on live', async (t) => {
  const { url, eventLog } = await setup(t)
  for (let i = 0; i < 20; i++) appendStatus(eventLog, i % 2 === 0 ? '101' : '102')
  const lastSeen = 7
  // Events keep coming while the client connects and after: some land in the backlog, some live, and
  // the boundary between the two falls somewhere in the middle.
  let appending = true
  const producer = (async () => {
    // eslint-disable-next-line no-unmodified-loop-condition -- the test body clears `appending` between two awaits
    for (let i = 0; appending; i++) {
      appendStatus(eventLog, ['101', '102', '103'][i % 3] ?? '101', i % 5 === 0 ? 'everyone' : undefined)
      await new Promise((resolve) => setImmediate(resolve))
    }
  })()
  const a = await connect(t, url(`?since=${lastSeen}`), agent('101'))
  const openedAt = eventLog.lastId
  await until('live events after the open', () => eventLog.lastId > openedAt + 50)
  appending = false
  await producer
  await flush(eventLog, [a])
  const expected = eventLog.since(lastSeen).events
    .filter(({ audience }) => audience === 'everyone' || audience.extensions.includes('101'))
    .map(({ envelope }) => envelope.id)
  t.ok(openedAt > 20, 'events were appended while the client was connecting')
  t.same(a.ids(), expected)
  t.equal(new Set(a.ids()).size, a.ids().length, 'no duplicate')
  t.ok(a.ids().every((id) => id > lastSeen), 'nothing the client had already seen')
})

t.test('a socket opened without since starts with feed:hello carrying the newest id, the point to resume from', async (t) => {
  const { url, eventLog } = await setup(t)
  appendStatus(eventLog, '102')
  const newest = appendStatus(eventLog, '102')
  const a = await connect(t, url(), agent('101'))
  const next = appendStatus(eventLog, '101')
  await flush(eventLog, [a])
  t.equal(a.hellos.length, 1)
  t.match(a.hellos[0], { id: newest, type: 'feed:hello', data: { lastId: newest } })
  t.ok(Number.isFinite(Date.parse(a.hellos[0]?.timestamp ?? '')), 'with a timestamp like any envelope')
  t.equal(a.ids()[0], next, 'then the live events, nothing older')
  t.equal(eventLog.since(0).events.filter(({ envelope }) => envelope.type === 'feed:hello').length, 0, 'per socket: never logged')
  const resumed = await connect(t, url(`?since=${newest}`), agent('101'))
  await flush(eventLog, [resumed])
  t.same(resumed.hellos, [], 'a socket that resumes gets its backlog instead')
  t.equal(resumed.ids()[0], next)
})

t.test('an empty log: feed:hello with 0', async (t) => {
  const { url } = await setup(t)
  const a = await connect(t, url(), agent('101'))
  await until('the hello', () => a.hellos.length === 1)
  t.match(a.hellos[0], { id: 0, data: { lastId: 0 } })
})

t.test('since the last id: no replay, only live events', async (t) => {
  const { url, eventLog } = await setup(t)
  appendStatus(eventLog, '101')
  appendStatus(eventLog, '101')
  const a = await connect(t, url(`?since=${eventLog.lastId}`), agent('101'))
  const live = appendStatus(eventLog, '101')
  await until('the live event', () => a.raw.length === 1)
  await flush(eventLog, [a])
  t.same(a.ids(), [live, eventLog.lastId])
})

t.test('events that fell out of the buffer: a feed:gap notice first, then what is still buffered', async (t) => {
  const { url, eventLog } = await setup(t, { eventLog: new EventLog({ capacity: 5 }) })
  for (let i = 1; i <= 12; i++) appendStatus(eventLog, i % 2 === 0 ? '101' : '102')
  const a = await connect(t, url('?since=2'), agent('101'))
  await flush(eventLog, [a])
  const [gap, ...rest] = a.envelopes()
  t.match(gap, { id: 12, type: 'feed:gap', timestamp: String, data: { since: 2, oldestAvailable: 8 } })
  t.same(rest.map((envelope) => envelope.id), [8, 10, 12, 13], 'the buffered events for 101, then live')
  t.equal(eventLog.lastId, 13, 'the gap notice is not logged')
})

t.test('a since beyond the last id (the server restarted): feed:gap, then every buffered event', async (t) => {
  const { url, eventLog } = await setup(t)
  appendStatus(eventLog, '101')
  appendStatus(eventLog, '102')
  appendStatus(eventLog, '101')
  const a = await connect(t, url('?since=500'), agent('101'))
  await flush(eventLog, [a])
  const [gap, ...rest] = a.envelopes()
  t.match(gap, { id: 3, type: 'feed:gap', data: { since: 500, oldestAvailable: 1 } })
  t.same(rest.map((envelope) => envelope.id), [1, 3, 4])
})

t.test('heartbeat: a client that does not answer pings is cut after about two intervals; others stay', async (t) => {
  const { url, logs } = await setup(t, { heartbeatIntervalMs: 50 })
  const silent = await connect(t, url(), agent('101'), { autoPong: false })
  const silentOpenedAt = Date.now()
  const healthy = await connect(t, url(), agent('102'))
  let pings = 0
  healthy.ws.on('ping', () => pings++)
  const { code } = await silent.closed
  const elapsed = Date.now() - silentOpenedAt
  t.equal(code, 1006, 'terminated, without a close handshake')
  t.ok(elapsed >= 90 && elapsed < 1000, `cut after ${elapsed} ms`)
  await sleep(300)
  t.equal(healthy.ws.readyState, WebSocket.OPEN)
  t.ok(pings >= 4, `the answering client was pinged ${pings} times and kept`)
  t.ok(logs.some((line) => line.msg.includes('did not answer the ping')))
})

t.test('a slow consumer is closed with 4008 once its unsent data passes the limit; others go on', async (t) => {
  const maxBufferedBytes = 64 * 1024
  const { url, eventLog, logs } = await setup(t, { maxBufferedBytes })
  const slow = await connect(t, url(), agent('101'))
  const reader = await connect(t, url(), agent('102'))
  const socket = (slow.ws as unknown as { _socket: import('node:net').Socket })._socket
  socket.pause()
  // 64 KiB events until the server gives up on the stopped reader: first the kernel's loopback buffers
  // fill (a few MB), then the server's own. Capped at 64 MB, far more than any kernel buffers.
  const reason = 'x'.repeat(64 * 1024)
  const closedSlowConsumer = (): boolean => logs.some((line) => line.msg.includes('slow consumer'))
  let count = 0
  while (!closedSlowConsumer() && count < 1024) {
    appendStatus(eventLog, '101', 'everyone', reason)
    count++
    await new Promise((resolve) => setImmediate(resolve))
  }
  t.ok(closedSlowConsumer(), `closed after ${count} events`)
  for (let i = 0; i < 10; i++) appendStatus(eventLog, '101', 'everyone', reason)
  count += 10
  await flush(eventLog, [reader])
  const warning = logs.find((line) => line.msg.includes('slow consumer'))
  t.equal(warning?.level, 40, 'logged at warn')
  const buffered = Number(warning?.bufferedBytes)
  t.ok(buffered > maxBufferedBytes && buffered < maxBufferedBytes + 2 * reason.length, `closed holding ${buffered} bytes`)
  t.equal(reader.raw.length, count + 1, 'the reading client got every event')

  socket.resume()
  const closed = await slow.closed
  t.same(closed, { code: SLOW_CONSUMER_CLOSE_CODE, reason: 'slow consumer: buffered data over limit' })
  t.ok(slow.raw.length < count, `the slow client got ${slow.raw.length} events before the close, not all ${count}`)
  t.same(slow.ids(), Array.from({ length: slow.raw.length }, (_, i) => i + 1), 'what it got came in order, without holes')
})

t.test('a replay larger than the limit is not taken for a slow consumer', async (t) => {
  const maxBufferedBytes = 64 * 1024
  const { url, eventLog } = await setup(t, { maxBufferedBytes, eventLog: new EventLog({ capacity: 200 }) })
  // 13 MB of backlog: more than loopback's kernel buffers, so most of it waits in the server's socket.
  const reason = 'x'.repeat(64 * 1024)
  for (let i = 0; i < 200; i++) appendStatus(eventLog, '101', 'everyone', reason)
  const a = await connect(t, url('?since=0'), agent('101'))
  const live = [appendStatus(eventLog, '101', 'everyone', reason), appendStatus(eventLog, '101')]
  await flush(eventLog, [a])
  t.equal(a.ws.readyState, WebSocket.OPEN)
  t.same(a.ids(), [...Array.from({ length: 200 }, (_, i) => i + 1), ...live, eventLog.lastId])
})

t.test('app.close() with open sockets completes promptly and the clients see "going away"', async (t) => {
  const { app, url, eventLog } = await setup(t)
  const clients = [await connect(t, url(), agent('101')), await connect(t, url('?since=0'), supervisor)]
  appendStatus(eventLog, '101')
  const startedAt = Date.now()
  await app.close()
  const elapsed = Date.now() - startedAt
  t.ok(elapsed < 500, `closed in ${elapsed} ms`)
  for (const client of clients) t.same(await client.closed, { code: 1001, reason: 'server shutting down' })
})

t.test('app.close() does not wait on a client that stopped reading', async (t) => {
  const { app, url } = await setup(t, { heartbeatIntervalMs: 60_000 })
  const stuck = await connect(t, url(), agent('101'))
  const socket = (stuck.ws as unknown as { _socket: import('node:net').Socket })._socket
  socket.pause()
  const startedAt = Date.now()
  await app.close()
  const elapsed = Date.now() - startedAt
  t.ok(elapsed < 3000, `closed in ${elapsed} ms, not ws's 30 s close timeout`)
  socket.resume()
  const { code } = await stuck.closed
  t.ok(code === 1001 || code === 1006, `the client saw the close (${code})`)
})

t.test('a host that registered @fastify/websocket at the root keeps its own; the feed works under its Ajv', async (t) => {
  const { app, url, eventLog } = await setup(t, { hostWebsocket: true })
  t.equal(app.server.listenerCount('upgrade'), 1, 'one upgrade listener: the host\'s')
  appendStatus(eventLog, '101')
  appendStatus(eventLog, '102')
  const a = await connect(t, url('?since=0'), agent('101'))
  await flush(eventLog, [a])
  t.same(a.ids(), [1, 3])
  const refusal = await refusedUpgrade(url(), {})
  t.equal(refusal.statusCode, 401)
  t.equal(refusal.serverClosedSocket, true)
  t.equal((await refusedUpgrade(url('?since=-1'), agent('101'))).statusCode, 400)
})

t.test('without a host registration the feed brings its own, once', async (t) => {
  const { app } = await setup(t)
  t.equal(app.server.listenerCount('upgrade'), 1)
})

t.test('options are checked at registration', async (t) => {
  const cases: Array<[Partial<EventFeedOptions>, RegExp]> = [
    [{}, /eventLog option is required/],
    [{ eventLog: new EventLog(), heartbeatIntervalMs: 0 }, /heartbeatIntervalMs must be a positive number/],
    [{ eventLog: new EventLog(), maxBufferedBytes: -1 }, /maxBufferedBytes must be a non-negative number/],
    [{ eventLog: new EventLog(), flushIntervalMs: Number.NaN }, /flushIntervalMs must be a non-negative number/]
  ]
  for (const [options, message] of cases) {
    const app = Fastify()
    await t.rejects(async () => { await app.register(eventFeedRoutes, options as EventFeedOptions) }, message)
    await app.close()
  }
})
