// Host handlers with several instances on Redis, on the real Asterisk 22: a handler given to
// `asteriskTransfers.on` runs once per event across the instances, on the one that published it (a call
// history gets one row per transfer); with `everyInstance` it runs on each instance for every event.
import t from 'tap'
import { callAgent, hangupAllCalls, waitFor } from '../helpers/asterisk/calls.js'
import { startRedis } from '../helpers/redis-process.js'
import { startTransferHost } from '../helpers/transfer-host.js'
import type { Transfer } from '../../src/index.js'

const redis = await startRedis()
t.teardown(async () => { await redis.stop() })
await hangupAllCalls()

t.test('two instances: a transfer\'s events run the default handlers once, on the instance that published them', async (t) => {
  const shared = { redis: redis.url, rateLimit: false as const }
  const a = await startTransferHost(shared)
  t.teardown(a.close)
  const b = await startTransferHost(shared)
  t.teardown(b.close)
  const ran: Array<{ on: string, id: string, status: string }> = []
  for (const [name, host] of [['A', a], ['B', b]] as const) {
    host.app.asteriskTransfers.on('call:transfer_initiated', (transfer) => { ran.push({ on: name, id: transfer.id, status: 'initiated' }) })
    host.app.asteriskTransfers.on('call:transfer_updated', (transfer) => { ran.push({ on: `${name} every`, id: transfer.id, status: transfer.status }) }, { everyInstance: true })
  }
  await callAgent('101')
  const response = await a.as('101', { method: 'POST', url: '/api/transfers/execute', payload: { targetExtension: '102', transferType: 'blind' } })
  t.equal(response.statusCode, 200, response.body)
  const { id } = response.json<Transfer>()
  await waitFor(() => ['A every', 'B every'].every((on) => ran.some((entry) => entry.on === on && entry.id === id && entry.status === 'answered')), 10_000, 'answered seen by both everyInstance handlers')
  // Give B's reader time to have delivered the initiated event too, had it run the default handler.
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.same(ran.filter((entry) => entry.status === 'initiated' && entry.id === id).map((entry) => entry.on), ['A'], 'initiated: once, on A, which published it')
  t.ok(b.app.asteriskTransfers.getTransfer(id) === undefined, 'B does not own the transfer')
  await hangupAllCalls()
})
