// Tiny servers for the client's unit tests, on free loopback ports: an HTTP API answering with the
// plugin's own error handler (so error bodies have the real shape), and a scripted event feed whose
// test decides what each connection receives and when it closes.
import type { IncomingHttpHeaders } from 'node:http'
import websocket from '@fastify/websocket'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import type { WebSocket } from 'ws'
import { transferErrorHandler } from '../../src/routes/error-handler.js'
import type { FeedEnvelope, Transfer } from '../../src/client/index.js'
import { waitFor } from '../helpers/asterisk/calls.js'

export const TOKEN = 'token-101'

export interface RecordedRequest {
  method: string
  url: string
  headers: IncomingHttpHeaders
  body: unknown
}

export interface FakeApi {
  baseUrl: string
  /** Every request that reached the server, in order. */
  requests: RecordedRequest[]
}

/** An app whose `/api` routes (added by `routes`) answer errors as the plugin does. */
export async function startFakeApi (t: Test, routes: (api: FastifyInstance) => void): Promise<FakeApi> {
  const requests: RecordedRequest[] = []
  // Some tests leave a handler running after the client gave up on it: close cuts its connection.
  const app = Fastify({ forceCloseConnections: true })
  app.addHook('preHandler', async (request) => {
    requests.push({ method: request.method, url: request.url, headers: request.headers, body: request.body })
  })
  await app.register(async (api) => {
    api.setErrorHandler(transferErrorHandler)
    routes(api)
  }, { prefix: '/api' })
  const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => await app.close())
  return { baseUrl, requests }
}

export interface FeedConnection {
  /** The URL the client connected with (its `token` and `since`). */
  url: URL
  socket: WebSocket
  send: (envelope: FeedEnvelope) => void
  /** Resolves with the close code once the socket closed. */
  closed: Promise<number>
}

export interface FakeFeed {
  baseUrl: string
  /** Every accepted connection, in order. */
  connections: FeedConnection[]
  /** Resolves with connection `index` (0-based) once it is open. */
  connection: (index: number) => Promise<FeedConnection>
  /** How many upgrade requests were refused for a wrong token. */
  refused: () => number
}

/** `GET /api/events` that accepts `?token=<token>` only (401 before the upgrade otherwise). */
export async function startFakeFeed (t: Test, token = TOKEN): Promise<FakeFeed> {
  const connections: FeedConnection[] = []
  let refused = 0
  const app = Fastify()
  await app.register(websocket)
  app.addHook('onRequest', async (request, reply) => {
    if (new URL(request.url, 'http://localhost').searchParams.get('token') === token) return
    refused++
    await reply.code(401).send({ statusCode: 401, code: 'XFER_UNAUTHENTICATED', error: 'Unauthorized', message: 'No identity' })
  })
  app.get('/api/events', { websocket: true }, (socket, request) => {
    const closed = new Promise<number>((resolve) => { socket.once('close', (code) => resolve(code)) })
    connections.push({
      url: new URL(request.url, 'http://localhost'),
      socket,
      send: (envelope) => { socket.send(JSON.stringify(envelope)) },
      closed
    })
  })
  const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => await app.close())
  return {
    baseUrl,
    connections,
    connection: async (index) => await waitFor(() => connections[index], 5000, `feed connection #${index + 1}`, 5),
    refused: () => refused
  }
}

/** A transfer as the server answers it. */
export function transferFixture (overrides: Partial<Transfer> = {}): Transfer {
  return {
    id: '6f1c1d8e-3b7a-4c1e-9a51-0d2f3c4b5a69',
    type: 'blind',
    status: 'redirected',
    origin: 'plugin',
    extension: '101',
    targetExtension: '102',
    requestedBy: '101',
    channels: { agent: 'PJSIP/101-00000001', peer: 'PJSIP/customer1-00000002' },
    createdAt: '2025-01-01T10:00:00.000Z',
    updatedAt: '2025-01-01T10:00:00.000Z',
    ...overrides
  }
}

/** A transfer event envelope with that id. */
export function transferEvent (id: number, status: Transfer['status'] = 'redirected'): FeedEnvelope<'call:transfer_updated'> {
  return { id, type: 'call:transfer_updated', timestamp: '2025-01-01T10:00:00.000Z', data: transferFixture({ status }) }
}
