// Credentials never reach a log line: the plugin's routes log their URL with `?token=` redacted whatever
// the host's logger options, and `logRedaction` in the host's logger covers the rest (other routes,
// 404s, headers). Checked on every line a debug logger writes.
import { Writable } from 'node:stream'
import t from 'tap'
import { REDACTED, logRedaction, redactText, redactUrl } from '../src/log-redaction.js'
import { mountApi } from './helpers/api-host.js'
import { AGENT, CUSTOMER, FakePbx, snapshotOf } from './helpers/fake-pbx.js'
import { tokenIdentity } from './helpers/hostile-corpus.js'

t.test('redactUrl replaces the values of credential parameters and user:password, and keeps the rest', async (t) => {
  const cases: Array<[string, string]> = [
    ['/api/events?token=abc123', `/api/events?token=${REDACTED}`],
    ['/api/events?since=4&token=abc123', `/api/events?since=4&token=${REDACTED}`],
    ['/api/events?token=abc&since=4&token=def', `/api/events?token=${REDACTED}&since=4&token=${REDACTED}`],
    ['/api/events?TOKEN=abc', `/api/events?TOKEN=${REDACTED}`],
    ['/api/events?%74oken=abc', `/api/events?%74oken=${REDACTED}`],
    ['/x?access_token=a;password=b&api_key=c', `/x?access_token=${REDACTED};password=${REDACTED}&api_key=${REDACTED}`],
    ['/x?token', `/x?token=${REDACTED}`],
    ['/x?token=a#frag', `/x?token=${REDACTED}#frag`],
    ['/x?tokens=keep&mytoken=keep', '/x?tokens=keep&mytoken=keep'],
    ['/api/transfers', '/api/transfers'],
    ['/x?%E0%A4%A=1', '/x?%E0%A4%A=1'],
    ['http://transfer:transfer-secret@127.0.0.1:8088/ari', `http://${REDACTED}@127.0.0.1:8088/ari`],
    ['https://pbx.example/ari?password=x', `https://pbx.example/ari?password=${REDACTED}`]
  ]
  for (const [url, expected] of cases) t.equal(redactUrl(url), expected, url)
})

t.test('redactText does the same inside a message', async (t) => {
  t.equal(redactText('Route GET:/elsewhere?since=2&token=abc not found'), `Route GET:/elsewhere?since=2&token=${REDACTED} not found`)
  t.equal(redactText('cannot reach http://u:p@pbx:8088/ari: refused'), `cannot reach http://${REDACTED}@pbx:8088/ari: refused`)
  t.equal(redactText('a=b and x?tokens=1'), 'a=b and x?tokens=1')
})

/** Every line the app logs, as written. */
function captureLogs (): { stream: Writable, lines: string[] } {
  const lines: string[] = []
  return { lines, stream: new Writable({ write (line, _encoding, done) { lines.push(String(line)); done() } }) }
}

const SECRETS = ['token-101', 'token-super', 'tok-wrong-7f3a']

async function exercise (app: import('fastify').FastifyInstance): Promise<void> {
  const requests = [
    { method: 'GET', url: '/api/events?token=token-101' },
    { method: 'GET', url: '/api/events?since=1&token=tok-wrong-7f3a' },
    { method: 'GET', url: '/api/transfers?token=token-super' },
    { method: 'GET', url: '/api/nowhere?token=token-101' },
    { method: 'GET', url: '/api/calls', headers: { authorization: 'Bearer token-101' } },
    { method: 'GET', url: '/api/calls', headers: { authorization: 'Bearer tok-wrong-7f3a' } },
    { method: 'POST', url: '/api/transfers/execute', headers: { authorization: 'Bearer token-101' }, payload: { targetExtension: '103', transferType: 'blind' } }
  ] as const
  for (const request of requests) await app.inject(request as import('fastify').InjectOptions)
}

t.test('the plugin\'s routes log no token at debug, without any redaction configured by the host', async (t) => {
  const { stream, lines } = captureLogs()
  const { app } = await mountApi(t, new FakePbx(snapshotOf([CUSTOMER, AGENT])), { authenticate: tokenIdentity }, { logger: { level: 'debug', stream } })
  await exercise(app)
  t.ok(lines.some((line) => line.includes('"msg":"incoming request"') && line.includes(`/api/events?token=${REDACTED}`)), 'the feed\'s request line is logged, redacted')
  t.ok(lines.length >= 12, `${lines.length} lines`)
  t.same(lines.filter((line) => SECRETS.some((secret) => line.includes(secret))), [])
})

t.test('with logRedaction in the host\'s logger: the host\'s own routes, 404s and logged headers too', async (t) => {
  const { stream, lines } = captureLogs()
  const { app } = await mountApi(t, new FakePbx(snapshotOf([CUSTOMER, AGENT])), { authenticate: tokenIdentity }, { logger: { level: 'debug', stream, ...logRedaction } })
  await exercise(app)
  await app.inject({ method: 'GET', url: '/elsewhere?token=token-101' })
  await app.inject({ method: 'GET', url: '/api/nowhere?access_token=token-super' })
  app.log.info({ headers: { authorization: 'Bearer token-101', cookie: 'sid=token-super' } }, 'a host that logs headers')
  app.log.info({ req: { url: '/raw?token=token-101', headers: { authorization: 'Bearer token-101' } } }, 'a host that logs a request of its own')
  t.ok(lines.some((line) => line.includes(`/elsewhere?token=${REDACTED}`)), 'the host\'s route is logged, redacted')
  t.ok(lines.some((line) => line.includes('a host that logs headers') && line.includes(REDACTED)))
  t.ok(lines.some((line) => line.includes(`/raw?token=${REDACTED}`)))
  t.same(lines.filter((line) => SECRETS.some((secret) => line.includes(secret))), [])
})

t.test('without logRedaction the host\'s own lines would show the token (what the option is for)', async (t) => {
  const { stream, lines } = captureLogs()
  const { app } = await mountApi(t, new FakePbx(), { authenticate: tokenIdentity }, { logger: { level: 'debug', stream } })
  await app.inject({ method: 'GET', url: '/elsewhere?token=token-101' })
  t.ok(lines.some((line) => line.includes('token-101')))
})
