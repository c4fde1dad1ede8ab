// The event feed against hostile clients: too many sockets for one identity, oversized, binary,
// malformed and unexpected client messages. Each closes that socket only, with a code the client can
// read; the other sockets keep their events and the server keeps running.
import { connect as connectTcp } from 'node:net'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import websocket from '@fastify/websocket'
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import t, { type Test } from 'tap'
import { WebSocket } from 'ws'
import { TOO_MANY_SOCKETS_CLOSE_CODE as CLIENT_TOO_MANY_SOCKETS } from '../../src/client/feed.js'
import { EventLog } from '../../src/domain/event-log.js'
import { CLIENT_MESSAGE_CLOSE_CODE, TOO_MANY_SOCKETS_CLOSE_CODE, TOO_MANY_SOCKETS_CLOSE_REASON } from '../../src/feed/close-codes.js'
import { MAX_CLIENT_MESSAGE_BYTES, eventFeedRoutes, type EventFeedOptions } from '../../src/feed/websocket-feed.js'
import type { Identity } from '../../src/identity.js'
import { requireIdentity } from '../../src/authentication.js'
import { transferErrorHandler } from '../../src/routes/error-handler.js'

function authenticate (request: FastifyRequest): Identity | null {
  const match = /^agent (\w+)$/.exec(request.headers.authorization ?? '')
  return match?.[1] === undefined ? null : { role: 'agent', extension: match[1] }
}

interface Feed { app: FastifyInstance, eventLog: EventLog, url: string, port: number }

async function setup (t: Test, options: Partial<EventFeedOptions> & { hostWebsocket?: boolean } = {}): Promise<Feed> {
  const { hostWebsocket = false, ...feedOptions } = options
  const eventLog = new EventLog()
  const app = Fastify()
  if (hostWebsocket) await app.register(websocket)
  await app.register(async (routes) => {
    routes.setErrorHandler(transferErrorHandler)
    routes.setValidatorCompiler(TypeBoxValidatorCompiler)
    requireIdentity(routes, authenticate)
    await routes.register(eventFeedRoutes, { ...feedOptions, eventLog })
  }, { prefix: '/api' })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => await app.close())
  const { port } = app.server.address() as AddressInfo
  return { app, eventLog, port, url: `ws://127.0.0.1:${port}/api/events` }
}

interface Socket { ws: WebSocket, messages: string[], closed: Promise<{ code: number, reason: string }> }

async function open (t: Test, url: string, extension: string): Promise<Socket> {
  const ws = new WebSocket(url, { headers: { authorization: `agent ${extension}` } })
  const messages: string[] = []
  ws.on('message', (data) => messages.push(String(data)))
  ws.on('error', () => {})
  const closed = new Promise<{ code: number, reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })))
  t.teardown(() => ws.terminate())
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve)
    ws.once('unexpected-response', (_request, response) => reject(new Error(`HTTP ${String(response.statusCode)}`)))
  })
  return { ws, messages, closed }
}

/** An event for everyone reaches each of these sockets (they are live and served). */
async function allReceive (feed: Feed, sockets: Socket[]): Promise<void> {
  const { id } = feed.eventLog.append('asterisk:connection', { ami: true, ari: true }, 'everyone').envelope
  const deadline = Date.now() + 5000
  while (!sockets.every((socket) => socket.messages.some((message) => (JSON.parse(message) as { id: number }).id === id && message.includes('asterisk:connection')))) {
    if (Date.now() > deadline) throw new Error(`event ${id} did not reach every socket`)
    await sleep(5)
  }
}

t.test('one socket over maxSocketsPerIdentity is closed at once with 4029 and a reason; other identities are not counted', async (t) => {
  const feed = await setup(t, { maxSocketsPerIdentity: 3 })
  const mine = [await open(t, feed.url, '101'), await open(t, feed.url, '101'), await open(t, feed.url, '101')]
  const other = await open(t, feed.url, '102')
  const extra = await open(t, feed.url, '101')
  t.same(await extra.closed, { code: TOO_MANY_SOCKETS_CLOSE_CODE, reason: TOO_MANY_SOCKETS_CLOSE_REASON })
  t.same(extra.messages, [], 'no hello, no event')
  await allReceive(feed, [...mine, other])

  mine[0]?.ws.close()
  await mine[0]?.closed
  const again = await open(t, feed.url, '101')
  await allReceive(feed, [again, mine[1] as Socket, mine[2] as Socket])
  t.equal(again.ws.readyState, WebSocket.OPEN, 'a closed socket gives its place back')
})

t.test('the default cap is 10, and the client knows the close code', async (t) => {
  const feed = await setup(t)
  const sockets = await Promise.all(Array.from({ length: 10 }, async () => await open(t, feed.url, '101')))
  const eleventh = await open(t, feed.url, '101')
  t.equal((await eleventh.closed).code, 4029)
  await allReceive(feed, sockets)
  t.equal(CLIENT_TOO_MANY_SOCKETS, TOO_MANY_SOCKETS_CLOSE_CODE, 'the typed client waits on the same code')
})

