/**
 * The plugin's Prometheus metrics, on a registry of their own (two instances of the plugin in one
 * process never share or clash). It only listens: to the transfer service's events and notices, to the
 * PBX's events and connection changes, and to the counts the routes and the feed report through
 * `apiObserver`. Nothing here changes what the plugin does.
 *
 * Built on prom-client, the Prometheus client every Node metrics plugin builds on (fastify-metrics
 * included): per-instance `Registry`, histograms and the text exposition format, with no HTTP server
 * of its own. A Fastify metrics plugin would add per-route HTTP metrics the operators did not ask for
 * and, with its default registry, clash between two apps in one process.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { EventEmitter } from 'node:events'
import type { PbxEvents } from '../asterisk/pbx.js'
import { isFinal, type Transfer } from '../domain/transfer.js'
import { EVENT_FOR_STATE, type TransferEvents } from '../transfers/transfer-events.js'
import type { ApiObserver } from './api-observer.js'

export const DEFAULT_METRICS_PREFIX = 'asterisk_transfer_'

/** Seconds from the request to the target's answer: a phone rings for seconds, a queue for minutes. */
const ANSWER_BUCKETS = [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300]
/** Seconds from the request to a confirmed outcome: an attended transfer may last as long as a talk. */
const OUTCOME_BUCKETS = [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600]

/**
 * What the metrics follow of the transfers (the service fits it): their events, and the corrections a
 * check against the PBX made (the input it applied: `lost`, `customer_hung_up`, `delivered`...).
 */
export interface FollowedTransfers {
  events: TransferEvents
  notices: EventEmitter<{ reconciled: [{ input: string }] }>
}

export interface MetricsSources {
  transfers: FollowedTransfers
  pbx: { events: EventEmitter<PbxEvents>, connectionState: () => { ami: boolean, ari: boolean } }
  /** With several instances: the link to the shared state (Redis). */
  shared?: { available: boolean, events: EventEmitter<{ connection: [boolean], masters: [string[], string[]] }>, leadership: { isLeader: boolean }, masters: () => string[] }
}

type Link = 'ami' | 'ari'

export class TransferMetrics {
  readonly registry = new Registry()
  readonly #started: Counter<'type' | 'origin'>
  readonly #finished: Counter<'type' | 'outcome' | 'reason'>
  readonly #answerSeconds: Histogram<'type'>
  readonly #outcomeSeconds: Histogram<'type' | 'outcome'>
  readonly #reconnects: Counter<'link'>
  readonly #pbxEvents: Counter<'type'>
  readonly #feedSockets: Gauge
  readonly #feedDelivered: Counter
  readonly #slowConsumers: Counter
  readonly #replays: Counter
  readonly #rateLimited: Counter
  readonly #reconciled: Counter<'input'>
  readonly #detach: Array<() => void> = []
  #connectionState: () => { ami: boolean, ari: boolean } = () => ({ ami: false, ari: false })
  readonly #prefix: string

