// Event handlers that fail, on the real Asterisk 22: a listener that throws, or an async one that
// rejects, is logged with its event, the other listeners still get every event, no rejection goes
// unhandled, and the app keeps serving and tracking calls.
import t from 'tap'
import { AmiClient } from '../../src/asterisk/ami-client.js'
import { AriClient } from '../../src/asterisk/ari-client.js'
import { AsteriskPbx } from '../../src/asterisk/pbx.js'
import { CallMonitor } from '../../src/calls/call-monitor.js'
import { callAgent, hangup, hangupAllCalls, waitFor } from '../helpers/asterisk/calls.js'
import { pbx as testbed } from '../helpers/asterisk/testbed.js'
import { startFaultHost, waitUntilCallsMatchAri } from '../helpers/fault-host.js'

const unhandled: unknown[] = []
const onUnhandled = (reason: unknown): void => { unhandled.push(reason) }
process.on('unhandledRejection', onUnhandled)
t.teardown(() => { process.off('unhandledRejection', onUnhandled) })

await hangupAllCalls()
t.afterEach(async () => { await hangupAllCalls() })

t.test('host handlers that throw or reject: logged, and the plugin keeps serving, tracking and transferring', async (t) => {
  const h = await startFaultHost()
  t.teardown(h.close)
  const calledBack: string[] = []
  h.app.asteriskTransfers.on('call:status', () => {
    calledBack.push('throws')
    throw new Error('a host handler bug')
  })
  h.app.asteriskTransfers.on('call:status', async () => {
    calledBack.push('rejects')
    throw new Error('an async host handler bug')
  })

  const call = await callAgent('101')
  await waitUntilCallsMatchAri(h, 'with the call up')
  await h.feed.waitFor('call:status of 101', (event) => event.type === 'call:status' && (event.data as { extension: string }).extension === '101')
  t.ok(calledBack.includes('throws') && calledBack.includes('rejects'), 'both handlers were called')
  t.ok(h.logs.some((line) => line.msg === 'an asteriskTransfers event handler threw' && line.event === 'call:status'), 'the throw is logged with its event')
  await waitFor(() => h.logs.some((line) => line.msg === 'an asteriskTransfers event handler failed' && line.event === 'call:status'), 2000, 'the rejection logged')

  const transfer = await h.as('101', { method: 'POST', url: '/api/transfers/execute', payload: { targetExtension: '102', transferType: 'blind' } })
  t.equal(transfer.statusCode, 200, transfer.body)
  t.match(transfer.json(), { status: 'redirected', channels: { peer: call.customerChannel.name } })
  await waitUntilCallsMatchAri(h, 'after the transfer')
  t.same(unhandled, [], 'no unhandled rejection')
})

t.test('a listener of the PBX events that throws, ahead of the call monitor: the monitor still gets every event', async (t) => {
  const errors: Array<{ event?: unknown, msg?: string }> = []
  const logger = { debug () {}, info () {}, warn () {}, error: (obj: object, msg?: string) => { errors.push({ ...(obj as { event?: unknown }), msg }) } }
  const reconnect = { initialDelayMs: 100, maxDelayMs: 500 }
  const ami = new AmiClient({ ...testbed.ami, actionTimeoutMs: 5000, reconnect, pingIntervalMs: 0, logger })
  const ari = new AriClient({ ...testbed.ari, requestTimeoutMs: 5000, reconnect })
  await Promise.all([ami.start(), ari.start()])
  const pbx = new AsteriskPbx(ami, ari, logger)
  t.teardown(async () => {
    ari.close()
    await ami.close()
  })
  // Registered first, so Node's EventEmitter would stop at them and the monitor would see nothing.
  ami.on('event', () => { throw new Error('an AMI listener bug') })
  pbx.events.on('event', () => { throw new Error('a PBX listener bug') })
  // eslint-disable-next-line @typescript-eslint/no-misused-promises -- the promise-returning listener is the fault under test
  pbx.events.on('event', async () => { throw new Error('an async PBX listener bug') })
  const monitor = new CallMonitor(pbx)
  t.teardown(() => { monitor.stop() })
  await monitor.start()

  const call = await callAgent('101')
  await waitFor(() => monitor.callsOf('101').find((c) => c.state === 'up' && c.peer?.channel === call.customerChannel.name), 10_000, "101's call up and bridged")
  await hangup(call.customerChannel.id)
  await waitFor(() => monitor.callsOf('101').length === 0, 10_000, "101's call gone")
  t.ok(errors.some((e) => e.event === 'event' && /AMI client/.test(e.msg ?? '')), 'the AMI listener failure is logged')
  t.ok(errors.some((e) => e.event === 'event' && /PBX events/.test(e.msg ?? '')), 'the PBX listener failure is logged')
  t.ok(ami.ready, 'AMI still connected')
  t.same(unhandled, [], 'no unhandled rejection')
})
