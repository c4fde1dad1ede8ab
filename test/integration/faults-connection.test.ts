// Network faults between the plugin and the real Asterisk 22, caused by a proxy on each connection:
// AMI cut with an action in flight, AMI stalled, ARI cut, ARI down at start-up. Each time the plugin
// must answer at once with a definite error, say so on the feed, come back by itself, and end up with
// the same calls as the PBX.
//
// No test here asserts a duration as a speed target (those live in bench/). Where an answer must be
// "immediate" the test gives the plugin a long action timeout (10 s) and requires the answer well
// before it (2 s): a plugin that waited for its timeout fails, whatever the machine's speed, and a
// slow machine does not.
import t, { type Test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { callAgent, hangupAllCalls, waitFor } from '../helpers/asterisk/calls.js'
import { startFaultHost, waitUntilCallsMatchAri, type FaultHost } from '../helpers/fault-host.js'

const LONG_ACTION_TIMEOUT_MS = 10_000
/** Far below LONG_ACTION_TIMEOUT_MS, far above what an immediate answer takes even on a loaded machine. */
const WELL_BEFORE_TIMEOUT_MS = 2_000

await hangupAllCalls()
t.afterEach(async () => { await hangupAllCalls() })

async function host (t: Test, options: Parameters<typeof startFaultHost>[0] = {}): Promise<FaultHost> {
  const started = await startFaultHost(options)
  t.teardown(started.close)
  return started
}

const execute = (h: FaultHost, who: string, body: Record<string, unknown>) =>
  h.as(who, { method: 'POST', url: '/api/transfers/execute', payload: body })

/** Sends the request and measures how long the answer took. */
async function timed<T> (send: () => Promise<T>): Promise<{ answer: T, ms: number }> {
  const started = performance.now()
  const answer = await send()
  return { answer, ms: performance.now() - started }
}

t.test('AMI cut while an action is in flight: 503 at once, reconnect, resync, down then up on the feed', async (t) => {
  const h = await host(t, { actionTimeoutMs: LONG_ACTION_TIMEOUT_MS, amiPingIntervalMs: 0 })
  const call = await callAgent('101')
  await waitUntilCallsMatchAri(h, 'before the fault')

  // Stalled first, so the execute's first AMI action (the target check) is sent and stays unanswered.
  h.ami.stall()
  const started = performance.now()
  const pending = execute(h, '101', { targetExtension: '102', transferType: 'blind' })
  await sleep(300)
  await h.ami.cut({ refuse: true })
  const response = await pending
  const sinceCut = performance.now() - started - 300
  t.equal(response.statusCode, 503, response.body)
  t.equal(response.json().code, 'XFER_ASTERISK_UNAVAILABLE')
  t.ok(sinceCut < WELL_BEFORE_TIMEOUT_MS, `answered ${Math.round(sinceCut)} ms after the cut, not at the ${LONG_ACTION_TIMEOUT_MS} ms timeout`)
  const down = await h.waitForConnection({ ami: false, ari: true })

  // While AMI is down, every action is refused at once.
  const refused = await timed(async () => await execute(h, '101', { targetExtension: '102', transferType: 'blind' }))
  t.equal(refused.answer.statusCode, 503)
  t.equal(refused.answer.json().code, 'XFER_ASTERISK_UNAVAILABLE')
  t.ok(refused.ms < WELL_BEFORE_TIMEOUT_MS, `refused in ${Math.round(refused.ms)} ms`)

  // What happens meanwhile is not seen through AMI: the call ends.
  await hangupAllCalls()
  await h.ami.restore()
  await h.waitForConnection({ ami: true, ari: true }, down.id)
  t.same(await waitUntilCallsMatchAri(h, 'after the reconnect'), [], 'the call that ended during the cut is gone: no ghost')
  t.ok(h.connectionEvents().indexOf('ami:false ari:true') < h.connectionEvents().lastIndexOf('ami:true ari:true'), h.connectionEvents().join(', '))

  // And the plugin works again: a new call, a real transfer.
  const after = await callAgent('101')
  await waitUntilCallsMatchAri(h, 'with a call after the reconnect')
  const transfer = await execute(h, '101', { targetExtension: '102', transferType: 'blind' })
  t.equal(transfer.statusCode, 200, transfer.body)
  t.not(after.agentChannel.id, call.agentChannel.id)
})

t.test('AMI stalled (open socket, no bytes): the keep-alive notices, treats it as a cut, and reconnects once it flows again', async (t) => {
  // The Ping answers within actionTimeoutMs or the connection is declared dead.
  const h = await host(t, { actionTimeoutMs: 1000, amiPingIntervalMs: 300 })
  await callAgent('101')
  await waitUntilCallsMatchAri(h, 'before the stall')
  const connectionsBefore = h.ami.accepted

  h.ami.stall()
  const down = await h.waitForConnection({ ami: false, ari: true })
  t.ok(h.logs.some((line) => line.msg === 'AMI ping failed; reconnecting'), 'found by the keep-alive')
  const refused = await execute(h, '101', { targetExtension: '102', transferType: 'blind' })
  t.equal(refused.statusCode, 503)
  t.equal(refused.json().code, 'XFER_ASTERISK_UNAVAILABLE')

  // A call ends while nothing flows.
  await hangupAllCalls()
  // Reconnect attempts meanwhile get a stalled socket too, and time out at login; then the link heals.
  await sleep(1500)
  await h.ami.restore()
  await h.waitForConnection({ ami: true, ari: true }, down.id)
  t.ok(h.ami.accepted > connectionsBefore, 'on a new connection')
  t.same(await waitUntilCallsMatchAri(h, 'after the stall'), [], 'the call that ended meanwhile is gone')
})

t.test('ARI cut: calls are found in memory and a blind transfer goes through on AMI alone; ARI back by itself, announced on the feed', async (t) => {
  const h = await host(t, { actionTimeoutMs: LONG_ACTION_TIMEOUT_MS, ariPingIntervalMs: 300 })
  await h.ari.cut({ refuse: true })
  const down = await h.waitForConnection({ ami: true, ari: false })

  // The call monitor follows AMI's events: it stays in sync, and answers for the calls without ARI.
  const refused = await timed(async () => await execute(h, '104', { targetExtension: '102', transferType: 'blind' }))
  t.equal(refused.answer.statusCode, 404, refused.answer.body)
  t.equal(refused.answer.json().code, 'XFER_NO_ACTIVE_CHANNEL', '104 has no call: memory says so, no ARI needed')
  t.ok(refused.ms < WELL_BEFORE_TIMEOUT_MS, `answered in ${Math.round(refused.ms)} ms, not at the ${LONG_ACTION_TIMEOUT_MS} ms timeout`)
  const call = await callAgent('101')
  const transfer = await execute(h, '101', { targetExtension: '102', transferType: 'blind' })
  t.equal(transfer.statusCode, 200, transfer.body)
  t.match(transfer.json(), { status: 'redirected', channels: { agent: call.agentChannel.name, peer: call.customerChannel.name } }, 'a call placed during the cut, transferred without ARI')
  await waitFor(() => h.app.asteriskTransfers.getTransfer(String(transfer.json().id))?.status === 'answered', 10_000, 'the transfer answered, confirmed from memory')

  await h.ari.restore()
  await h.waitForConnection({ ami: true, ari: true }, down.id)
  // 102 now talks with the customer transferred above: a free target.
  const answered = await execute(h, '104', { targetExtension: '103', transferType: 'blind' })
  t.equal(answered.statusCode, 404, 'ARI back: 104 still has no call')
  t.equal(answered.json().code, 'XFER_NO_ACTIVE_CHANNEL')
})

t.test('ARI down at start-up: the plugin starts, retries for as long as it takes, and works once ARI is up, without a restart', async (t) => {
  const h = await host(t, { actionTimeoutMs: 5000, ariDownAtStart: true })
  t.same(h.app.asteriskTransfers.connectionState(), { ami: true, ari: false })
  const call = await callAgent('101')

  // ari-client's own reconnection gives up after about ten attempts: ours must not.
  const attempts = (): number => h.logs.filter((line) => line.msg === 'ARI connect failed; retrying').length
  await waitFor(() => attempts() >= 12, 30_000, 'twelve failed ARI connection attempts')
  const refused = await execute(h, '101', { targetExtension: '102', transferType: 'blind' })
  t.equal(refused.statusCode, 503, 'the call cannot be located without ARI (the monitor has no snapshot yet)')
  t.equal(refused.json().code, 'XFER_ASTERISK_UNAVAILABLE')

  await h.ari.restore()
  await h.waitForConnection({ ami: true, ari: true })
  t.same(await waitUntilCallsMatchAri(h, 'once ARI is up'), [call.customerChannel.name, call.agentChannel.name].sort())
  const transfer = await execute(h, '101', { targetExtension: '102', transferType: 'blind' })
  t.equal(transfer.statusCode, 200, transfer.body)
  t.match(transfer.json(), { status: 'redirected', channels: { agent: call.agentChannel.name } })
})