  constructor (prefix = DEFAULT_METRICS_PREFIX) {
    this.#prefix = prefix
    const registers = [this.registry]
    const name = (suffix: string): string => `${prefix}${suffix}`
    this.#started = new Counter({ name: name('transfers_started_total'), help: 'Transfers started, by type and origin (plugin: asked through the API; phone: the phone\'s own transfer key)', labelNames: ['type', 'origin'], registers })
    this.#finished = new Counter({ name: name('transfers_finished_total'), help: 'Transfers over, by type, outcome (answered, completed, cancelled, failed, abandoned) and failure reason (none unless failed)', labelNames: ['type', 'outcome', 'reason'], registers })
    this.#answerSeconds = new Histogram({ name: name('answer_seconds'), help: 'Seconds from the transfer request to the target\'s answer', labelNames: ['type'], buckets: ANSWER_BUCKETS, registers })
    this.#outcomeSeconds = new Histogram({ name: name('outcome_seconds'), help: 'Seconds from the transfer request to its outcome, confirmed on the PBX', labelNames: ['type', 'outcome'], buckets: OUTCOME_BUCKETS, registers })
    const connectionState = (): { ami: boolean, ari: boolean } => this.#connectionState()
    // eslint-disable-next-line no-new -- registered in the registry, read at each scrape
    new Gauge({
      name: name('asterisk_connected'),
      help: 'Whether the plugin is connected to Asterisk (1) or not (0), by link (ami, ari)',
      labelNames: ['link'],
      registers,
      collect () {
        const state = connectionState()
        this.set({ link: 'ami' }, state.ami ? 1 : 0)
        this.set({ link: 'ari' }, state.ari ? 1 : 0)
      }
    })
    this.#reconnects = new Counter({ name: name('asterisk_reconnects_total'), help: 'Connections to Asterisk regained after being lost, by link', labelNames: ['link'], registers })
    this.#pbxEvents = new Counter({ name: name('pbx_events_total'), help: 'Asterisk events ingested (those the plugin uses), by type', labelNames: ['type'], registers })
    this.#feedSockets = new Gauge({ name: name('feed_sockets'), help: 'Event feed WebSockets open', registers })
    this.#feedDelivered = new Counter({ name: name('feed_events_delivered_total'), help: 'Events sent to feed sockets (one per socket)', registers })
    this.#slowConsumers = new Counter({ name: name('feed_slow_consumer_closes_total'), help: 'Feed sockets closed as slow consumers (close code 4008)', registers })
    this.#replays = new Counter({ name: name('idempotent_replays_total'), help: 'Transfer actions answered again for a repeated Idempotency-Key (nothing sent to Asterisk)', registers })
    this.#rateLimited = new Counter({ name: name('rate_limited_requests_total'), help: 'Transfer actions refused by the per-identity rate limit (429)', registers })
    this.#reconciled = new Counter({ name: name('reconciliations_total'), help: 'Transfers corrected by a check against the PBX (missed events, reconnects, deadlines), by what the PBX showed', labelNames: ['input'], registers })
    // Zeros from the start: a rate over a series that appears late misses its first increase.
    for (const link of ['ami', 'ari'] as const) this.#reconnects.inc({ link }, 0)
    for (const counter of [this.#feedDelivered, this.#slowConsumers, this.#replays, this.#rateLimited]) counter.inc(0)
  }

  /** Subscribes to the services; `stop` unsubscribes. */
  follow ({ transfers, pbx, shared }: MetricsSources): void {
    if (shared !== undefined) this.#followShared(shared)
    this.#connectionState = () => pbx.connectionState()
    const onTransfer = (transfer: Transfer): void => { this.#onTransfer(transfer) }
    // State changes only: a swap keeps the state (target_answered), and must not count as a second answer.
    for (const type of new Set(Object.values(EVENT_FOR_STATE))) {
      transfers.events.on(type, onTransfer)
      this.#detach.push(() => { transfers.events.off(type, onTransfer) })
    }
    const onReconciled = ({ input }: { input: string }): void => { this.#reconciled.inc({ input }) }
    transfers.notices.on('reconciled', onReconciled)
    this.#detach.push(() => { transfers.notices.off('reconciled', onReconciled) })

    const onEvent = (event: PbxEvents['event'][0]): void => { this.#pbxEvents.inc({ type: event.type }) }
    let was = pbx.connectionState()
    const ever = { ami: was.ami, ari: was.ari }
    const onConnection = (now: { ami: boolean, ari: boolean }): void => {
      for (const link of ['ami', 'ari'] as Link[]) {
        // A first connection after a start without Asterisk is not a reconnect.
        if (now[link] && !was[link] && ever[link]) this.#reconnects.inc({ link })
        if (now[link]) ever[link] = true
      }
      was = { ...now }
    }
    pbx.events.on('event', onEvent)
    pbx.events.on('connection', onConnection)
    this.#detach.push(() => {
      pbx.events.off('event', onEvent)
      pbx.events.off('connection', onConnection)
    })
  }

  stop (): void {
    for (const detach of this.#detach.splice(0)) detach()
  }

  /** Redis's link: a gauge read at scrape time, and its reconnects (a first connection is not one). */
  #followShared (shared: NonNullable<MetricsSources['shared']>): void {
    const registers = [this.registry]
    // eslint-disable-next-line no-new -- prom-client registers a metric in its constructor; the registry keeps it
    new Gauge({ name: `${this.#prefix}redis_connected`, help: 'Whether this instance reaches the shared state on Redis (1) or not (0)', registers, collect () { this.set(shared.available ? 1 : 0) } })
    // eslint-disable-next-line no-new -- the same: registered by its constructor
    new Gauge({ name: `${this.#prefix}leader`, help: 'Whether this instance is the one that publishes Asterisk\'s own events (call:status, agent:status) (1) or not (0)', registers, collect () { this.set(shared.leadership.isLeader ? 1 : 0) } })
    const reconnects = new Counter({ name: `${this.#prefix}redis_reconnects_total`, help: 'Connections to Redis regained after being lost', registers })
    let ever = shared.available
    const onConnection = (up: boolean): void => {
      if (up && ever) reconnects.inc()
      if (up) ever = true
    }
    shared.events.on('connection', onConnection)
    this.#detach.push(() => { shared.events.off('connection', onConnection) })
    // Which master(s) this instance writes to: after a Sentinel or Cluster failover, the promoted one.
    // eslint-disable-next-line no-new -- prom-client registers a metric in its constructor; the registry keeps it
    new Gauge({
      name: `${this.#prefix}redis_master`,
      help: 'The Redis master(s) this instance uses now (1 per address; none while unreachable)',
      labelNames: ['address'],
      registers,
      collect () {
        this.reset()
        for (const address of shared.masters()) this.set({ address }, 1)
      }
    })
    const changes = new Counter({ name: `${this.#prefix}redis_master_changes_total`, help: 'Times the Redis master in use changed (failovers seen by this instance)', registers })
    const onMasters = (_now: string[], before: string[]): void => { if (before.length > 0) changes.inc() }
    shared.events.on('masters', onMasters)
    this.#detach.push(() => { shared.events.off('masters', onMasters) })
  }

  /** What the routes and the feed report. */
  readonly apiObserver: ApiObserver = {
    replayed: () => { this.#replays.inc() },
    rateLimited: () => { this.#rateLimited.inc() },
    feed: {
      opened: () => { this.#feedSockets.inc() },
      closed: () => { this.#feedSockets.dec() },
      delivered: () => { this.#feedDelivered.inc() },
      slowConsumer: () => { this.#slowConsumers.inc() }
    }
  }

  /** The exposition text for a scrape. */
  async scrape (): Promise<{ contentType: string, body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }

  #onTransfer (transfer: Transfer): void {
    const { type, status } = transfer
    if (status === 'initiated') {
      this.#started.inc({ type, origin: transfer.origin })
      return
    }
    const seconds = Math.max(0, (Date.parse(transfer.updatedAt) - Date.parse(transfer.createdAt)) / 1000)
    if (status === 'target_answered' || (status === 'answered' && type === 'blind')) this.#answerSeconds.observe({ type }, seconds)
    if (!isFinal(status)) return
    this.#finished.inc({ type, outcome: status, reason: transfer.failureReason ?? 'none' })
    this.#outcomeSeconds.observe({ type, outcome: status }, seconds)
  }
}
