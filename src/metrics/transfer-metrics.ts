/**
 * The plugin's Prometheus metrics, on a registry of their own (two instances of the plugin in one
 * process never share or clash). It only listens: to the transfer service's events and notices, to the
 * PBX's events and connection changes, and to the counts the routes and the feed report through
 * `apiObserver`. Nothing here changes what the plugin does.
 *
 * With several Asterisk servers the transfer and Asterisk series carry a `server` label (the server's
 * name in the pool: the agent's call's, for a transfer), so a dashboard tells a failing server from a
 * busy one; a pool of one keeps the single server's series, unlabelled, as before.
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
  notices: EventEmitter<{ reconciled: [{ input: string, server: string }] }>
}

/** One Asterisk server as the metrics follow it: its events and its links. */
export interface FollowedPbx {
  events: EventEmitter<PbxEvents>
  connectionState: () => { ami: boolean, ari: boolean }
}

export interface MetricsSources {
  transfers: FollowedTransfers
  /** The single Asterisk (a pool of one), or, with `servers` given to the constructor, one per server, by name. */
  pbx: FollowedPbx | ReadonlyMap<string, FollowedPbx>
  /** With several instances: the link to the shared state (Redis). */
  shared?: { available: boolean, events: EventEmitter<{ connection: [boolean], masters: [string[], string[]] }>, leadership: { isLeader: boolean }, masters: () => string[] }
}

type Link = 'ami' | 'ari'

/** The labels of the series that follow a transfer or a server: `server` only in a pool of several. */
type Labelled<T extends string> = T | 'server'

export class TransferMetrics {
  readonly registry = new Registry()
  readonly #started: Counter<Labelled<'type' | 'origin'>>
  readonly #finished: Counter<Labelled<'type' | 'outcome' | 'reason'>>
  readonly #answerSeconds: Histogram<Labelled<'type'>>
  readonly #outcomeSeconds: Histogram<Labelled<'type' | 'outcome'>>
  readonly #reconnects: Counter<Labelled<'link'>>
  readonly #pbxEvents: Counter<Labelled<'type'>>
  readonly #feedSockets: Gauge
  readonly #feedDelivered: Counter
  readonly #slowConsumers: Counter
  readonly #replays: Counter
  readonly #rateLimited: Counter
  readonly #reconciled: Counter<Labelled<'input'>>
  readonly #detach: Array<() => void> = []
  /** Each server's links, by name (one entry, '', for a single Asterisk). */
  #connectionStates = new Map<string, () => { ami: boolean, ari: boolean }>()
  readonly #prefix: string
  /** The pool's server names when there are several (the series carry `server`); undefined for one. */
  readonly #servers: readonly string[] | undefined