t.test('a message over the payload limit closes that socket with 1009; the others keep their events', async (t) => {
  const feed = await setup(t)
  const bystander = await open(t, feed.url, '101')
  const sameIdentity = await open(t, feed.url, '102')
  const sender = await open(t, feed.url, '102')
  sender.ws.send('x'.repeat(MAX_CLIENT_MESSAGE_BYTES + 1))
  t.equal((await sender.closed).code, 1009)
  await allReceive(feed, [bystander, sameIdentity])
})

t.test('a message under the limit (text or binary) closes that socket with 1003: the feed is one-way', async (t) => {
  const feed = await setup(t)
  const bystander = await open(t, feed.url, '101')
  for (const message of ['{"type":"subscribe"}', 'ping', Buffer.from([0, 1, 2])]) {
    const sender = await open(t, feed.url, '102')
    sender.ws.send(message)
    t.same(await sender.closed, { code: CLIENT_MESSAGE_CLOSE_CODE, reason: 'the event feed accepts no messages' })
  }
  await allReceive(feed, [bystander])
})

t.test('under a host\'s own @fastify/websocket (no payload limit of ours) a large message still closes only that socket', async (t) => {
  const feed = await setup(t, { hostWebsocket: true })
  const bystander = await open(t, feed.url, '101')
  const sender = await open(t, feed.url, '101')
  sender.ws.send('x'.repeat(64 * 1024))
  t.equal((await sender.closed).code, CLIENT_MESSAGE_CLOSE_CODE)
  await allReceive(feed, [bystander])
})

/** Frames written by hand on an upgraded TCP socket: what no well-behaved client library sends. */
async function rawFrames (t: Test, feed: Feed, frames: Buffer[]): Promise<{ closeCode: number | undefined }> {
  const socket = connectTcp(feed.port, '127.0.0.1')
  t.teardown(() => socket.destroy())
  let received = Buffer.alloc(0)
  socket.on('data', (chunk) => { received = Buffer.concat([received, chunk]) })
  socket.on('error', () => {})
  socket.write('GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: agent 103\r\n\r\n')
  const deadline = Date.now() + 5000
  while (!received.includes('\r\n\r\n')) {
    if (Date.now() > deadline) throw new Error('no upgrade answer')
    await sleep(5)
  }
  const headerEnd = received.indexOf('\r\n\r\n') + 4
  if (!received.subarray(0, 12).toString().includes('101')) throw new Error(`not upgraded: ${received.toString().slice(0, 40)}`)
  for (const frame of frames) socket.write(frame)
  await new Promise<void>((resolve) => { socket.once('close', () => resolve()); setTimeout(resolve, 3000) })
  // The server's frames after the upgrade: the hello, then a close frame (opcode 8) with its code.
  let offset = headerEnd
  let closeCode: number | undefined
  while (offset + 2 <= received.length) {
    const opcode = (received[offset] as number) & 0x0f
    let length = (received[offset + 1] as number) & 0x7f
    let start = offset + 2
    if (length === 126) { length = received.readUInt16BE(offset + 2); start += 2 }
    if (opcode === 8 && length >= 2) closeCode = received.readUInt16BE(start)
    offset = start + length
  }
  return { closeCode }
}

/** A client frame: masked, as RFC 6455 requires of clients, unless `masked` is false. */
function frame (opcode: number, payload: Buffer, { masked = true, fin = true, rsv = 0 } = {}): Buffer {
  const mask = Buffer.from([1, 2, 3, 4])
  const body = masked ? Buffer.from(payload.map((byte, index) => byte ^ (mask[index % 4] as number))) : payload
  const head = Buffer.from([(fin ? 0x80 : 0) | rsv | opcode, (masked ? 0x80 : 0) | payload.length])
  return Buffer.concat([head, ...(masked ? [mask] : []), body])
}

t.test('malformed frames close that socket with the protocol\'s code; the server and the other sockets go on', async (t) => {
  const feed = await setup(t)
  const bystander = await open(t, feed.url, '101')
  const cases: Array<[string, Buffer[], number]> = [
    ['invalid UTF-8 in a text frame', [frame(1, Buffer.from([0xff, 0xfe, 0xfd]))], 1007],
    ['an unmasked client frame', [frame(1, Buffer.from('hi'), { masked: false })], 1002],
    ['a reserved opcode', [frame(3, Buffer.from('hi'))], 1002],
    ['reserved bits set', [frame(1, Buffer.from('hi'), { rsv: 0x40 })], 1002],
    ['a fragmented control frame', [frame(9, Buffer.from('hi'), { fin: false })], 1002],
    ['a length over the limit announced in the header', [Buffer.from([0x81, 0xff, 0, 0, 0, 1, 0, 0, 0, 0])], 1009]
  ]
  for (const [name, frames, expected] of cases) {
    const { closeCode } = await rawFrames(t, feed, frames)
    t.equal(closeCode, expected, name)
  }
  await allReceive(feed, [bystander])
  t.equal(bystander.ws.readyState, WebSocket.OPEN)
})

t.test('maxSocketsPerIdentity is checked at registration', async (t) => {
  for (const maxSocketsPerIdentity of [0, -1, 1.5, Number.NaN]) {
    const app = Fastify()
    await t.rejects(async () => { await app.register(eventFeedRoutes, { eventLog: new EventLog(), maxSocketsPerIdentity }).ready() }, /maxSocketsPerIdentity/, String(maxSocketsPerIdentity))
    await app.close()
  }
})
