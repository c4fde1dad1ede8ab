import Fastify, { type FastifyInstance, type FastifyRequest, type LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import { AgentDirectory } from '../../src/agents/agent-directory.js'
import { AgentService } from '../../src/agents/agent-service.js'
import { CallMonitor } from '../../src/calls/call-monitor.js'
import { AsteriskUnavailableError } from '../../src/errors.js'
import { EventLog } from '../../src/domain/event-log.js'
import type { Identity } from '../../src/identity.js'
import { apiRoutes } from '../../src/routes/api.js'
import type { Transfer } from '../../src/routes/schemas.js'
import { TransferService } from '../../src/transfers/transfer-service.js'
import { CONTEXT, FakePbx, attendedTransfer, dialEnd, hold, scenes, sequences, snapshotOf, unhold } from '../helpers/fake-pbx.js'

// Agents 101 and 102 each talk to a customer; 102, 103 and 104 exist in the dialplan.
const CALL_101 = { agent: 'PJSIP/101-0000002a', customer: 'PJSIP/trunk-00000001', target: 'PJSIP/103-0000002d' }
const CALL_102 = { agent: 'PJSIP/102-0000002b', customer: 'PJSIP/trunk-00000002', target: 'PJSIP/104-0000002e' }
const UNKNOWN_ID = '00000000-0000-0000-0000-000000000000'

/** `Authorization: agent 101` or `supervisor 900` is the identity; anything else is anonymous. */
async function authenticate (request: FastifyRequest): Promise<Identity | null> {
  const match = /^(agent|supervisor) (\w+)$/.exec(request.headers.authorization ?? '')
  if (match?.[1] === undefined || match[2] === undefined) return null
  return { role: match[1] === 'agent' ? 'agent' : 'supervisor', extension: match[2] }
}

type Who = Record<string, string>
const agent = (extension: string): Who => ({ authorization: `agent ${extension}` })
const supervisor: Who = { authorization: 'supervisor 900' }
const anonymous: Who = {}

interface Api {
  app: FastifyInstance
  pbx: FakePbx
  execute: (who: Who, payload: unknown) => Promise<LightMyRequestResponse>
  get: (who: Who, path: string) => Promise<LightMyRequestResponse>
  post: (who: Who, path: string) => Promise<LightMyRequestResponse>
}

/** The plugin's routes as the plugin mounts them (apiRoutes under /api), next to two host routes. */
async function setup (t: Test): Promise<Api> {
  const pbx = new FakePbx(snapshotOf([CALL_101.customer, CALL_101.agent], [CALL_102.customer, CALL_102.agent]))
  pbx.dialplan.add(`104@${CONTEXT}`)
  const transfers = new TransferService(pbx, { transferContext: CONTEXT, channelTechnology: 'PJSIP', consultationTimeoutMs: 100, settleTimeoutMs: 100 })
  const agents = new AgentService(pbx, 'PJSIP', new AgentDirectory(undefined, pbx, 'PJSIP'))
  const app = Fastify()
  app.get('/host/boom', async () => { throw new Error('host failure') })
  app.get('/host/health', async () => ({ ok: true }))
  // The monitor is not started: lookups go to the fake PBX's snapshots, which each test scripts.
  await app.register(apiRoutes, { prefix: '/api', transfers, monitor: new CallMonitor(pbx), agents, eventLog: new EventLog(), authenticate })
  await app.ready()
  transfers.start()
  t.teardown(async () => {
    await transfers.stop()
    await app.close()
  })
  return {
    app,
    pbx,
    execute: async (headers, payload) => await app.inject({ method: 'POST', url: '/api/transfers/execute', headers, payload: payload as object }),
    get: async (headers, path) => await app.inject({ method: 'GET', url: `/api${path}`, headers }),
    post: async (headers, path) => await app.inject({ method: 'POST', url: `/api${path}`, headers })
  }
}

const blindTo = (targetExtension: string, extension?: string): object =>
  ({ targetExtension, transferType: 'blind', ...(extension === undefined ? {} : { extension }) })

/** Agent 101's attended transfer to 103, 103 answered. */
async function consultation101 (api: Api): Promise<Transfer> {
  api.pbx.hooks.attendedTransfer = () => { api.pbx.emit(...sequences.consultationStarts(CALL_101), ...sequences.targetAnswers(CALL_101)) }
  return (await api.execute(agent('101'), { targetExtension: '103', transferType: 'attended' })).json()
}

/** The response has this error body, and its status code. */
function answers (t: Test, response: LightMyRequestResponse, body: { statusCode: number, [key: string]: unknown }): void {
  t.equal(response.statusCode, body.statusCode)
  t.same(response.json(), body)
}

const methods = (pbx: FakePbx): string[] => pbx.actions().map((call) => call.method)

t.test('without an identity: 401 before anything is validated, nothing asked of the PBX', async (t) => {
  const api = await setup(t)
  const responses = [
    await api.execute(anonymous, blindTo('103')),
    await api.execute(anonymous, { targetExtension: 'not valid!', transferType: 'x' }),
    await api.get(anonymous, '/transfers/available-agents'),
    await api.get(anonymous, '/transfers'),
    await api.get(anonymous, '/transfers/not-an-id'),
    await api.post(anonymous, `/transfers/${UNKNOWN_ID}/complete`)
  ]
  for (const response of responses) {
    answers(t, response, { statusCode: 401, code: 'XFER_UNAUTHENTICATED', error: 'Unauthorized', message: 'No identity: send valid credentials' })
  }
  t.same(api.pbx.calls, [])
})

t.test('an invalid body answers 400 XFER_INVALID_INPUT and nothing is sent to the PBX', async (t) => {
  const api = await setup(t)
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
    const response = await api.execute(agent('101'), payload)
    t.equal(response.statusCode, 400, JSON.stringify(payload))
    t.match(response.json(), { statusCode: 400, code: 'XFER_INVALID_INPUT', error: 'Bad Request' })
  }
  t.same(api.pbx.calls, [])
})

