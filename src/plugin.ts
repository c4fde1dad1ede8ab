/**
 * The plugin: checks the options, opens AMI and ARI, builds the services, decorates the instance with
 * `asteriskTransfers` and mounts the routes and the event feed under `prefix`. Everything it opens is
 * closed in `onClose`.
 */
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { PublishedAgentStatuses } from './agents/published-agent-statuses.js'
import { PublishedCallStatuses } from './calls/published-call-statuses.js'
import { AsteriskPool, connectPool } from './asterisk-pool.js'
import type { AsteriskServer } from './asterisk-server.js'
import { withTransfer } from './calls/call-view.js'
import type { LoggedEventType } from './domain/event-log.js'
import { serveMetrics } from './metrics/metrics-route.js'
import { TransferMetrics } from './metrics/transfer-metrics.js'
import { resolveOptions, type FastifyAsteriskTransferOptions } from './options.js'
import { apiRoutes } from './routes/api.js'
import { serveHealth } from './routes/health-routes.js'
import type { FeedPublisher } from './store/feed-publisher.js'
import type { Leadership } from './store/leadership.js'
import { createSharedState } from './store/shared-state.js'
import { createTransfersApi, type AsteriskTransfers } from './transfers-api.js'
import { TransferPolicy } from './transfers/transfer-policy.js'
import { TransferMirror } from './transfers/transfer-mirror.js'
import { TransferService } from './transfers/transfer-service.js'
import type { Transfer } from './domain/transfer.js'
import { TRANSFER_EVENTS } from './transfers/transfer-events.js'
import { transferAudience } from './transfers/transfer-visibility.js'

declare module 'fastify' {
  interface FastifyInstance {
    asteriskTransfers: AsteriskTransfers
  }
}

/**
 * Everything the services publish goes through one log: the feed and the host app see the same events.
 * A transfer's changes are published by the instance that owns it; what Asterisk alone says (the
 * connection here, calls and agents below) by the leader only, as every instance sees it.
 */
function publishToLog (publisher: FeedPublisher, transfers: TransferService, pool: AsteriskPool, leadership: Leadership): void {
  for (const type of TRANSFER_EVENTS) {
    transfers.events.on(type, (transfer) => {
      publisher.publish(type, transfer, { extensions: transferAudience(transfer) })
    })
  }
  for (const server of pool.servers) {
    server.pbx.events.on('connection', (state) => {
      if (leadership.isLeader) publisher.publish('asterisk:connection', pool.several ? { ...state, server: server.name } : state, 'everyone')
    })
  }
}

