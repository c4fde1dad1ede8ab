import { EventEmitter } from 'node:events'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import t, { type Test } from 'tap'
import { AgentService } from '../../src/agents/agent-service.js'
import type { PbxEndpoint } from '../../src/asterisk/ari-client.js'
import type { CallSnapshot, Pbx, PbxEvents } from '../../src/asterisk/pbx.js'
import { AsteriskUnavailableError } from '../../src/errors.js'
import type { Identity } from '../../src/identity.js'
import { transferRoutes } from '../../src/routes/transfer-routes.js'
import { TransferService } from '../../src/transfers/transfer-service.js'

const AGENT_101 = 'PJSIP/101-0000002a'
const AGENT_102 = 'PJSIP/102-0000002b'

/** A Pbx where 101 and 102 each talk to a customer, 103 exists in the dialplan, and every call is recorded. */
class FakePbx implements Pbx {
  readonly events = new EventEmitter<PbxEvents>()
  readonly calls: string[] = []
  endpointList: PbxEndpoint[] = []
  failWith: Error | undefined

  connectionState (): { ami: boolean, ari: boolean } { return { ami: true, ari: true } }

  async snapshot (): Promise<CallSnapshot> {
    this.calls.push('snapshot')
    if (this.failWith !== undefined) throw this.failWith
    const channel = (id: string, name: string): CallSnapshot['channels'][number] =>
      ({ id, name, state: 'Up', callerNumber: '', connectedNumber: '', dialplan: { context: 'from-internal', exten: '' }, createdAt: '' })
    return {
      channels: [channel('a1', AGENT_101), channel('c1', 'PJSIP/trunk-00000001'), channel('a2', AGENT_102), channel('c2', 'PJSIP/trunk-00000002')],
      bridges: [
        { id: 'b1', technology: 'simple_bridge', bridgeType: 'mixing', channelIds: ['a1', 'c1'] },
        { id: 'b2', technology: 'simple_bridge', bridgeType: 'mixing', channelIds: ['a2', 'c2'] }
      ]
    }
  }

  async endpoints (): Promise<PbxEndpoint[]> {
    this.calls.push('endpoints')
    return this.endpointList
  }

  async extensionExists (_context: string, exten: string): Promise<boolean> {
    this.calls.push(`extensionExists ${exten}`)
    return exten === '103'
  }

  async redirect (channel: string, exten: string, context: string): Promise<void> {
    this.calls.push(`redirect ${channel} ${exten}@${context}`)
  }

  async attendedTransfer (channel: string, exten: string, context: string): Promise<void> {
    this.calls.push(`attendedTransfer ${channel} ${exten}@${context}`)
  }
}

/** `Authorization: Bearer <extension>` is the identity; anything else is anonymous. */
async function authenticate (request: FastifyRequest): Promise<Identity | null> {
  const match = /^Bearer (\w+)$/.exec(request.headers.authorization ?? '')
  return match?.[1] === undefined ? null : { extension: match[1], role: 'agent' }
}

async function setup (t: Test): Promise<{ app: FastifyInstance, pbx: FakePbx }> {
  const pbx = new FakePbx()
  const transfers = new TransferService(pbx, { transferContext: 'from-internal', channelTechnology: 'PJSIP', consultationTimeoutMs: 100 })
  const agents = new AgentService(pbx, 'PJSIP')
  const app = Fastify()
  app.get('/host/boom', async () => { throw new Error('host failure') })
  app.get('/host/health', async () => ({ ok: true }))
  await app.register(transferRoutes, { prefix: '/api', transfers, agents, authenticate })
  await app.ready()
  t.teardown(async () => await app.close())
  return { app, pbx }
}

const as = (extension: string): Record<string, string> => ({ authorization: `Bearer ${extension}` })

t.test('without an identity: 401 before the body is even validated, nothing asked of the PBX', async (t) => {
  const { app, pbx } = await setup(t)
  for (const payload of [{ targetExtension: '103', transferType: 'blind' }, { targetExtension: 'not valid!', transferType: 'x' }]) {
    const response = await app.inject({ method: 'POST', url: '/api/transfers/execute', payload })
    t.equal(response.statusCode, 401)
    t.same(response.json(), { statusCode: 401, code: 'XFER_UNAUTHENTICATED', error: 'Unauthorized', message: 'No identity: send valid credentials' })
  }
  const agents = await app.inject({ method: 'GET', url: '/api/transfers/available-agents' })
  t.equal(agents.statusCode, 401)
  t.same(pbx.calls, [])
})

t.test('an invalid body answers 400 XFER_INVALID_INPUT and nothing is sent to the PBX', async (t) => {
  const { app, pbx } = await setup(t)
  const bodies = [
    { transferType: 'blind' },
    { targetExtension: '103' },
    { targetExtension: '103', transferType: 'warm' },
    { targetExtension: '10 3', transferType: 'blind' },
    { targetExtension: '103\r\nAction: Hangup', transferType: 'blind' },
    { targetExtension: '', transferType: 'blind' },
    { targetExtension: '1'.repeat(33), transferType: 'blind' },
    { extension: '101@from-internal', targetExtension: '103', transferType: 'blind' },
    { extension: '/PJSIP/.*/', targetExtension: '103', transferType: 'blind' },
    // Strict whatever the host's Ajv settings: no silently dropped properties, no type coercion.
    { targetExtension: '103', transferType: 'blind', channel: 'PJSIP/102-00000001' },
    { targetExtension: 103, transferType: 'blind' },
    { targetExtension: ['103'], transferType: 'blind' }
  ]
  for (const payload of bodies) {
    const response = await app.inject({ method: 'POST', url: '/api/transfers/execute', headers: as('101'), payload })
    t.equal(response.statusCode, 400, JSON.stringify(payload))
    t.match(response.json(), { statusCode: 400, code: 'XFER_INVALID_INPUT', error: 'Bad Request' })
  }
  t.same(pbx.calls, [])
})

