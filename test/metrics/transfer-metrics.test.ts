// The metrics module on its own: it is fed the services' events (emitters as the services emit them)
// and the routes' and feed's reports, and its registry's text is read as Prometheus would.
import { EventEmitter } from 'node:events'
import t from 'tap'
import type { PbxEvents } from '../../src/asterisk/pbx.js'
import type { Transfer } from '../../src/domain/transfer.js'
import { TransferMetrics } from '../../src/metrics/transfer-metrics.js'
import { EVENT_FOR_STATE, TransferEvents } from '../../src/transfers/transfer-events.js'
import type { TransferNotices } from '../../src/transfers/transfer-service.js'

const START = Date.parse('2026-01-01T10:00:00.000Z')

function transfer (fields: Partial<Transfer>, secondsLater = 0): Transfer {
  return {
    id: 'a0000000-0000-4000-8000-000000000001',
    type: 'blind',
    status: 'initiated',
    origin: 'plugin',
    extension: '101',
    targetExtension: '102',
    requestedBy: '101',
    channels: { agent: 'PJSIP/101-1', peer: 'PJSIP/customer1-1' },
    createdAt: new Date(START).toISOString(),
    updatedAt: new Date(START + secondsLater * 1000).toISOString(),
    ...fields
  }
}

function sources () {
  const events = new TransferEvents()
  const notices = new EventEmitter<TransferNotices>()
  const pbxEvents = new EventEmitter<PbxEvents>()
  const connection = { ami: true, ari: true }
  const announce = (record: Transfer): void => { events.emit(EVENT_FOR_STATE[record.status], record) }
  return { events, notices, pbxEvents, connection, announce, wiring: { transfers: { events, notices }, pbx: { events: pbxEvents, connectionState: () => ({ ...connection }) } } }
}