async function asteriskTransferPlugin (fastify: FastifyInstance, rawOptions: FastifyAsteriskTransferOptions): Promise<void> {
  const options = resolveOptions(rawOptions)
  const log = fastify.log.child({ plugin: 'fastify-asterisk-transfer' })
  // What follows one Asterisk server is built per server (asterisk-server.ts); the rest once, here.
  const pool = new AsteriskPool(await connectPool(options, log), options.channelTechnology, log)
  const { servers, agents } = pool

  const shared = createSharedState({
    ...(options.redis === undefined ? {} : { redis: options.redis }),
    keyPrefix: options.sharedState.keyPrefix,
    leaseMs: options.sharedState.leaseMs,
    idempotencyTtlMs: options.idempotency.ttlMs,
    feedCapacity: options.feed.capacity,
    logger: log.child({ component: 'shared-state' })
  })
  const policy = new TransferPolicy({ find: async (extension) => await pool.findAgent(extension) }, {
    destinations: options.destinations,
    transferContext: options.transferContext,
    allowFreeDialing: options.allowFreeDialing
  }, options.authorizeTransfer, log.child({ component: 'policy' }), (extension) => pool.presenceOf(extension), options.busyTargets)
  const transfers = new TransferService(servers.map((server) => ({
    name: server.name,
    pbx: server.pbx,
    calls: server.monitor,
    transferContext: server.transferContext,
    ...(server.recall === undefined ? {} : { recall: server.recall })
  })), {
    ...(pool.several ? { agentServer: async (extension: string) => await pool.serverOfAgent(extension) } : {}),
    transferContext: options.transferContext,
    channelTechnology: options.channelTechnology,
    consultationTimeoutMs: options.consultationTimeoutMs,
    queueLog: options.queueLog,
    policy,
    reconcileIntervalMs: options.reconcileIntervalMs,
    deadlines: options.deadlines,
    followRecordings: options.followRecordings,
    store: shared.transfers,
    ...(shared.peers === undefined
      ? {}
      : {
          peers: {
            send: async (owner, command, timeoutMs) => await shared.peers?.send(owner, command, timeoutMs),
            leaseRenewMs: Math.floor(options.sharedState.leaseMs / 3),
            available: () => shared.available,
            // Asked only once the service has started, after the mirror below exists.
            lastPublished: (id: string) => mirror.lastPublished(id),
            ended: async (id: string, signal: AbortSignal) => await mirror.ended(id, signal)
          }
        }),
    logger: log.child({ component: 'transfers' })
  })
  const { eventLog, publisher } = await shared.openFeed({
    capacity: options.feed.capacity,
    // Host handlers run inside append: one that throws must not stop the feed or the service.
    onListenerError: (error, event) => fastify.log.error({ err: error, event: event.envelope.type }, 'an asteriskTransfers event handler threw')
  })
  const { leadership } = shared
  publishToLog(publisher, transfers, pool, leadership)
  // Which transfer a channel is in, whichever instance owns it: for the calls' views.
  const mirror = new TransferMirror(eventLog)
  const transferOn = (channel: string, server = servers[0].name): Transfer | undefined => transfers.activeHereOnChannel(channel, server) ?? mirror.onChannel(server, channel)
  // Following the services before they start: the first events and connections are counted too.
  // With several servers the series carry a `server` label: each server's events and links are followed.
  const metrics = options.metrics === false ? undefined : new TransferMetrics(options.metrics.prefix, servers.map((server) => server.name))
  metrics?.follow({
    transfers,
    pbx: pool.several
      ? new Map(servers.map((server) => [server.name, { events: server.pbx.events, connectionState: () => server.pbx.connectionState() }]))
      : { events: servers[0].pbx.events, connectionState: () => pool.connectionState() },
    ...(shared.distributed ? { shared } : {})
  })
  for (const server of servers) {
    server.monitor.on('call:status', (status) => {
      if (!leadership.isLeader) return
      const call = status.call === undefined ? undefined : withTransfer(pool.several ? { ...status.call, server: server.name } : status.call, transferOn)
      publisher.publish('call:status', call === undefined ? status : { ...status, call }, { extensions: [status.extension] })
    })
  }
  // Elected after a leader that died: the calls that changed while nobody published are published now.
  // Only from a monitor in sync: one being rebuilt knows no calls yet, and would end every call the feed
  // has live (its rebuild publishes its own changes once done).
  const publishedCalls = new PublishedCallStatuses(eventLog)
  leadership.onElected(() => {
    if (!pool.inSync) return
    const current = pool.allCalls().map((call) => withTransfer(call, transferOn))
    for (const status of publishedCalls.differences(current)) publisher.publish('call:status', status, { extensions: [status.extension] })
  })
  transfers.start()
  await shared.start(async (command) => await transfers.handleRemote(command))
  // Redis back, perhaps without its data: this instance's transfers are recorded there again.
  shared.events.on('connection', (up) => { if (up) transfers.recordAll() })
  for (const server of servers) await server.follow()
  // Consultations that a previous run of the host app left in progress are followed again.
  await transfers.restore().catch((error: unknown) => { log.warn({ err: error }, 'consultations in progress not restored at startup') })
  // Every agent needs to know who can take a transfer: agent:status goes to everyone.
  for (const { name, agentStatus } of servers) {
    agentStatus.on('agent:status', (status) => { if (leadership.isLeader) publisher.publish('agent:status', pool.several ? { ...status, server: name } : status, 'everyone') })
  }
  // Elected after a leader that died: what changed while nobody published is published now.
  const publishedAgents = new PublishedAgentStatuses(eventLog)
  leadership.onElected(() => {
    const statuses = servers.flatMap(({ name, agentStatus }) => agentStatus.all().map((status) => pool.several ? { ...status, server: name } : status))
    for (const status of publishedAgents.changedIn(statuses)) publisher.publish('agent:status', status, 'everyone')
  })
  await Promise.all(servers.map(async ({ agentStatus }) => {
    await agentStatus.start().catch((error: unknown) => { log.warn({ err: error }, 'agent states not built at startup; retrying') })
  }))

  fastify.addHook('onClose', async () => {
    metrics?.stop()
    for (const server of servers) server.stopFollowing()
    mirror.stop()
    publishedAgents.stop()
    publishedCalls.stop()
    // Its transfers are handed back first, so another instance takes them over at once.
    await transfers.stop()
    await shared.close()
    await Promise.all(servers.map(async (server: AsteriskServer) => { await server.close() }))
  })

  fastify.decorate('asteriskTransfers', createTransfersApi({
    transfers,
    agents,
    pbx: pool,
    eventLog,
    ...(metrics === undefined ? {} : { metrics: metrics.registry }),
    onHandlerError: (error, envelope) => fastify.log.error({ err: error, event: envelope.type }, 'an asteriskTransfers event handler failed')
  }))
  if (metrics !== undefined && options.metrics !== false && options.metrics.path !== false) serveMetrics(fastify, options.metrics.path, metrics)
  serveHealth(fastify, {
    ...options.health,
    readiness: () => ({ ...pool.readiness(), ...(shared.distributed ? { redis: shared.available, redisMasters: shared.masters() } : {}) })
  })

  await fastify.register(apiRoutes, {
    prefix: options.prefix,
    transfers,
    monitor: pool,
    agents,
    eventLog,
    transferOn,
    authenticate: options.authenticate,
    destinations: options.destinations,
    feed: {
      heartbeatIntervalMs: options.feed.heartbeatIntervalMs,
      maxBufferedBytes: options.feed.maxBufferedBytes,
      maxSocketsPerIdentity: options.feed.maxSocketsPerIdentity
    },
    idempotency: { ...options.idempotency, ...(shared.idempotency === undefined ? {} : { store: shared.idempotency }) },
    rateLimit: options.rateLimit,
    ...(shared.distributed ? { sharedState: shared } : {}),
    ...(metrics === undefined ? {} : { observer: metrics.apiObserver })
  })
}

export type { LoggedEventType }

export const fastifyAsteriskTransfer = fp(asteriskTransferPlugin, {
  name: 'fastify-asterisk-transfer',
  fastify: '5.x'
})