  /**
   * `servers`: the names of the pool's servers; with more than one, the transfer and Asterisk series
   * are labelled by `server`, and `follow` takes each server's events by name.
   */
  constructor (prefix = DEFAULT_METRICS_PREFIX, servers?: readonly string[]) {
    this.#prefix = prefix
    this.#servers = servers !== undefined && servers.length > 1 ? [...servers] : undefined
    const registers = [this.registry]
    const name = (suffix: string): string => `${prefix}${suffix}`
    const byServer = this.#servers === undefined ? '' : ' and server'
    const labels = <T extends string>(...names: T[]): Array<Labelled<T>> => this.#servers === undefined ? names : [...names, 'server']
    this.#started = new Counter({ name: name('transfers_started_total'), help: `Transfers started, by type and origin (plugin: asked through the API; phone: the phone's own transfer key)${byServer}`, labelNames: labels('type', 'origin'), registers })
    this.#finished = new Counter({ name: name('transfers_finished_total'), help: `Transfers over, by type, outcome (answered, completed, cancelled, failed, abandoned) and failure reason (none unless failed)${byServer}`, labelNames: labels('type', 'outcome', 'reason'), registers })
    this.#answerSeconds = new Histogram({ name: name('answer_seconds'), help: `Seconds from the transfer request to the target's answer${this.#servers === undefined ? '' : ', by type and server'}`, labelNames: labels('type'), buckets: ANSWER_BUCKETS, registers })
    this.#outcomeSeconds = new Histogram({ name: name('outcome_seconds'), help: 'Seconds from the transfer request to its outcome, confirmed on the PBX', labelNames: labels('type', 'outcome'), buckets: OUTCOME_BUCKETS, registers })
    const connectionStates = (): ReadonlyMap<string, () => { ami: boolean, ari: boolean }> => this.#connectionStates
    const labelled = this.#servers !== undefined
    // eslint-disable-next-line no-new -- registered in the registry, read at each scrape
    new Gauge({
      name: name('asterisk_connected'),
      help: `Whether the plugin is connected to Asterisk (1) or not (0), by link (ami, ari)${byServer}`,
      labelNames: labels('link'),
      registers,
      collect () {
        const states = connectionStates()
        if (!labelled) {
          const state = states.get('')?.() ?? { ami: false, ari: false }
          this.set({ link: 'ami' }, state.ami ? 1 : 0)
          this.set({ link: 'ari' }, state.ari ? 1 : 0)
          return
        }
        for (const [server, stateOf] of states) {
          const state = stateOf()
          this.set({ link: 'ami', server }, state.ami ? 1 : 0)
          this.set({ link: 'ari', server }, state.ari ? 1 : 0)
        }
      }
    })
    this.#reconnects = new Counter({ name: name('asterisk_reconnects_total'), help: `Connections to Asterisk regained after being lost, by link${byServer}`, labelNames: labels('link'), registers })
    this.#pbxEvents = new Counter({ name: name('pbx_events_total'), help: `Asterisk events ingested (those the plugin uses), by type${byServer}`, labelNames: labels('type'), registers })
    this.#feedSockets = new Gauge({ name: name('feed_sockets'), help: 'Event feed WebSockets open', registers })
    this.#feedDelivered = new Counter({ name: name('feed_events_delivered_total'), help: 'Events sent to feed sockets (one per socket)', registers })
    this.#slowConsumers = new Counter({ name: name('feed_slow_consumer_closes_total'), help: 'Feed sockets closed as slow consumers (close code 4008)', registers })
    this.#replays = new Counter({ name: name('idempotent_replays_total'), help: 'Transfer actions answered again for a repeated Idempotency-Key (nothing sent to Asterisk)', registers })
    this.#rateLimited = new Counter({ name: name('rate_limited_requests_total'), help: 'Transfer actions refused by the per-identity rate limit (429)', registers })
    this.#reconciled = new Counter({ name: name('reconciliations_total'), help: `Transfers corrected by a check against the PBX (missed events, reconnects, deadlines), by what the PBX showed${byServer}`, labelNames: labels('input'), registers })
    // Zeros from the start: a rate over a series that appears late misses its first increase.
    for (const server of this.#servers ?? [undefined]) {
      for (const link of ['ami', 'ari'] as const) this.#reconnects.inc({ link, ...(server === undefined ? {} : { server }) }, 0)
    }
    for (const counter of [this.#feedDelivered, this.#slowConsumers, this.#replays, this.#rateLimited]) counter.inc(0)
  }

  /** Subscribes to the services; `stop` unsubscribes. */
  follow ({ transfers, pbx, shared }: MetricsSources): void {
    if (shared !== undefined) this.#followShared(shared)
    const servers = pbx instanceof Map ? pbx as ReadonlyMap<string, FollowedPbx> : new Map([['', pbx as FollowedPbx]])
    if (this.#servers !== undefined && !(pbx instanceof Map)) throw new Error('TransferMetrics: a pool of several servers is followed server by server')
    for (const [server, followed] of servers) this.#followPbx(this.#servers === undefined ? undefined : server, followed)
    const onTransfer = (transfer: Transfer): void => { this.#onTransfer(transfer) }
    // State changes only: a swap keeps the state (target_answered), and must not count as a second answer.
    for (const type of new Set(Object.values(EVENT_FOR_STATE))) {
      transfers.events.on(type, onTransfer)
      this.#detach.push(() => { transfers.events.off(type, onTransfer) })
    }
    const onReconciled = ({ input, server }: { input: string, server: string }): void => {
      this.#reconciled.inc({ input, ...(this.#servers === undefined ? {} : { server }) })
    }
    transfers.notices.on('reconciled', onReconciled)
    this.#detach.push(() => { transfers.notices.off('reconciled', onReconciled) })
  }

  /** One server's events and reconnects (`server` undefined: the single Asterisk, unlabelled). */
  #followPbx (server: string | undefined, pbx: FollowedPbx): void {
    const named = server === undefined ? {} : { server }
    this.#connectionStates.set(server ?? '', () => pbx.connectionState())
    const onEvent = (event: PbxEvents['event'][0]): void => { this.#pbxEvents.inc({ type: event.type, ...named }) }
    let was = pbx.connectionState()
    const ever = { ami: was.ami, ari: was.ari }
    const onConnection = (now: { ami: boolean, ari: boolean }): void => {
      for (const link of ['ami', 'ari'] as Link[]) {
        // A first connection after a start without Asterisk is not a reconnect.
        if (now[link] && !was[link] && ever[link]) this.#reconnects.inc({ link, ...named })
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
    // The server the agent's call is on; a record from before the pool names none: the first server.
    const named = this.#servers === undefined ? {} : { server: transfer.server ?? this.#servers[0] ?? '' }
    if (status === 'initiated') {
      this.#started.inc({ type, origin: transfer.origin, ...named })
      return
    }
    const seconds = Math.max(0, (Date.parse(transfer.updatedAt) - Date.parse(transfer.createdAt)) / 1000)
    if (status === 'target_answered' || (status === 'answered' && type === 'blind')) this.#answerSeconds.observe({ type, ...named }, seconds)
    if (!isFinal(status)) return
    this.#finished.inc({ type, outcome: status, reason: transfer.failureReason ?? 'none', ...named })
    this.#outcomeSeconds.observe({ type, outcome: status, ...named }, seconds)
  }
}
