// Prometheus metrics on the real Asterisk 22 test bed: after a blind and an attended transfer (and a
// feed socket following them, a replayed request and a rate-limited one), a scrape of GET /metrics
// counts exactly what happened.
import t from 'tap'
import { callAgent, hangupAllCalls } from '../helpers/asterisk/calls.js'
import { connectFeed } from '../helpers/feed-client.js'
import { startTransferHost } from '../helpers/transfer-host.js'
import type { FeedEnvelope, Transfer } from '../../src/index.js'

const host = await startTransferHost({ metrics: true, rateLimit: { max: 3, timeWindowMs: 60_000 } })
t.teardown(host.close)
await hangupAllCalls()
t.teardown(async () => { await hangupAllCalls() })

/** The value of one series of the scrape (0 when absent), by name and labels as Prometheus prints them. */
async function scrape (): Promise<(series: string) => number> {
  const response = await host.app.inject('/metrics')
  if (response.statusCode !== 200) throw new Error(`/metrics answered ${response.statusCode}`)
  const lines = response.body.split('\n')
  return (series) => Number(lines.find((line) => line.startsWith(`${series} `))?.slice(series.length + 1) ?? 0)
}

const ofTransfer = (id: string, status: string) => (event: FeedEnvelope): boolean =>
  (event.data as { id?: string }).id === id && (event.data as { status?: string }).status === status

t.test('a blind and an attended transfer, a replay and a refusal, counted', async (t) => {
  const before = await scrape()
  t.equal(before('asterisk_transfer_asterisk_connected{link="ami"}'), 1)
  t.equal(before('asterisk_transfer_asterisk_connected{link="ari"}'), 1)
  t.equal(before('asterisk_transfer_transfers_started_total{type="blind",origin="plugin"}'), 0)

  const feed = await connectFeed(host.baseUrl, 'token-101')
  t.teardown(feed.close)
  const execute = async (body: object, key: string): Promise<Transfer> => {
    const response = await host.as('101', { method: 'POST', url: '/api/transfers/execute', payload: body, headers: { 'idempotency-key': key } })
    if (response.statusCode !== 200) throw new Error(`execute answered ${response.statusCode}: ${response.body}`)
    return response.json()
  }

  await callAgent('101')
  const blind = await execute({ targetExtension: '102', transferType: 'blind' }, 'blind-1')
  await feed.waitFor('blind answered', ofTransfer(blind.id, 'answered'))
  const replay = await host.as('101', { method: 'POST', url: '/api/transfers/execute', payload: { targetExtension: '102', transferType: 'blind' }, headers: { 'idempotency-key': 'blind-1' } })
  t.equal(replay.headers['idempotency-replayed'], 'true')

  await hangupAllCalls()
  await callAgent('101')
  const attended = await execute({ targetExtension: '103', transferType: 'attended' }, 'attended-1')
  await feed.waitFor('target answered', ofTransfer(attended.id, 'target_answered'))
  const complete = await host.as('101', { method: 'POST', url: `/api/transfers/${attended.id}/complete` })
  t.equal(complete.json().status, 'completed', complete.body)
  // The third action of 101 in the window; the fourth is refused (the replay spent nothing).
  const limited = await host.as('101', { method: 'POST', url: `/api/transfers/${attended.id}/cancel` })
  t.equal(limited.statusCode, 429, limited.body)
  await feed.waitFor('completed on the feed', ofTransfer(attended.id, 'completed'))

  const after = await scrape()
  t.equal(after('asterisk_transfer_transfers_started_total{type="blind",origin="plugin"}'), 1)
  t.equal(after('asterisk_transfer_transfers_started_total{type="attended",origin="plugin"}'), 1)
  t.equal(after('asterisk_transfer_transfers_finished_total{type="blind",outcome="answered",reason="none"}'), 1)
  t.equal(after('asterisk_transfer_transfers_finished_total{type="attended",outcome="completed",reason="none"}'), 1)
  t.equal(after('asterisk_transfer_answer_seconds_count{type="blind"}'), 1)
  t.equal(after('asterisk_transfer_answer_seconds_count{type="attended"}'), 1)
  t.equal(after('asterisk_transfer_outcome_seconds_count{type="attended",outcome="completed"}'), 1)
  const answerSeconds = after('asterisk_transfer_answer_seconds_sum{type="blind"}')
  t.ok(answerSeconds > 0 && answerSeconds < 30, `time to answer measured: ${answerSeconds} s`)
  t.equal(after('asterisk_transfer_idempotent_replays_total'), 1)
  t.equal(after('asterisk_transfer_rate_limited_requests_total'), 1)
  t.equal(after('asterisk_transfer_feed_sockets'), 1)
  t.ok(after('asterisk_transfer_feed_events_delivered_total') >= feed.received.length - 1, 'every event the socket got was counted (its hello too)')
  t.ok(after('asterisk_transfer_pbx_events_total{type="bridgeEnter"}') > before('asterisk_transfer_pbx_events_total{type="bridgeEnter"}'), 'Asterisk events ingested')
  t.equal(after('asterisk_transfer_asterisk_reconnects_total{link="ami"}'), 0)
  t.comment(`blind: answered in ${answerSeconds.toFixed(3)} s; attended: answered in ${after('asterisk_transfer_answer_seconds_sum{type="attended"}').toFixed(3)} s, completed in ${after('asterisk_transfer_outcome_seconds_sum{type="attended",outcome="completed"}').toFixed(3)} s`)

  await feed.close()
  t.equal((await scrape())('asterisk_transfer_feed_sockets'), 0, 'a closed socket is no longer counted')
})
