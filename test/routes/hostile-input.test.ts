// Hostile input on every route, on a fake PBX that records every action: each request of the corpus
// (test/helpers/hostile-corpus.ts) gets its 4xx with a stable code in the plugin's error shape, nothing
// moves a call, and the server still transfers a call afterwards. The same corpus runs on the real PBX
// in test/integration/hostile-input.test.ts.
import t from 'tap'
import { mountApi } from '../helpers/api-host.js'
import { AGENT, CUSTOMER, CONTEXT, FakePbx, snapshotOf } from '../helpers/fake-pbx.js'
import { hostileCorpus, injectOptions, refusalProblem, tokenIdentity } from '../helpers/hostile-corpus.js'

t.test('every hostile request gets its 4xx with a stable code, and nothing reaches the PBX', async (t) => {
  const pbx = new FakePbx(snapshotOf([CUSTOMER, AGENT]))
  // No rate limit: the corpus would spend the budget and hide the answers behind 429s.
  const { app } = await mountApi(t, pbx, { authenticate: tokenIdentity, rateLimit: false })
  const corpus = hostileCorpus()
  const problems: string[] = []
  for (const request of corpus) {
    const response = await app.inject(injectOptions(request))
    const problem = refusalProblem(request, response)
    if (problem !== undefined) problems.push(`${request.name}: ${problem}`)
  }
  t.same(problems, [], `${corpus.length} requests`)
  t.ok(corpus.length > 350, `${corpus.length} requests in the corpus`)
  t.same(pbx.actions(), [], 'no action sent to the PBX')

  const codes = new Set(corpus.map((request) => request.code))
  t.ok(codes.has('XFER_PAYLOAD_TOO_LARGE') && codes.has('XFER_UNSUPPORTED_MEDIA_TYPE') && codes.has('XFER_ROUTE_NOT_FOUND'), [...codes].join(', '))

  const transfer = await app.inject({ method: 'POST', url: '/api/transfers/execute', headers: { authorization: 'Bearer token-101' }, payload: { targetExtension: '103', transferType: 'blind' } })
  t.equal(transfer.statusCode, 200, 'the server still transfers a call')
  t.same(pbx.actions(), [{ method: 'redirect', args: [CUSTOMER, '103', CONTEXT] }])
})

t.test('a 4xx without a code from a host hook is a refusal in the plugin\'s shape, not XFER_INTERNAL', async (t) => {
  const pbx = new FakePbx(snapshotOf([CUSTOMER, AGENT]))
  const { app } = await mountApi(t, pbx, {
    authenticate: async () => { throw Object.assign(new Error('token expired'), { statusCode: 401 }) }
  })
  const response = await app.inject({ method: 'GET', url: '/api/transfers' })
  t.equal(response.statusCode, 401)
  t.same(response.json(), { statusCode: 401, code: 'XFER_INVALID_INPUT', error: 'Unauthorized', message: 'token expired' })
})

t.test('an unknown path under the prefix: 401 without an identity, 404 XFER_ROUTE_NOT_FOUND with one, no query echoed', async (t) => {
  const pbx = new FakePbx()
  const { app } = await mountApi(t, pbx, { authenticate: tokenIdentity })
  const anonymous = await app.inject({ method: 'GET', url: '/api/admin' })
  t.equal(anonymous.json().code, 'XFER_UNAUTHENTICATED', 'an anonymous caller learns nothing of the routes')
  const known = await app.inject({ method: 'GET', url: '/api/admin?token=token-101' })
  t.same(known.json(), { statusCode: 404, code: 'XFER_ROUTE_NOT_FOUND', error: 'Not Found', message: 'No route GET /api/admin' })
})
