// The client's event feed: opened by the first subscription with ?token=, back by itself after any
// close with ?since=<last id>, each event delivered once, gaps delivered, close() final. First against
// a scripted feed that sends exactly what each case needs, then against the plugin's own feed route.
import websocket from '@fastify/websocket'
import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import WebSocket from 'ws'
import {
  createTransferClient,
  type FeedEnvelope,
  type FeedEventType,
  type TransferClient,
  type TransferClientOptions
} from '../../src/client/index.js'
import { EventLog } from '../../src/domain/event-log.js'
import { eventFeedRoutes } from '../../src/feed/websocket-feed.js'
import { requireIdentity } from '../../src/authentication.js'
import { transferErrorHandler } from '../../src/routes/error-handler.js'
import { waitFor } from '../helpers/asterisk/calls.js'
import { startFakeFeed, TOKEN, transferEvent, transferFixture } from './fixtures/fake-server.js'

const RECONNECT = { initialDelayMs: 20, maxDelayMs: 80 }

function feedClient (t: Test, baseUrl: string, options: Partial<TransferClientOptions> = {}): TransferClient {
  const client = createTransferClient({ baseUrl, token: TOKEN, WebSocket, reconnect: RECONNECT, ...options })
  t.teardown(client.close)
  return client
}

/** Subscribes to `type` and keeps the envelopes it receives. */
function collect (client: TransferClient, type: FeedEventType): FeedEnvelope[] {
  const received: FeedEnvelope[] = []
  client.on(type, (_data, envelope) => { received.push(envelope) })
  return received
}

const ids = (envelopes: FeedEnvelope[]): number[] => envelopes.map((envelope) => envelope.id)

t.test('the feed opens on the first subscription, once, with ?token= and no since', async (t) => {
  const feed = await startFakeFeed(t)
  const client = feedClient(t, feed.baseUrl)
  await sleep(100)
  t.equal(feed.connections.length, 0, 'creating the client opens nothing')
  const statuses: string[] = []
  client.on('call:transfer_updated', (transfer) => { statuses.push(`${transfer.targetExtension}:${transfer.status}`) })
  const connection = collect(client, 'asterisk:connection')
  const opened = await feed.connection(0)
  t.equal(opened.url.pathname, '/api/events')
  t.equal(opened.url.searchParams.get('token'), TOKEN)
  t.equal(opened.url.searchParams.get('since'), null, 'a first connection starts live')
  opened.send(transferEvent(1, 'answered'))
  opened.send({ id: 2, type: 'asterisk:connection', timestamp: '2025-01-01T10:00:00.000Z', data: { ami: true, ari: false } })
  await waitFor(() => connection.length === 1, 2000, 'the connection event')
  t.same(statuses, ['102:answered'], 'each handler gets its own type, data first')
  t.same(connection[0]?.data, { ami: true, ari: false })
  await sleep(50)
  t.equal(feed.connections.length, 1, 'one socket for every subscription')
})

t.test('after a close it reconnects with since=<last id> and delivers each id once', async (t) => {
  const feed = await startFakeFeed(t)
  const client = feedClient(t, feed.baseUrl)
  const received = collect(client, 'call:transfer_updated')
  const first = await feed.connection(0)
  for (const id of [1, 2, 3]) first.send(transferEvent(id))
  await waitFor(() => received.length === 3, 2000, 'events 1 to 3')
  first.socket.close(4008, 'slow consumer: buffered data over limit')

  const second = await feed.connection(1)
  t.equal(second.url.searchParams.get('since'), '3')
  t.equal(second.url.searchParams.get('token'), TOKEN)
  for (const id of [2, 3, 4]) second.send(transferEvent(id))
  await waitFor(() => received.length === 4, 2000, 'event 4')
  second.socket.close(1001, 'server shutting down')

  const third = await feed.connection(2)
  t.equal(third.url.searchParams.get('since'), '4')
  third.send(transferEvent(4))
  third.send(transferEvent(5))
  await waitFor(() => received.length === 5, 2000, 'event 5')
  t.same(ids(received), [1, 2, 3, 4, 5], 'repeats dropped, order kept')
})

