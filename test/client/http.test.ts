// The client's HTTP calls against a tiny server: what it sends (token, body, Idempotency-Key), what
// it answers, how the server's errors and network failures reach the caller, and the retry.
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import {
  createTransferClient,
  type TransferClient,
  type TransferClientOptions
} from '../../src/client/index.js'
import { NoActiveChannelError, TransferInProgressError, TransferStateError } from '../../src/errors.js'
import { startFakeApi, TOKEN, transferFixture } from './fixtures/fake-server.js'
import { rejection } from './fixtures/rejection.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

const clientOf = (baseUrl: string, options: Partial<TransferClientOptions> = {}): TransferClient =>
  createTransferClient({ baseUrl, token: TOKEN, ...options })

t.test('transferCall: POSTs the body with the bearer token and answers the transfer', async (t) => {
  const api = await startFakeApi(t, (api) => {
    api.post('/transfers/execute', async () => transferFixture())
  })
  const client = clientOf(api.baseUrl)
  t.same(await client.transferCall('102', 'blind'), transferFixture())
  await client.transferCall('103', 'attended', { extension: '104' })
  await client.transferCall('105', 'blind', { note: 'Billing question, VIP' })
  t.match(api.requests, [
    { method: 'POST', url: '/api/transfers/execute', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: { targetExtension: '102', transferType: 'blind' } },
    { body: { targetExtension: '103', transferType: 'attended', extension: '104' } },
    { body: { targetExtension: '105', transferType: 'blind', note: 'Billing question, VIP' } }
  ])
  t.notOk('extension' in (api.requests[0]?.body as object), 'no extension unless given: the server uses the caller\'s')
  t.notOk('note' in (api.requests[0]?.body as object), 'no note unless given')
})

t.test('getToken is asked before every request', async (t) => {
  const api = await startFakeApi(t, (api) => {
    api.get('/transfers', async () => ({ transfers: [] }))
  })
  let issued = 0
  const client = clientOf(api.baseUrl, { token: undefined, getToken: async () => `refreshed-${++issued}` })
  await client.getTransfers()
  await client.getTransfers()
  t.same(api.requests.map((request) => request.headers.authorization), ['Bearer refreshed-1', 'Bearer refreshed-2'])

  const failing = clientOf(api.baseUrl, { token: undefined, getToken: async () => { throw new Error('session expired') } })
  await t.rejects(failing.getTransfers(), new Error('session expired'), 'its failure is the caller\'s, as is: no request, no retry')
  t.equal(api.requests.length, 2)
})

t.test('the read routes: paths under the prefix and their answers as the server sends them', async (t) => {
  const transfer = transferFixture()
  const call = { extension: '101', channel: 'PJSIP/101-00000001', uniqueId: '1.1', linkedId: '1.0', state: 'up' as const, startedAt: '2025-01-01T10:00:00.000Z' }
  const api = await startFakeApi(t, (api) => {
    api.get('/transfers', async () => ({ transfers: [transfer] }))
    api.get('/transfers/:id', async () => transfer)
    api.get('/transfers/available-agents', async () => ({ agents: [{ extension: '102', state: 'available' }], destinations: [] }))
    api.get('/calls', async () => ({ calls: [call] }))
  })
  const client = clientOf(api.baseUrl)
  t.same(await client.getTransfers(), { transfers: [transfer] })
  t.same(await client.getTransfer(transfer.id), transfer)
  t.same(await client.getAvailableAgents(), { agents: [{ extension: '102', state: 'available' }], destinations: [] })
  t.same(await client.getCalls(), { calls: [call] })
  t.same(api.requests.map((request) => `${request.method} ${request.url}`), [
    'GET /api/transfers',
    `GET /api/transfers/${transfer.id}`,
    'GET /api/transfers/available-agents',
    'GET /api/calls'
  ])
  t.ok(api.requests.every((request) => request.headers['idempotency-key'] === undefined), 'reads carry no Idempotency-Key')
})

t.test('prefix and a base URL with a path are joined without double slashes', async (t) => {
  const api = await startFakeApi(t, (api) => {
    api.get('/transfers', async () => ({ transfers: [] }))
  })
  await createTransferClient({ baseUrl: `${api.baseUrl}/`, token: TOKEN, prefix: 'api/' }).getTransfers()
  await createTransferClient({ baseUrl: `${api.baseUrl}/api/`, token: TOKEN, prefix: '' }).getTransfers()
  t.same(api.requests.map((request) => request.url), ['/api/transfers', '/api/transfers'])
})