t.test('a note for the target is strictly plain text: anything else is 400 XFER_INVALID_INPUT, nothing sent', async (t) => {
  const api = await setup(t)
  const notes = ['', 'x'.repeat(501), 'line one\nline two', 'bell\u0007', 'tab\there', 'nul\u0000', 'c1\u0085',
    'left\u2028right', 'reversed \u202Etxt.exe', 'isolate \u2066x\u2069', 42, ['VIP'], { text: 'VIP' }]
  for (const note of notes) {
    const response = await api.execute(agent('101'), { ...blindTo('103'), note })
    // Escaped: a line separator in a test's name would break its report.
    const label = JSON.stringify(note).slice(0, 40).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    t.equal(response.statusCode, 400, label)
    t.match(response.json(), { code: 'XFER_INVALID_INPUT' })
  }
  t.same(api.pbx.calls, [])
})

t.test('a valid note travels with the transfer and never reaches Asterisk', async (t) => {
  const api = await setup(t)
  const note = `VIP — billing dispute, already verified « ok » ${'x'.repeat(440)}`
  const response = await api.execute(agent('101'), { ...blindTo('103'), note })
  t.equal(response.statusCode, 200, response.body)
  t.equal(response.json().note, note)
  t.equal((await api.get(agent('103'), `/transfers/${String(response.json().id)}`)).json().note, note, 'the target reads it too')
  t.same(api.pbx.actions(), [{ method: 'redirect', args: [CALL_101.customer, '103', CONTEXT] }], 'only the Redirect, without the note')
  t.notOk(JSON.stringify(api.pbx.calls).includes('VIP'), 'nothing asked of the PBX carries the note')
})

t.test('blind transfer of the caller\'s own call by default', async (t) => {
  const api = await setup(t)
  const response = await api.execute(agent('101'), blindTo('103'))
  t.equal(response.statusCode, 200)
  t.match(response.json(), {
    type: 'blind',
    status: 'redirected',
    origin: 'plugin',
    extension: '101',
    targetExtension: '103',
    requestedBy: '101',
    channels: { agent: CALL_101.agent, peer: CALL_101.customer }
  })
  t.same(api.pbx.actions(), [{ method: 'redirect', args: [CALL_101.customer, '103', CONTEXT] }])
})