t.test('a feed:hello is the resume point of a client that got no event yet', async (t) => {
  const feed = await startFakeFeed(t)
  const client = feedClient(t, feed.baseUrl)
  const hellos = collect(client, 'feed:hello')
  const first = await feed.connection(0)
  first.send({ id: 17, type: 'feed:hello', timestamp: '2025-01-01T10:00:00.000Z', data: { lastId: 17 } })
  await waitFor(() => hellos.length === 1, 2000, 'the hello')
  first.socket.close(1001, 'server shutting down')
  const second = await feed.connection(1)
  t.equal(second.url.searchParams.get('since'), '17', 'resumes after the hello, not live')
})

t.test('a feed:gap reaches feed:gap handlers, and the events after it count from the server\'s new numbering', async (t) => {
  const feed = await startFakeFeed(t)
  const client = feedClient(t, feed.baseUrl)
  const received = collect(client, 'call:transfer_updated')
  const gaps: unknown[] = []
  client.on('feed:gap', (gap) => { gaps.push(gap) })
  const first = await feed.connection(0)
  first.send(transferEvent(40))
  first.send(transferEvent(41))
  await waitFor(() => received.length === 2, 2000, 'events 40 and 41')
  first.socket.terminate()

  // A restarted server: its ids start again at 1, and it says so with a gap notice first.
  const second = await feed.connection(1)
  t.equal(second.url.searchParams.get('since'), '41')
  second.send({ id: 2, type: 'feed:gap', timestamp: '2025-01-01T10:00:00.000Z', data: { since: 41, oldestAvailable: 1 } })
  second.send(transferEvent(1))
  second.send(transferEvent(2))
  await waitFor(() => received.length === 4, 2000, 'the restarted server\'s events')
  t.same(gaps, [{ since: 41, oldestAvailable: 1 }])
  t.same(ids(received), [40, 41, 1, 2])
  second.socket.close(1001)

  const third = await feed.connection(2)
  t.equal(third.url.searchParams.get('since'), '2', 'resumes in the new numbering')
})

t.test('a refused connection is retried, asking getToken again', async (t) => {
  const feed = await startFakeFeed(t)
  const tokens = ['expired', 'expired', TOKEN]
  const client = feedClient(t, feed.baseUrl, { token: undefined, getToken: async () => tokens.shift() ?? TOKEN })
  const received = collect(client, 'call:transfer_updated')
  const opened = await feed.connection(0)
  t.equal(feed.refused(), 2)
  t.equal(opened.url.searchParams.get('token'), TOKEN)
  opened.send(transferEvent(7))
  await waitFor(() => received.length === 1, 2000, 'an event once connected')
})

t.test('a getToken that fails is tried again like a refused connection', async (t) => {
  const feed = await startFakeFeed(t)
  let calls = 0
  const client = feedClient(t, feed.baseUrl, {
    token: undefined,
    getToken: async () => {
      if (++calls === 1) throw new Error('session service down')
      return TOKEN
    }
  })
  collect(client, 'call:transfer_updated')
  await feed.connection(0)
  t.equal(calls, 2)
})

t.test('close() closes the socket and ends reconnecting, even in the middle of a backoff', async (t) => {
  const feed = await startFakeFeed(t)
  const client = feedClient(t, feed.baseUrl)
  const received = collect(client, 'call:transfer_updated')
  const open = new Promise<void>((resolve) => { client.onFeedStatus((status) => { if (status === 'open') resolve() }) })
  const first = await feed.connection(0)
  // Closed once open on the client's side too: a socket closed while still connecting is aborted (1006).
  await open
  client.close()
  t.equal(await first.closed, 1000, 'a normal closure')
  first.send(transferEvent(1))
  await sleep(RECONNECT.maxDelayMs * 4)
  t.equal(feed.connections.length, 1, 'no reconnect')
  t.same(received, [])
  t.throws(() => client.on('call:transfer_updated', () => {}), /closed: create a new one/)

  const other = feedClient(t, feed.baseUrl, { reconnect: { initialDelayMs: 150, maxDelayMs: 150 } })
  collect(other, 'call:transfer_updated')
  const second = await feed.connection(1)
  second.socket.terminate()
  await sleep(20)
  other.close() // while it waits for its reconnect
  await sleep(400)
  t.equal(feed.connections.length, 2, 'the pending reconnect was cancelled')
})

