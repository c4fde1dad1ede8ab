// What the console shows on the real Asterisk 22. The example app, run as a user runs it (its own
// process, LOG_LEVEL=debug), is signed into with wrong and right tokens, opens the feed with ?token=,
// and transfers a call: its whole stdout and stderr hold no password and no token. And connecting to
// ARI prints nothing of swagger-client's "deprecated version of Swagger" notice.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import t from 'tap'
import WebSocket from 'ws'
import { ensureClientBuilt } from '../../example-app/client-build.js'
import { AriClient } from '../../src/asterisk/ari-client.js'
import { callAgent, hangupAllCalls, waitFor } from '../helpers/asterisk/calls.js'
import { agents, offlineAgent, pbx, repoRoot, testbedEnvironment } from '../helpers/asterisk/testbed.js'
import { freePort } from '../helpers/free-port.js'

const SWAGGER_NOTICE = 'deprecated version of Swagger'

await ensureClientBuilt()
await hangupAllCalls()
t.teardown(hangupAllCalls)

t.test('the example app at LOG_LEVEL=debug logs no password and no token, whatever it is sent', async (t) => {
  // Tokens of their own, so that a hit can only come from this run.
  const tokens = new Map(agents.map((extension) => [extension, `hygiene-${extension}-4f1c9a`]))
  const supervisorToken = 'hygiene-super-7d2e5b'
  const wrongTokens = ['hygiene-wrong-0a9f3e', 'hygiene-wrong-header-61bd']
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'example-app', 'server.ts')], {
    cwd: repoRoot,
    env: {
      ...process.env,
      ...testbedEnvironment(),
      AUTH_TOKENS: [...[...tokens].map(([extension, token]) => `${token}:${extension}`), `${supervisorToken}:100:supervisor`].join(','),
      AGENT_EXTENSIONS: [...agents, offlineAgent].join(','),
      LOG_LEVEL: 'debug',
      PORT: String(port),
      HOST: '127.0.0.1'
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  await waitFor(() => output.includes('Server listening'), 30_000, 'the example app listening')

  const base = `http://127.0.0.1:${port}`
  const token101 = tokens.get('101') as string
  const get = async (path: string, token?: string): Promise<number> =>
    (await fetch(`${base}${path}`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } })).status
  // Signing in to the console: a wrong token, then the right one.
  t.equal(await get('/console/me', wrongTokens[1]), 401)
  t.equal(await get('/console/me', token101), 200)
  t.equal(await get('/api/transfers', wrongTokens[1]), 401)
  t.equal(await get(`/api/transfers?token=${supervisorToken}`), 200)
  t.equal(await get(`/api/events?since=1&token=${token101}`), 426)
  t.equal(await get(`/nowhere?token=${supervisorToken}`), 404, 'the host\'s own 404, whose message holds the URL')
  t.equal(await get(`/api/nowhere?token=${supervisorToken}`), 404)

  // The feed, as the console opens it: ?token=, a wrong one refused, the right one served.
  const feed = async (token: string): Promise<'open' | number> => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/events?token=${token}`)
    ws.on('error', () => {})
    const result = await new Promise<'open' | number>((resolve) => {
      ws.once('message', () => resolve('open'))
      ws.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0))
    })
    ws.terminate()
    return result
  }
  t.equal(await feed(wrongTokens[0] as string), 401)
  t.equal(await feed(token101), 'open')

  // A transfer: agent 101's customer to 102.
  await callAgent('101')
  const transfer = await fetch(`${base}/api/transfers/execute`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token101}`, 'content-type': 'application/json' },
    body: JSON.stringify({ targetExtension: '102', transferType: 'blind' })
  })
  t.equal(transfer.status, 200, await transfer.clone().text())
  await waitFor(() => output.includes('transfer executed'), 5000, 'the transfer logged')

  child.kill('SIGTERM')
  t.equal(await exited, 0, 'a clean stop')

  const lines = output.split('\n')
  const basicAuth = Buffer.from(`${pbx.ari.username}:${pbx.ari.password}`).toString('base64')
  const secrets = [pbx.ami.password, pbx.ari.password, basicAuth, supervisorToken, ...tokens.values(), ...wrongTokens]
  const leaks = lines.filter((line) => secrets.some((secret) => line.includes(secret)))
  t.same(leaks, [], `${lines.length} lines searched for ${secrets.length} secrets`)
  // The search means something only if those requests were logged at all.
  t.ok(lines.some((line) => line.includes('"msg":"incoming request"') && line.includes('/api/events?token=[REDACTED]')), 'the feed\'s request line, redacted')
  t.ok(lines.some((line) => line.includes('/nowhere?token=[REDACTED] not found')), 'the host\'s 404 message, redacted')
  t.ok(lines.some((line) => line.includes('"level":20')), 'debug lines were written')
  t.ok(lines.some((line) => line.includes('ARI connected')), 'ARI was connected')
  t.same(lines.filter((line) => line.includes(SWAGGER_NOTICE)), [], 'no Swagger notice on the console')
})

t.test('connecting to the real ARI prints nothing of swagger-client\'s deprecation notice', async (t) => {
  const printed: string[] = []
  const originals = { log: console.log, warn: console.warn, error: console.error, info: console.info }
  for (const name of ['log', 'warn', 'error', 'info'] as const) {
    console[name] = (...args: unknown[]) => { printed.push(args.map(String).join(' ')) }
  }
  const ari = new AriClient({ ...pbx.ari, requestTimeoutMs: 5000, reconnect: { initialDelayMs: 100, maxDelayMs: 1000 } })
  let connected = false
  try {
    await ari.start()
    await ari.start()
    connected = ari.ready
  } finally {
    Object.assign(console, originals)
    ari.close()
  }
  t.ok(connected, 'connected')
  t.same(printed.filter((line) => line.includes('Swagger')), [], 'two connections, no notice')
})