t.test('server errors: the stable code, the status, the message, and transferId when present', async (t) => {
  const busyId = '0d9e8f7a-1b2c-4d3e-8f4a-5b6c7d8e9f00'
  const api = await startFakeApi(t, (api) => {
    api.post('/transfers/execute', async (request) => {
      const { targetExtension } = request.body as { targetExtension: string }
      if (targetExtension === '102') throw new NoActiveChannelError('101')
      throw Object.assign(new TransferInProgressError(busyId), { transferId: busyId })
    })
    api.post('/transfers/:id/complete', async (request) => {
      throw new TransferStateError((request.params as { id: string }).id, 'completed')
    })
  })
  const client = clientOf(api.baseUrl)

  const noChannel = await rejection(client.transferCall('102', 'blind'))
  t.ok(noChannel instanceof Error)
  t.match(noChannel, { name: 'TransferClientError', code: 'XFER_NO_ACTIVE_CHANNEL', statusCode: 404, transferId: undefined, message: 'No active channel for extension 101' })

  const inProgress = await rejection(client.transferCall('103', 'blind'))
  t.match(inProgress, { code: 'XFER_TRANSFER_IN_PROGRESS', statusCode: 409, transferId: busyId })

  const state = await rejection(client.completeTransfer(busyId))
  t.match(state, { code: 'XFER_TRANSFER_STATE', statusCode: 409 })
  t.equal(api.requests.length, 3, 'an answered error is not retried')
})

t.test('an answer that is not the plugin\'s: XFER_CLIENT_BAD_RESPONSE with the status', async (t) => {
  const api = await startFakeApi(t, (api) => {
    api.get('/transfers', async (_request, reply) => await reply.code(502).type('text/html').send('<h1>Bad Gateway</h1>'))
    api.get('/calls', async (_request, reply) => await reply.type('text/plain').send('not json'))
  })
  const client = clientOf(api.baseUrl)
  t.match(await rejection(client.getTransfers()), { code: 'XFER_CLIENT_BAD_RESPONSE', statusCode: 502 })
  t.match(await rejection(client.getCalls()), { code: 'XFER_CLIENT_BAD_RESPONSE', statusCode: 200 })
})

t.test('Idempotency-Key: a fresh UUID per transferCall/complete/cancel, or the one given', async (t) => {
  const api = await startFakeApi(t, (api) => {
    api.post('/transfers/execute', async () => transferFixture())
    api.post('/transfers/:id/complete', async () => transferFixture({ status: 'completed' }))
    api.post('/transfers/:id/cancel', async () => transferFixture({ status: 'cancelled' }))
  })
  const client = clientOf(api.baseUrl)
  await client.transferCall('102', 'blind')
  await client.transferCall('102', 'blind')
  await client.completeTransfer('a')
  await client.cancelTransfer('b')
  await client.transferCall('102', 'blind', { idempotencyKey: 'softphone-key-1' })
  await client.cancelTransfer('c', { idempotencyKey: 'softphone-key-2' })
  const keys = api.requests.map((request) => request.headers['idempotency-key'])
  t.ok(keys.slice(0, 4).every((key) => typeof key === 'string' && UUID.test(key)), `generated keys are UUIDs: ${keys.join(', ')}`)
  t.equal(new Set(keys.slice(0, 4)).size, 4, 'one per call')
  t.same(keys.slice(4), ['softphone-key-1', 'softphone-key-2'])
})

t.test('a network failure is retried once, with the same Idempotency-Key', async (t) => {
  let attempts = 0
  const api = await startFakeApi(t, (api) => {
    api.post('/transfers/execute', async (request) => {
      // The first attempt reaches the server and loses its connection before any answer.
      if (++attempts === 1) request.raw.socket.destroy()
      return transferFixture()
    })
  })
  const client = clientOf(api.baseUrl)
  t.same(await client.transferCall('102', 'blind'), transferFixture())
  const keys = api.requests.map((request) => request.headers['idempotency-key'])
  t.equal(keys.length, 2)
  t.ok(typeof keys[0] === 'string' && UUID.test(keys[0]))
  t.equal(keys[1], keys[0], 'the retry is recognisable as the same call')
})

t.test('two network failures: XFER_CLIENT_NETWORK, no status, after exactly two attempts', async (t) => {
  const api = await startFakeApi(t, (api) => {
    api.post('/transfers/:id/cancel', async (request) => { request.raw.socket.destroy() })
  })
  const client = clientOf(api.baseUrl)
  const error = await rejection(client.cancelTransfer('x', { idempotencyKey: 'k' }))
  t.match(error, { code: 'XFER_CLIENT_NETWORK', statusCode: undefined, transferId: undefined })
  t.match(error.message, /POST \/transfers\/x\/cancel: no answer from the server/)
  t.ok(error.cause !== undefined, 'the underlying failure is kept as the cause')
  t.same(api.requests.map((request) => request.headers['idempotency-key']), ['k', 'k'])
})

t.test('no server at all: XFER_CLIENT_NETWORK', async (t) => {
  const client = clientOf('http://127.0.0.1:9') // the discard port: nothing listens on loopback
  t.match(await rejection(client.getTransfers()), { code: 'XFER_CLIENT_NETWORK' })
})

t.test('an answer slower than requestTimeoutMs counts as a network failure (and is retried)', async (t) => {
  let attempts = 0
  const api = await startFakeApi(t, (api) => {
    api.get('/transfers', async () => {
      if (++attempts === 1) await sleep(500)
      return { transfers: [] }
    })
    api.get('/calls', async () => {
      await sleep(500)
      return { calls: [] }
    })
  })
  const client = clientOf(api.baseUrl, { requestTimeoutMs: 100 })
  t.same(await client.getTransfers(), { transfers: [] }, 'the retry answered in time')
  const error = await rejection(client.getCalls())
  t.match(error, { code: 'XFER_CLIENT_NETWORK' })
  t.match(error.message, /no answer within 100 ms/)
})