t.test('closed with 4029 (too many sockets for this identity) it waits its longest delay, not the shortest', async (t) => {
  const feed = await startFakeFeed(t)
  const reconnect = { initialDelayMs: 10, maxDelayMs: 1200 }
  const client = feedClient(t, feed.baseUrl, { reconnect })
  collect(client, 'call:transfer_updated')
  const open = new Promise<void>((resolve) => { client.onFeedStatus((status) => { if (status === 'open') resolve() }) })
  const first = await feed.connection(0)
  // As the server does it: accepted (the client saw it open, which resets its backoff), then closed.
  await open
  const closedAt = Date.now()
  first.socket.close(4029, 'too many feed sockets for this identity')
  await feed.connection(1)
  const waited = Date.now() - closedAt
  // The spread keeps it in the upper half of maxDelayMs; any other close after an open waits <= 10 ms.
  t.ok(waited >= reconnect.maxDelayMs / 2, `reconnected after ${waited} ms`)

  const second = feed.connections[1]
  const secondClosedAt = Date.now()
  second?.socket.close(4008, 'slow consumer: buffered data over limit')
  await feed.connection(2)
  t.ok(Date.now() - secondClosedAt < reconnect.maxDelayMs / 2, 'another close after an open: the shortest delay again')
})

t.test('onFeedStatus follows the connection: open, reconnecting, open again, closed', async (t) => {
  const feed = await startFakeFeed(t)
  const client = feedClient(t, feed.baseUrl)
  const statuses: string[] = []
  client.onFeedStatus((status) => { statuses.push(status) })
  collect(client, 'call:transfer_updated')
  const first = await feed.connection(0)
  await waitFor(() => statuses.length === 1, 2000, 'open')
  first.socket.close(1001)
  await feed.connection(1)
  await waitFor(() => statuses.length === 3, 2000, 'open again')
  client.close()
  t.same(statuses, ['open', 'reconnecting', 'open', 'closed'])
  t.throws(() => client.onFeedStatus(() => {}), /closed/)
})

t.test('unsubscribing stops one handler; one that throws does not stop the others', async (t) => {
  const feed = await startFakeFeed(t)
  const failures: Array<{ message: string, id: number | undefined }> = []
  const client = feedClient(t, feed.baseUrl, {
    onHandlerError: (error, envelope) => { failures.push({ message: (error as Error).message, id: envelope?.id }) }
  })
  const kept: number[] = []
  const dropped: number[] = []
  client.on('call:transfer_updated', () => { throw new Error('handler bug') })
  const unsubscribe = client.on('call:transfer_updated', (_transfer, { id }) => { dropped.push(id) })
  client.on('call:transfer_updated', (_transfer, { id }) => { kept.push(id) })
  const opened = await feed.connection(0)
  opened.send(transferEvent(1))
  await waitFor(() => kept.length === 1, 2000, 'event 1')
  unsubscribe()
  opened.send(transferEvent(2))
  await waitFor(() => kept.length === 2, 2000, 'event 2')
  t.same(dropped, [1])
  t.same(failures, [{ message: 'handler bug', id: 1 }, { message: 'handler bug', id: 2 }])
})

