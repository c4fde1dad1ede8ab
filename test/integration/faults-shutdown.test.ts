// Shutting down on the real Asterisk 22: `fastify.close()` says goodbye to feed clients (1001) and
// releases the AMI and ARI connections, and the example app, sent SIGTERM, exits by itself: nothing the
// plugin opened keeps the process alive (its server exits 1 if anything still runs 10 s after close).
import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import WebSocket from 'ws'
import { waitFor } from '../helpers/asterisk/calls.js'
import { agents, pbx, testbedEnvironment } from '../helpers/asterisk/testbed.js'
import { startFaultHost } from '../helpers/fault-host.js'
import { startTcpProxy } from '../helpers/tcp-proxy.js'
import { freePort } from '../helpers/free-port.js'

/** A feed socket that records how it was closed. */
async function openFeed (url: string, token: string): Promise<{ closed: Promise<{ code: number, reason: string }> }> {
  const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/api/events`, { headers: { authorization: `Bearer ${token}` } })
  const closed = new Promise<{ code: number, reason: string }>((resolve) => {
    socket.on('close', (code, reason) => resolve({ code, reason: String(reason) }))
  })
  socket.on('error', () => {})
  await once(socket, 'open')
  return { closed }
}

t.test('fastify.close(): feed sockets closed with 1001, AMI and ARI connections released', async (t) => {
  const h = await startFaultHost({ amiPingIntervalMs: 200, ariPingIntervalMs: 200 })
  t.teardown(async () => { await Promise.all([h.ami.close(), h.ari.close()]) })
  const feed = await openFeed(h.baseUrl, 'token-super')
  t.ok(h.ami.open >= 1, 'AMI connected through its proxy')
  // ARI's pings open connections of their own: wait for one to pass through the proxy.
  await waitFor(() => h.ari.accepted >= 2, 5000, 'ARI traffic through its proxy')

  const closing = performance.now()
  await h.app.close()
  t.comment(`fastify.close() took ${Math.round(performance.now() - closing)} ms`)
  t.same(await feed.closed, { code: 1001, reason: 'server shutting down' })
  await waitFor(() => h.ami.open === 0, 2000, 'the AMI connection closed')
  t.comment(`AMI closed ${Math.round(performance.now() - closing)} ms after close began`)
  // ari-client's requests go through Node's global HTTP agent, whose idle keep-alive sockets close on
  // the agent's own 5 s timeout (they do not keep the process alive: see the example app below).
  await waitFor(() => h.ari.open === 0, 8000, 'every ARI connection closed')
  t.comment(`ARI connections closed ${Math.round(performance.now() - closing)} ms after close began`)
  const accepted = { ami: h.ami.accepted, ari: h.ari.accepted }
  await new Promise((resolve) => setTimeout(resolve, 600))
  t.same({ ami: h.ami.accepted, ari: h.ari.accepted }, accepted, 'no reconnection, no ping after close')
})

t.test('the example app, sent SIGTERM, closes its feed sockets with 1001 and exits by itself with code 0', async (t) => {
  const ami = await startTcpProxy(pbx.ami)
  const ariTarget = new URL(pbx.ari.url)
  const ari = await startTcpProxy({ host: ariTarget.hostname, port: Number(ariTarget.port) })
  t.teardown(async () => { await Promise.all([ami.close(), ari.close()]) })
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', 'example-app/server.ts'], {
    env: {
      ...process.env,
      ...testbedEnvironment(),
      AMI_PORT: String(ami.port),
      ARI_URL: `http://127.0.0.1:${ari.port}`,
      PORT: String(port),
      AUTH_TOKENS: 'supervisor-token:100:supervisor',
      AGENT_EXTENSIONS: agents.join(','),
      LOG_LEVEL: 'info'
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (chunk) => { output += String(chunk) })
  child.stderr.on('data', (chunk) => { output += String(chunk) })
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })

  await waitFor(() => output.includes('Server listening'), 30_000, 'the example app to listen')
    .catch((error: Error) => { throw new Error(`${error.message}\n${output}`) })
  const feed = await openFeed(`http://127.0.0.1:${port}`, 'supervisor-token')
  t.ok(ami.open >= 1 && ari.accepted >= 1, 'connected to AMI and ARI through the proxies')

  const terminated = performance.now()
  child.kill('SIGTERM')
  t.same(await feed.closed, { code: 1001, reason: 'server shutting down' })
  const [code, signal] = await exited
  t.comment(`exited ${Math.round(performance.now() - terminated)} ms after SIGTERM`)
  t.same({ code, signal }, { code: 0, signal: null }, `exited by itself\n${output.split('\n').slice(-5).join('\n')}`)
  t.notMatch(output, /a handle was left open/)
  await waitFor(() => ami.open === 0 && ari.open === 0, 5000, 'the AMI and ARI connections closed')
})
