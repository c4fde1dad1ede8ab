import Fastify from 'fastify'
import t from 'tap'
import { serveHealth, type Readiness } from '../../src/routes/health-routes.js'

t.test('ready only when AMI, ARI, the calls and (when configured) Redis all are; live while it answers', async (t) => {
  let state: Readiness = { ami: true, ari: true, calls: true }
  const app = Fastify()
  serveHealth(app, { livePath: '/health/live', readyPath: '/health/ready', readiness: () => state })
  t.teardown(async () => { await app.close() })
  const ready = async (): Promise<{ status: number, body: unknown }> => {
    const answer = await app.inject({ url: '/health/ready' })
    return { status: answer.statusCode, body: answer.json() }
  }
  t.same(await ready(), { status: 200, body: { ready: true, ami: true, ari: true, calls: true } })
  for (const missing of ['ami', 'ari', 'calls'] as const) {
    state = { ami: true, ari: true, calls: true, [missing]: false }
    t.same(await ready(), { status: 503, body: { ready: false, ...state } }, `not ready without ${missing}`)
  }
  state = { ami: true, ari: true, calls: true, redis: false }
  t.equal((await ready()).status, 503, 'not ready without Redis when it is configured')
  state = { ami: true, ari: true, calls: true, redis: true }
  t.equal((await ready()).status, 200)
  state = { ami: false, ari: false, calls: false }
  t.equal((await app.inject({ url: '/health/live' })).statusCode, 200, 'alive even with Asterisk unreachable: restarting would not help')
})

t.test('either route can be turned off', async (t) => {
  const app = Fastify()
  serveHealth(app, { livePath: false, readyPath: '/ready', readiness: () => ({ ami: true, ari: true, calls: true }) })
  t.teardown(async () => { await app.close() })
  t.equal((await app.inject({ url: '/health/live' })).statusCode, 404)
  t.equal((await app.inject({ url: '/ready' })).statusCode, 200)
})