t.test('a supervisor transfers another extension\'s call, requested by the supervisor', async (t) => {
  const api = await setup(t)
  const response = await api.execute(supervisor, blindTo('103', '102'))
  t.equal(response.statusCode, 200)
  t.match(response.json(), { extension: '102', requestedBy: '900', channels: { agent: CALL_102.agent } })
  t.same(api.pbx.actions(), [{ method: 'redirect', args: [CALL_102.customer, '103', CONTEXT] }])
})

t.test('an agent may not transfer another extension\'s call: 403, nothing sent', async (t) => {
  const api = await setup(t)
  const response = await api.execute(agent('101'), blindTo('103', '102'))
  t.equal(response.statusCode, 403)
  t.match(response.json(), { code: 'XFER_FORBIDDEN' })
  t.same(api.pbx.actions(), [])
})

t.test('service refusals keep their status and code', async (t) => {
  const api = await setup(t)
  const cases: Array<[object, number, string]> = [
    [blindTo('103', '104'), 404, 'XFER_NO_ACTIVE_CHANNEL'],
    [blindTo('999'), 422, 'XFER_UNKNOWN_TARGET'],
    [blindTo('101'), 422, 'XFER_TARGET_IS_SOURCE'],
    [{ targetExtension: '103', transferType: 'attended' }, 502, 'XFER_CONSULTATION_NOT_STARTED']
  ]
  for (const [payload, statusCode, code] of cases) {
    const who = code === 'XFER_NO_ACTIVE_CHANNEL' ? agent('104') : agent('101')
    const response = await api.execute(who, payload)
    t.equal(response.statusCode, statusCode, code)
    t.match(response.json(), { statusCode, code, message: String })
  }
})

t.test('a second transfer of a call with one in progress: 409 naming the transfer in progress', async (t) => {
  const api = await setup(t)
  const first = (await api.execute(agent('101'), blindTo('103'))).json()
  answers(t, await api.execute(agent('101'), blindTo('102')), {
    statusCode: 409,
    code: 'XFER_TRANSFER_IN_PROGRESS',
    error: 'Conflict',
    message: `The call already has a transfer in progress: ${first.id as string}`,
    transferId: first.id
  })
  t.same(methods(api.pbx), ['redirect'])
})

t.test('Asterisk unavailable: 503 with the error\'s own message', async (t) => {
  const api = await setup(t)
  api.pbx.snapshotError = new AsteriskUnavailableError('ARI is not connected (GET /channels not sent)')
  answers(t, await api.execute(agent('101'), blindTo('103')), {
    statusCode: 503,
    code: 'XFER_ASTERISK_UNAVAILABLE',
    error: 'Service Unavailable',
    message: 'Asterisk is unavailable: ARI is not connected (GET /channels not sent)'
  })
})

t.test('an unexpected error answers 500 XFER_INTERNAL without leaking its message', async (t) => {
  const api = await setup(t)
  api.pbx.snapshotError = new Error('secret internals')
  answers(t, await api.execute(agent('101'), blindTo('103')), { statusCode: 500, code: 'XFER_INTERNAL', error: 'Internal Server Error', message: 'Internal error' })
})

t.test('available agents: online, idle, of the technology, minus the caller, sorted', async (t) => {
  const api = await setup(t)
  api.pbx.endpointList = [
    { technology: 'PJSIP', resource: '10', state: 'online', channelIds: [] },
    { technology: 'PJSIP', resource: '101', state: 'online', channelIds: [] },
    { technology: 'PJSIP', resource: '102', state: 'online', channelIds: ['a2'] },
    { technology: 'PJSIP', resource: '2', state: 'online', channelIds: [] },
    { technology: 'PJSIP', resource: '3', state: 'offline', channelIds: [] }
  ]
  const response = await api.get(agent('101'), '/transfers/available-agents')
  t.equal(response.statusCode, 200)
  t.same(response.json(), { agents: [{ extension: '2', state: 'available' }, { extension: '10', state: 'available' }], destinations: [] })
})

