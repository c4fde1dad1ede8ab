// Asterisk killed (SIGKILL) with a live call and started again under the same configuration: the plugin
// notices on its own, announces AMI and ARI down then up on the feed, reconnects without help, and its
// calls afterwards are the PBX's: the call that died with Asterisk is gone (no ghost), and a new call
// can be transferred.
import t from 'tap'
import { callAgent, hangupAllCalls } from '../helpers/asterisk/calls.js'
import { killPbx, startPbx } from '../helpers/asterisk/asterisk-process.js'
import { startFaultHost, waitUntilCallsMatchAri } from '../helpers/fault-host.js'

await hangupAllCalls()
t.afterEach(async () => { await hangupAllCalls() })

t.test('Asterisk killed and restarted with a live call: reconnect, down then up on the feed, no ghost call', async (t) => {
  const h = await startFaultHost({ amiPingIntervalMs: 500, ariPingIntervalMs: 300 })
  t.teardown(h.close)
  const call = await callAgent('101')
  t.same(await waitUntilCallsMatchAri(h, 'before the crash'), [call.agentChannel.name, call.customerChannel.name].sort())

  await killPbx()
  const down = await h.waitForConnection({ ami: false, ari: false })
  t.same(h.app.asteriskTransfers.connectionState(), { ami: false, ari: false })
  const refused = await h.as('101', { method: 'POST', url: '/api/transfers/execute', payload: { targetExtension: '102', transferType: 'blind' } })
  t.equal(refused.statusCode, 503)
  t.equal(refused.json().code, 'XFER_ASTERISK_UNAVAILABLE')

  await startPbx()
  await h.waitForConnection({ ami: true, ari: true }, down.id, 30_000)
  t.same(await waitUntilCallsMatchAri(h, 'after the restart'), [], 'the call died with Asterisk, and the plugin knows it')
  const ended = h.feed.received.find((event) => event.type === 'call:status' && event.id > down.id &&
    (event.data as { extension: string, ended: boolean }).extension === '101' && (event.data as { ended: boolean }).ended)
  t.ok(ended, "101's call published as ended")

  const after = await callAgent('101')
  await waitUntilCallsMatchAri(h, 'with a new call')
  const transfer = await h.as('101', { method: 'POST', url: '/api/transfers/execute', payload: { targetExtension: '102', transferType: 'blind' } })
  t.equal(transfer.statusCode, 200, transfer.body)
  t.match(transfer.json(), { status: 'redirected', channels: { agent: after.agentChannel.name } })
})