/** The value of one series in the exposition text, or undefined. */
function valueOf (text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

t.test('transfers started and finished, by type, origin, outcome and reason; times to answer and to outcome', async (t) => {
  const metrics = new TransferMetrics()
  const s = sources()
  metrics.follow(s.wiring)
  s.announce(transfer({}))
  s.announce(transfer({ status: 'redirected' }, 0.1))
  s.announce(transfer({ status: 'answered' }, 3))
  s.announce(transfer({ type: 'attended', origin: 'phone' }))
  s.announce(transfer({ type: 'attended', status: 'consulting', origin: 'phone' }, 0.2))
  s.announce(transfer({ type: 'attended', status: 'target_answered', origin: 'phone' }, 1.5))
  s.announce(transfer({ type: 'attended', status: 'completed', origin: 'phone' }, 40))
  s.announce(transfer({ type: 'blind' }))
  s.announce(transfer({ type: 'blind', status: 'failed', failureReason: 'target_busy' }, 0.4))
  const { body, contentType } = await metrics.scrape()
  t.match(contentType, /^text\/plain/)
  t.equal(valueOf(body, 'asterisk_transfer_transfers_started_total{type="blind",origin="plugin"}'), 2)
  t.equal(valueOf(body, 'asterisk_transfer_transfers_started_total{type="attended",origin="phone"}'), 1)
  t.equal(valueOf(body, 'asterisk_transfer_transfers_finished_total{type="blind",outcome="answered",reason="none"}'), 1)
  t.equal(valueOf(body, 'asterisk_transfer_transfers_finished_total{type="attended",outcome="completed",reason="none"}'), 1)
  t.equal(valueOf(body, 'asterisk_transfer_transfers_finished_total{type="blind",outcome="failed",reason="target_busy"}'), 1)
  t.equal(valueOf(body, 'asterisk_transfer_answer_seconds_count{type="blind"}'), 1)
  t.equal(valueOf(body, 'asterisk_transfer_answer_seconds_sum{type="blind"}'), 3)
  t.equal(valueOf(body, 'asterisk_transfer_answer_seconds_bucket{le="2",type="blind"}'), 0)
  t.equal(valueOf(body, 'asterisk_transfer_answer_seconds_bucket{le="5",type="blind"}'), 1)
  t.equal(valueOf(body, 'asterisk_transfer_answer_seconds_sum{type="attended"}'), 1.5)
  t.equal(valueOf(body, 'asterisk_transfer_outcome_seconds_sum{type="attended",outcome="completed"}'), 40)
  t.equal(valueOf(body, 'asterisk_transfer_outcome_seconds_count{type="blind",outcome="failed"}'), 1)
})

t.test('Asterisk: connection state at each scrape, reconnects per link, events ingested by type', async (t) => {
  const metrics = new TransferMetrics()
  const s = sources()
  metrics.follow(s.wiring)
  let body = (await metrics.scrape()).body
  t.equal(valueOf(body, 'asterisk_transfer_asterisk_connected{link="ami"}'), 1)
  t.equal(valueOf(body, 'asterisk_transfer_asterisk_reconnects_total{link="ami"}'), 0, 'zero from the start')

  Object.assign(s.connection, { ami: false })
  s.pbxEvents.emit('connection', { ami: false, ari: true })
  body = (await metrics.scrape()).body
  t.equal(valueOf(body, 'asterisk_transfer_asterisk_connected{link="ami"}'), 0)
  t.equal(valueOf(body, 'asterisk_transfer_asterisk_connected{link="ari"}'), 1)
  Object.assign(s.connection, { ami: true })
  s.pbxEvents.emit('connection', { ami: true, ari: true })
  s.pbxEvents.emit('connection', { ami: true, ari: true })
  s.pbxEvents.emit('event', { type: 'hold', channel: 'PJSIP/101-1', uniqueId: '1.1', linkedId: '1.0' })
  s.pbxEvents.emit('event', { type: 'hold', channel: 'PJSIP/101-1', uniqueId: '1.1', linkedId: '1.0' })
  s.pbxEvents.emit('event', { type: 'hangup', channel: 'PJSIP/101-1', uniqueId: '1.1', linkedId: '1.0', cause: 'Normal Clearing' })
  body = (await metrics.scrape()).body
  t.equal(valueOf(body, 'asterisk_transfer_asterisk_reconnects_total{link="ami"}'), 1, 'one loss, one reconnect')
  t.equal(valueOf(body, 'asterisk_transfer_asterisk_reconnects_total{link="ari"}'), 0)
  t.equal(valueOf(body, 'asterisk_transfer_pbx_events_total{type="hold"}'), 2)
  t.equal(valueOf(body, 'asterisk_transfer_pbx_events_total{type="hangup"}'), 1)
})

t.test('a first connection after a start without Asterisk is not a reconnect', async (t) => {
  const metrics = new TransferMetrics()
  const s = sources()
  Object.assign(s.connection, { ami: false, ari: false })
  metrics.follow(s.wiring)
  s.pbxEvents.emit('connection', { ami: true, ari: true })
  t.equal(valueOf((await metrics.scrape()).body, 'asterisk_transfer_asterisk_reconnects_total{link="ami"}'), 0)
})

t.test('feed, replays, rate limits and reconciliations, as reported', async (t) => {
  const metrics = new TransferMetrics('callcenter_')
  const s = sources()
  metrics.follow(s.wiring)
  const { feed, replayed, rateLimited } = metrics.apiObserver
  feed.opened(); feed.opened(); feed.opened(); feed.closed()
  for (let i = 0; i < 5; i++) feed.delivered()
  feed.slowConsumer()
  replayed()
  rateLimited(); rateLimited()
  s.notices.emit('reconciled', { transferId: 'x', status: 'redirected', input: 'lost', server: 'default' })
  const body = (await metrics.scrape()).body
  t.equal(valueOf(body, 'callcenter_feed_sockets'), 2)
  t.equal(valueOf(body, 'callcenter_feed_events_delivered_total'), 5)
  t.equal(valueOf(body, 'callcenter_feed_slow_consumer_closes_total'), 1)
  t.equal(valueOf(body, 'callcenter_idempotent_replays_total'), 1)
  t.equal(valueOf(body, 'callcenter_rate_limited_requests_total'), 2)
  t.equal(valueOf(body, 'callcenter_reconciliations_total{input="lost"}'), 1)
  t.notOk(body.includes('asterisk_transfer_'), 'every name carries the prefix given')
})

t.test('two instances in one process keep their own counts; stop unsubscribes', async (t) => {
  const [first, second] = [new TransferMetrics(), new TransferMetrics()]
  const [a, b] = [sources(), sources()]
  first.follow(a.wiring)
  second.follow(b.wiring)
  a.announce(transfer({}))
  t.equal(valueOf((await first.scrape()).body, 'asterisk_transfer_transfers_started_total{type="blind",origin="plugin"}'), 1)
  t.equal(valueOf((await second.scrape()).body, 'asterisk_transfer_transfers_started_total{type="blind",origin="plugin"}'), undefined)
  first.stop()
  a.announce(transfer({}))
  t.equal(valueOf((await first.scrape()).body, 'asterisk_transfer_transfers_started_total{type="blind",origin="plugin"}'), 1, 'nothing counted after stop')
  t.equal(a.events.listenerCount('call:transfer_initiated'), 0)
  t.equal(a.pbxEvents.listenerCount('event'), 0)
})

t.test('with several instances: Redis\'s link as a gauge and its reconnects, and whether this instance leads', async (t) => {
  const metrics = new TransferMetrics('x_')
  let masters = ['10.0.0.1:6379']
  const shared = { available: true, events: new EventEmitter<{ connection: [boolean], masters: [string[], string[]] }>(), leadership: { isLeader: false }, masters: () => masters }
  metrics.follow({ transfers: { events: new TransferEvents(), notices: new EventEmitter() }, pbx: { events: new EventEmitter(), connectionState: () => ({ ami: true, ari: true }) }, shared })
  const scrape = async (): Promise<string> => (await metrics.scrape()).body
  t.match(await scrape(), /^x_redis_connected 1$/m)
  shared.available = false
  shared.events.emit('connection', false)
  t.match(await scrape(), /^x_redis_connected 0$/m)
  shared.available = true
  shared.events.emit('connection', true)
  t.match(await scrape(), /^x_redis_reconnects_total 1$/m)
  t.match(await scrape(), /^x_leader 0$/m)
  shared.leadership.isLeader = true
  t.match(await scrape(), /^x_leader 1$/m)
  t.match(await scrape(), /^x_redis_master\{address="10.0.0.1:6379"\} 1$/m, 'the master in use, by address')
  shared.events.emit('masters', ['10.0.0.1:6379'], [])
  t.match(await scrape(), /^x_redis_master_changes_total 0$/m, 'the first master seen is no change')
  masters = ['10.0.0.2:6379']
  shared.events.emit('masters', masters, ['10.0.0.1:6379'])
  const after = await scrape()
  t.match(after, /^x_redis_master_changes_total 1$/m, 'a failover to another master is counted')
  t.match(after, /^x_redis_master\{address="10.0.0.2:6379"\} 1$/m)
  t.notMatch(after, /address="10.0.0.1:6379"/, 'the old master is no longer reported')
  metrics.stop()
})

t.test('a pool of several servers: transfers, Asterisk links, reconnects and events carry the server', async (t) => {
  const metrics = new TransferMetrics(undefined, ['paris', 'lyon'])
  const events = new TransferEvents()
  const notices = new EventEmitter<TransferNotices>()
  const paris = { events: new EventEmitter<PbxEvents>(), state: { ami: true, ari: true } }
  const lyon = { events: new EventEmitter<PbxEvents>(), state: { ami: true, ari: true } }
  metrics.follow({
    transfers: { events, notices },
    pbx: new Map([['paris', paris], ['lyon', lyon]].map(([name, pbx]) => {
      const server = pbx as typeof paris
      return [name as string, { events: server.events, connectionState: () => ({ ...server.state }) }]
    }))
  })
  const announce = (record: Transfer): void => { events.emit(EVENT_FOR_STATE[record.status], record) }
  announce(transfer({ server: 'lyon' }))
  announce(transfer({ server: 'lyon', status: 'answered' }, 2))
  announce(transfer({ server: 'paris' }))
  announce(transfer({ server: 'paris', status: 'failed', failureReason: 'no_answer' }, 4))
  // A record from before the pool (no server): the first server's.
  announce(transfer({}))
  lyon.events.emit('event', { type: 'hold', channel: 'PJSIP/301-1', uniqueId: '1.1', linkedId: '1.0' })
  notices.emit('reconciled', { transferId: 'x', status: 'redirected', input: 'lost', server: 'lyon' })
  lyon.state.ami = false
  lyon.events.emit('connection', { ami: false, ari: true })
  lyon.state.ami = true
  lyon.events.emit('connection', { ami: true, ari: true })
  const body = (await metrics.scrape()).body
  t.equal(valueOf(body, 'asterisk_transfer_transfers_started_total{type="blind",origin="plugin",server="lyon"}'), 1)
  t.equal(valueOf(body, 'asterisk_transfer_transfers_started_total{type="blind",origin="plugin",server="paris"}'), 2)
  t.equal(valueOf(body, 'asterisk_transfer_transfers_finished_total{type="blind",outcome="answered",reason="none",server="lyon"}'), 1)
  t.equal(valueOf(body, 'asterisk_transfer_transfers_finished_total{type="blind",outcome="failed",reason="no_answer",server="paris"}'), 1)
  t.equal(valueOf(body, 'asterisk_transfer_answer_seconds_sum{type="blind",server="lyon"}'), 2)
  t.equal(valueOf(body, 'asterisk_transfer_outcome_seconds_sum{type="blind",outcome="failed",server="paris"}'), 4)
  t.equal(valueOf(body, 'asterisk_transfer_pbx_events_total{type="hold",server="lyon"}'), 1)
  t.equal(valueOf(body, 'asterisk_transfer_pbx_events_total{type="hold",server="paris"}'), undefined, 'each server\'s events are its own')
  t.equal(valueOf(body, 'asterisk_transfer_reconciliations_total{input="lost",server="lyon"}'), 1)
  t.equal(valueOf(body, 'asterisk_transfer_reconciliations_total{input="lost",server="paris"}'), undefined, 'counted on its own server')
  t.equal(valueOf(body, 'asterisk_transfer_asterisk_reconnects_total{link="ami",server="lyon"}'), 1)
  t.equal(valueOf(body, 'asterisk_transfer_asterisk_reconnects_total{link="ami",server="paris"}'), 0, 'zero from the start, per server')
  paris.state.ari = false
  const later = (await metrics.scrape()).body
  t.equal(valueOf(later, 'asterisk_transfer_asterisk_connected{link="ari",server="paris"}'), 0)
  t.equal(valueOf(later, 'asterisk_transfer_asterisk_connected{link="ari",server="lyon"}'), 1)
  t.notMatch(later, /transfers_started_total\{type="blind",origin="plugin"\}/, 'no unlabelled series beside them')
})

t.test('a pool of one keeps the single server\'s series, unlabelled', async (t) => {
  const metrics = new TransferMetrics(undefined, ['default'])
  const s = sources()
  metrics.follow(s.wiring)
  s.announce(transfer({ server: 'default' }))
  const body = (await metrics.scrape()).body
  t.equal(valueOf(body, 'asterisk_transfer_transfers_started_total{type="blind",origin="plugin"}'), 1)
  t.notMatch(body, /server=/)
})