t.test('GET /transfers lists the active transfers the caller may see', async (t) => {
  const api = await setup(t)
  const first = (await api.execute(agent('101'), blindTo('103'))).json()
  const second = (await api.execute(agent('102'), blindTo('104'))).json()
  const listed = async (who: Who): Promise<string[]> => (await api.get(who, '/transfers')).json().transfers.map((transfer: Transfer) => transfer.id)
  t.same(await listed(agent('101')), [first.id], 'the transferring agent')
  t.same(await listed(agent('103')), [first.id], 'the target')
  t.same(await listed(agent('105')), [], 'an agent not involved')
  t.same(await listed(supervisor), [first.id, second.id], 'a supervisor')
  api.pbx.emit(dialEnd(CALL_101.customer, CALL_101.target, 'BUSY'))
  t.same(await listed(supervisor), [second.id], 'a finished transfer is no longer listed')
})

t.test('GET /transfers/:id: the transfer for those who may see it, a plain 404 for everyone else', async (t) => {
  const api = await setup(t)
  const transfer = (await api.execute(agent('101'), blindTo('103'))).json()
  for (const who of [agent('101'), agent('103'), supervisor]) {
    const response = await api.get(who, `/transfers/${transfer.id as string}`)
    t.equal(response.statusCode, 200)
    t.same(response.json(), transfer)
  }
  const hidden = await api.get(agent('102'), `/transfers/${transfer.id as string}`)
  const unknown = await api.get(agent('102'), `/transfers/${UNKNOWN_ID}`)
  answers(t, hidden, { statusCode: 404, code: 'XFER_TRANSFER_NOT_FOUND', error: 'Not Found', message: `No transfer ${transfer.id as string}` })
  t.same(Object.keys(hidden.json()), Object.keys(unknown.json()), 'the same answer as for an id that does not exist')
})

t.test('GET /transfers/:id of a finished transfer still answers it', async (t) => {
  const api = await setup(t)
  const transfer = (await api.execute(agent('101'), blindTo('103'))).json()
  api.pbx.emit(dialEnd(CALL_101.customer, CALL_101.target, 'NOANSWER'))
  t.match((await api.get(agent('101'), `/transfers/${transfer.id as string}`)).json(), { status: 'failed', failureReason: 'no_answer' })
})

t.test('a malformed transfer id: 400 XFER_INVALID_INPUT on every :id route', async (t) => {
  const api = await setup(t)
  const responses = [
    await api.get(agent('101'), '/transfers/not-an-id'),
    await api.post(agent('101'), '/transfers/1234/complete'),
    await api.post(agent('101'), '/transfers/ABCDEF00-0000-0000-0000-000000000000/cancel')
  ]
  for (const response of responses) {
    t.equal(response.statusCode, 400)
    t.match(response.json(), { code: 'XFER_INVALID_INPUT' })
  }
})

t.test('POST /transfers/:id/complete and /cancel: 200 with the transfer as Asterisk left it', async (t) => {
  const cases = [
    { action: 'complete', who: agent('101'), method: 'hangup', then: scenes.customerWithTargetThroughLocal(CALL_101), events: sequences.agentLeaves(CALL_101), status: 'completed' },
    { action: 'cancel', who: supervisor, method: 'cancelAttendedTransfer', then: scenes.talking(CALL_101), events: sequences.consultationCancelled(CALL_101), status: 'cancelled' }
  ] as const
  for (const { action, who, method, then, events, status } of cases) {
    const api = await setup(t)
    const transfer = await consultation101(api)
    api.pbx.hooks[method] = () => {
      api.pbx.snapshotValue = then
      api.pbx.emit(...events)
    }
    const response = await api.post(who, `/transfers/${transfer.id}/${action}`)
    t.equal(response.statusCode, 200, action)
    t.match(response.json(), { id: transfer.id, status })
    t.same(api.pbx.actions().at(-1), { method, args: [CALL_101.agent] })
  }
})