t.test('the WebSocket: the global one when there is one, a clear error when there is none', async (t) => {
  const feed = await startFakeFeed(t)
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'WebSocket')
  t.teardown(() => {
    if (saved === undefined) Reflect.deleteProperty(globalThis, 'WebSocket')
    else Object.defineProperty(globalThis, 'WebSocket', saved)
  })
  Object.defineProperty(globalThis, 'WebSocket', { value: undefined, configurable: true, writable: true })
  const without = feedClient(t, feed.baseUrl, { WebSocket: undefined })
  t.throws(() => without.on('feed:gap', () => {}), /pass the WebSocket option/)

  Object.defineProperty(globalThis, 'WebSocket', { value: WebSocket, configurable: true, writable: true })
  const global = feedClient(t, feed.baseUrl, { WebSocket: undefined })
  collect(global, 'feed:gap')
  await feed.connection(0)
})

/** The plugin's own feed route, authenticated with `?token=` as the example app does. */
async function startPluginFeed (t: Test, eventLog: EventLog, port = 0): Promise<{ app: FastifyInstance, baseUrl: string }> {
  const app = Fastify()
  // At the root, as a host that serves WebSockets itself: `app.websocketServer` reaches the feed's sockets.
  await app.register(websocket)
  await app.register(async (routes) => {
    routes.setErrorHandler(transferErrorHandler)
    requireIdentity(routes, (request) => (request.query as { token?: string }).token === TOKEN ? { extension: '101', role: 'agent' } : null)
    await routes.register(eventFeedRoutes, { eventLog })
  }, { prefix: '/api' })
  const baseUrl = await app.listen({ host: '127.0.0.1', port })
  t.teardown(async () => await app.close())
  return { app, baseUrl }
}

t.test('against the plugin\'s feed: a cut connection resumes with what was missed; a restarted server sends a gap', async (t) => {
  const append = (eventLog: EventLog): number => eventLog.append('call:transfer_updated', transferFixture(), { extensions: ['101'] }).envelope.id
  const before = new EventLog()
  append(before)
  const { app, baseUrl } = await startPluginFeed(t, before)
  const client = feedClient(t, baseUrl)
  const received = collect(client, 'call:transfer_updated')
  const gaps = collect(client, 'feed:gap')
  await waitFor(() => app.websocketServer.clients.size === 1, 2000, 'the client connected')
  append(before)
  append(before)
  await waitFor(() => received.length === 2, 2000, 'events 2 and 3')

  for (const socket of app.websocketServer.clients) socket.terminate()
  append(before)
  append(before)
  await waitFor(() => received.length === 4, 2000, 'the events missed while away')
  t.same(ids(received), [2, 3, 4, 5], 'live only at first, then exactly what was missed')

  const { port } = new URL(baseUrl)
  await app.close()
  const after = new EventLog()
  append(after)
  append(after)
  await startPluginFeed(t, after, Number(port))
  await waitFor(() => received.length === 6, 5000, 'the restarted server\'s events')
  append(after)
  await waitFor(() => received.length === 7, 2000, 'a live event after the restart')
  t.same(gaps.map((gap) => gap.data), [{ since: 5, oldestAvailable: 1 }])
  t.same(ids(received), [2, 3, 4, 5, 1, 2, 3])
})

t.test('against the plugin\'s feed: a client cut before its first event still gets the events of the cut', async (t) => {
  const eventLog = new EventLog()
  for (let i = 0; i < 3; i++) eventLog.append('call:transfer_updated', transferFixture(), { extensions: ['102'] })
  const { app, baseUrl } = await startPluginFeed(t, eventLog)
  const client = feedClient(t, baseUrl)
  const received = collect(client, 'call:transfer_updated')
  const hellos = collect(client, 'feed:hello')
  await waitFor(() => hellos.length === 1, 2000, 'the hello')
  t.equal(hellos[0]?.id, 3)
  for (const socket of app.websocketServer.clients) socket.terminate()
  const missed = eventLog.append('call:transfer_updated', transferFixture(), { extensions: ['101'] }).envelope.id
  await waitFor(() => received.length === 1, 2000, 'the event sent while the client was away')
  t.same(ids(received), [missed], 'only it: the events from before the client came are not replayed')
  t.equal(hellos.length, 1, 'no second hello: the client resumed with since')
})