t.test('attendedTransfer: a handle whose complete, cancel and refresh act on that transfer', async (t) => {
  const id = transferFixture().id
  const api = await startFakeApi(t, (api) => {
    api.post('/transfers/execute', async () => transferFixture({ type: 'attended', status: 'consulting' }))
    api.get('/transfers/:id', async () => transferFixture({ type: 'attended', status: 'target_answered' }))
    api.post('/transfers/:id/cancel', async () => transferFixture({ type: 'attended', status: 'cancelled' }))
    api.post('/transfers/:id/complete', async () => transferFixture({ type: 'attended', status: 'completed' }))
  })
  const client = clientOf(api.baseUrl)
  const handle = await client.attendedTransfer('103')
  t.equal(handle.transfer.status, 'consulting')
  t.equal((await handle.refresh()).status, 'target_answered')
  t.equal(handle.transfer.status, 'target_answered', 'the handle keeps the latest answer')
  t.equal((await handle.cancel()).status, 'cancelled')
  t.equal(handle.transfer.status, 'cancelled')
  await handle.complete({ idempotencyKey: 'done-1' })
  t.same(api.requests.map((request) => `${request.method} ${request.url}`), [
    'POST /api/transfers/execute',
    `GET /api/transfers/${id}`,
    `POST /api/transfers/${id}/cancel`,
    `POST /api/transfers/${id}/complete`
  ])
  t.same(api.requests[0]?.body, { targetExtension: '103', transferType: 'attended' })
  t.equal(api.requests[3]?.headers['idempotency-key'], 'done-1')
  t.equal(api.requests[3]?.headers['content-type'], undefined, 'no body, so no JSON content type for Fastify to refuse')
})

t.test('swap and three-way: POST /swap and /three-way with a fresh Idempotency-Key, on the client and the handle', async (t) => {
  const id = transferFixture().id
  const api = await startFakeApi(t, (api) => {
    api.post('/transfers/execute', async () => transferFixture({ type: 'attended', status: 'consulting' }))
    api.post('/transfers/:id/swap', async () => transferFixture({ type: 'attended', status: 'target_answered', talkingTo: 'customer' }))
    api.post('/transfers/:id/three-way', async () => transferFixture({ type: 'attended', status: 'three_way', talkingTo: 'both' }))
  })
  const client = clientOf(api.baseUrl)
  t.equal((await client.swapTransfer(id)).talkingTo, 'customer')
  t.equal((await client.threeWayTransfer(id, { idempotencyKey: 'join-1' })).status, 'three_way')
  const handle = await client.attendedTransfer('103')
  t.equal((await handle.swap()).talkingTo, 'customer')
  t.equal((await handle.threeWay()).status, 'three_way')
  t.equal(handle.transfer.talkingTo, 'both', 'the handle keeps the latest answer')
  t.same(api.requests.map((request) => `${request.method} ${request.url}`), [
    `POST /api/transfers/${id}/swap`,
    `POST /api/transfers/${id}/three-way`,
    'POST /api/transfers/execute',
    `POST /api/transfers/${id}/swap`,
    `POST /api/transfers/${id}/three-way`
  ])
  t.ok(UUID.test(String(api.requests[0]?.headers['idempotency-key'])))
  t.equal(api.requests[1]?.headers['idempotency-key'], 'join-1')
})

t.test('options are checked when the client is created', async (t) => {
  const base = { baseUrl: 'http://127.0.0.1:3000', token: TOKEN }
  t.throws(() => createTransferClient({ baseUrl: 'http://127.0.0.1:3000' }), /token: give either token or getToken/)
  t.throws(() => createTransferClient({ ...base, getToken: () => 'x' }), /give either token or getToken/)
  t.throws(() => createTransferClient({ ...base, token: '' }), /token: must be a non-empty string/)
  t.throws(() => createTransferClient({ ...base, baseUrl: 'not a url' }), /baseUrl: "not a url" is not a URL/)
  t.throws(() => createTransferClient({ ...base, baseUrl: 'ftp://host' }), /baseUrl: must be http\(s\), got ftp:/)
  t.throws(() => createTransferClient({ ...base, reconnect: { initialDelayMs: 0 } }), /reconnect.initialDelayMs: must be a positive number/)
  t.throws(() => createTransferClient({ ...base, reconnect: { initialDelayMs: 2000, maxDelayMs: 1000 } }), /reconnect.maxDelayMs: must not be less than initialDelayMs/)
  t.throws(() => createTransferClient({ ...base, requestTimeoutMs: Number.NaN }), /requestTimeoutMs: must be a positive number/)
  t.doesNotThrow(() => createTransferClient({ ...base, baseUrl: new URL('https://softphone.example.com/pbx/') }))
})