t.test('complete and cancel refused: unseen 404, not the caller\'s call 403, wrong state 409, no answer 504', async (t) => {
  const api = await setup(t)
  const attended = await consultation101(api)
  const blind = (await api.execute(agent('102'), blindTo('104'))).json()
  const cases: Array<[Who, string, number, string]> = [
    [agent('102'), `/transfers/${attended.id}/complete`, 404, 'XFER_TRANSFER_NOT_FOUND'],
    [agent('101'), `/transfers/${UNKNOWN_ID}/cancel`, 404, 'XFER_TRANSFER_NOT_FOUND'],
    [agent('103'), `/transfers/${attended.id}/complete`, 403, 'XFER_FORBIDDEN'],
    [agent('102'), `/transfers/${blind.id as string}/complete`, 409, 'XFER_TRANSFER_STATE'],
    // The fake PBX answers the hangup but sends no event: the transfer never ends.
    [agent('101'), `/transfers/${attended.id}/complete`, 504, 'XFER_ASTERISK_TIMEOUT']
  ]
  for (const [who, path, statusCode, code] of cases) {
    const response = await api.post(who, path)
    t.equal(response.statusCode, statusCode, code)
    t.match(response.json(), { statusCode, code })
  }
  t.same(methods(api.pbx), ['attendedTransfer', 'redirect', 'hangup'], 'only the last one reached the PBX')
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

t.test('POST /transfers/:id/swap and /three-way: 200 once the bridges show it, with whom the agent talks to', async (t) => {
  const api = await setup(t)
  const transfer = await consultation101(api)
  await api.pbx.setVariable(CALL_101.agent, 'FEATURE(atxferswap)', '*4')
  await api.pbx.setVariable(CALL_101.agent, 'FEATURE(atxferthreeway)', '*3')
  api.pbx.hooks.pressDigits = (_channel, digits) => {
    if (digits === '*4') {
      api.pbx.snapshotValue = scenes.swappedToCustomer(CALL_101)
      api.pbx.emit(hold(CALL_101.agent), unhold(CALL_101.agent))
    } else {
      api.pbx.snapshotValue = scenes.threeWay(CALL_101)
      api.pbx.emit(attendedTransfer(CALL_101.agent, CALL_101.customer, 'Local/103@from-internal-00000000;1', 'Success', 'Threeway'))
    }
  }
  const swap = await api.post(agent('101'), `/transfers/${transfer.id}/swap`)
  t.equal(swap.statusCode, 200, swap.body)
  t.match(swap.json(), { id: transfer.id, status: 'target_answered', talkingTo: 'customer' })
  const threeWay = await api.post(supervisor, `/transfers/${transfer.id}/three-way`)
  t.equal(threeWay.statusCode, 200, threeWay.body)
  t.match(threeWay.json(), { id: transfer.id, status: 'three_way', talkingTo: 'both' })
  t.same(api.pbx.actions().slice(-2), [{ method: 'pressDigits', args: [CALL_101.agent, '*4'] }, { method: 'pressDigits', args: [CALL_101.agent, '*3'] }])
})

t.test('swap and three-way refused like complete and cancel, and when Asterisk has no digits for them; nothing pressed', async (t) => {
  const api = await setup(t)
  const attended = await consultation101(api)
  const blind = (await api.execute(agent('102'), blindTo('104'))).json()
  const cases: Array<[Who, string, number, string]> = [
    [anonymous, `/transfers/${attended.id}/swap`, 401, 'XFER_UNAUTHENTICATED'],
    [agent('102'), `/transfers/${attended.id}/swap`, 404, 'XFER_TRANSFER_NOT_FOUND'],
    [agent('101'), `/transfers/${UNKNOWN_ID}/three-way`, 404, 'XFER_TRANSFER_NOT_FOUND'],
    [agent('101'), '/transfers/1234/three-way', 400, 'XFER_INVALID_INPUT'],
    [agent('103'), `/transfers/${attended.id}/three-way`, 403, 'XFER_FORBIDDEN'],
    [agent('102'), `/transfers/${blind.id as string}/swap`, 409, 'XFER_TRANSFER_STATE'],
    [agent('102'), `/transfers/${blind.id as string}/three-way`, 409, 'XFER_TRANSFER_STATE'],
    // The fake PBX's channel has no FEATURE(...) values: as a features.conf without them.
    [agent('101'), `/transfers/${attended.id}/swap`, 409, 'XFER_FEATURE_NOT_CONFIGURED'],
    [agent('101'), `/transfers/${attended.id}/three-way`, 409, 'XFER_FEATURE_NOT_CONFIGURED']
  ]
  for (const [who, path, statusCode, code] of cases) {
    const response = await api.post(who, path)
    t.equal(response.statusCode, statusCode, `${path}: ${code}`)
    t.match(response.json(), { statusCode, code })
  }
  t.same(methods(api.pbx), ['attendedTransfer', 'redirect'], 'nothing pressed')
})