t.test('blind transfer of the caller\'s own call by default', async (t) => {
  const { app, pbx } = await setup(t)
  const response = await app.inject({ method: 'POST', url: '/api/transfers/execute', headers: as('101'), payload: { targetExtension: '103', transferType: 'blind' } })
  t.equal(response.statusCode, 200)
  t.match(response.json(), {
    type: 'blind',
    status: 'redirected',
    extension: '101',
    targetExtension: '103',
    requestedBy: '101',
    channels: { agent: AGENT_101, peer: 'PJSIP/trunk-00000001' }
  })
  t.ok(pbx.calls.includes('redirect PJSIP/trunk-00000001 103@from-internal'))
})

t.test('an explicit extension transfers that extension\'s call, requested by the caller', async (t) => {
  const { app, pbx } = await setup(t)
  const response = await app.inject({ method: 'POST', url: '/api/transfers/execute', headers: as('200'), payload: { extension: '102', targetExtension: '103', transferType: 'blind' } })
  t.equal(response.statusCode, 200)
  t.match(response.json(), { extension: '102', requestedBy: '200', channels: { agent: AGENT_102 } })
  t.ok(pbx.calls.includes('redirect PJSIP/trunk-00000002 103@from-internal'))
})

t.test('service refusals keep their status and code', async (t) => {
  const { app } = await setup(t)
  const cases: Array<[Record<string, string>, number, string]> = [
    [{ extension: '104', targetExtension: '103', transferType: 'blind' }, 404, 'XFER_NO_ACTIVE_CHANNEL'],
    [{ targetExtension: '999', transferType: 'blind' }, 422, 'XFER_UNKNOWN_TARGET'],
    [{ targetExtension: '101', transferType: 'blind' }, 422, 'XFER_TARGET_IS_SOURCE'],
    [{ targetExtension: '103', transferType: 'attended' }, 502, 'XFER_CONSULTATION_NOT_STARTED']
  ]
  for (const [payload, statusCode, code] of cases) {
    const response = await app.inject({ method: 'POST', url: '/api/transfers/execute', headers: as('101'), payload })
    t.equal(response.statusCode, statusCode, code)
    t.match(response.json(), { statusCode, code, message: String })
  }
})

t.test('Asterisk unavailable: 503 with the error\'s own message', async (t) => {
  const { app, pbx } = await setup(t)
  pbx.failWith = new AsteriskUnavailableError('ARI is not connected (GET /channels not sent)')
  const response = await app.inject({ method: 'POST', url: '/api/transfers/execute', headers: as('101'), payload: { targetExtension: '103', transferType: 'blind' } })
  t.equal(response.statusCode, 503)
  t.same(response.json(), {
    statusCode: 503,
    code: 'XFER_ASTERISK_UNAVAILABLE',
    error: 'Service Unavailable',
    message: 'Asterisk is unavailable: ARI is not connected (GET /channels not sent)'
  })
})

t.test('an unexpected error answers 500 XFER_INTERNAL without leaking its message', async (t) => {
  const { app, pbx } = await setup(t)
  pbx.failWith = new Error('secret internals')
  const response = await app.inject({ method: 'POST', url: '/api/transfers/execute', headers: as('101'), payload: { targetExtension: '103', transferType: 'blind' } })
  t.equal(response.statusCode, 500)
  t.same(response.json(), { statusCode: 500, code: 'XFER_INTERNAL', error: 'Internal Server Error', message: 'Internal error' })
})

t.test('available agents: online, idle, of the technology, minus the caller, sorted', async (t) => {
  const { app, pbx } = await setup(t)
  pbx.endpointList = [
    { technology: 'PJSIP', resource: '10', state: 'online', channelIds: [] },
    { technology: 'PJSIP', resource: '101', state: 'online', channelIds: [] },
    { technology: 'PJSIP', resource: '102', state: 'online', channelIds: ['a2'] },
    { technology: 'PJSIP', resource: '2', state: 'online', channelIds: [] },
    { technology: 'PJSIP', resource: '3', state: 'offline', channelIds: [] }
  ]
  const response = await app.inject({ method: 'GET', url: '/api/transfers/available-agents', headers: as('101') })
  t.equal(response.statusCode, 200)
  t.same(response.json(), { agents: [{ extension: '2', state: 'available' }, { extension: '10', state: 'available' }] })
})

t.test('the host app\'s own routes keep their error handling and need no identity', async (t) => {
  const { app } = await setup(t)
  const health = await app.inject({ method: 'GET', url: '/host/health' })
  t.equal(health.statusCode, 200)
  const boom = await app.inject({ method: 'GET', url: '/host/boom' })
  t.equal(boom.statusCode, 500)
  t.not(boom.json().code, 'XFER_INTERNAL')
  t.equal(boom.json().message, 'host failure', 'Fastify\'s default handler, not the plugin\'s')
})
