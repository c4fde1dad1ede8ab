/**
 * The reference host app: a Fastify server that registers the plugin with bearer-token identities, its
 * OpenAPI description (/docs) and the agent console (/).
 */
import Fastify, { type FastifyInstance } from 'fastify'
import Type from 'typebox'
import asteriskTransfer, { logRedaction } from '../src/index.js'
import { bearerAuthenticate } from './auth-tokens.js'
import type { ExampleConfig } from './config.js'
import { agentConsole, type ConsoleOptions } from './console.js'
import { registerOpenApi } from './openapi.js'

const Health = Type.Object({
  status: Type.Literal('ok'),
  asterisk: Type.Object({ ami: Type.Boolean(), ari: Type.Boolean() })
}, { additionalProperties: false })

/** The plugin's `redis` option from whichever of REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES is set. */
function redisOf (config: ExampleConfig): { redis?: string | { sentinels: Array<{ host: string, port: number }>, name: string } | { cluster: Array<{ host: string, port: number }> } } {
  if (config.redisSentinel !== undefined) return { redis: config.redisSentinel }
  if (config.redisCluster !== undefined) return { redis: { cluster: config.redisCluster } }
  return config.redisUrl === undefined ? {} : { redis: config.redisUrl }
}

export interface BuildAppOptions {
  /** Fastify's logger option; default: pino at the configured level, with the plugin's redaction. */
  logger?: boolean | object
  console?: Omit<ConsoleOptions, 'authenticate'>
}

export async function buildApp (config: ExampleConfig, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  // logRedaction: the feed's ?token=, bearer headers and credentials in URLs never reach a log line.
  const app = Fastify({ logger: options.logger ?? { level: config.logLevel, ...logRedaction } })
  const authenticate = bearerAuthenticate(config.tokens)
  try {
    // The OpenAPI document is built from the routes registered after it.
    await registerOpenApi(app)
    // Before the plugin: a console that cannot be served stops the start before Asterisk is dialed.
    await app.register(agentConsole, { ...options.console, authenticate })
    await app.register(asteriskTransfer, {
      // ASTERISK_SERVERS, or the one server of AMI_* and ARI_*: a pool either way.
      servers: config.servers,
      transferContext: config.transferContext,
      authenticate,
      // Prometheus scrapes GET /metrics (counts only, no call data; put it behind the network's rules).
      metrics: true,
      // TRANSFER_DESTINATIONS; and queue reports count transfers of queue calls (QUEUE_LOG, on by default).
      destinations: config.destinations,
      queueLog: config.queueLog,
      // A call recorded on the agent's leg stays recorded when the customer is transferred (FOLLOW_RECORDINGS, on by default).
      followRecordings: config.followRecordings,
      ...(config.agents === undefined ? {} : { agents: config.agents.map((extension) => ({ extension })) }),
      // Several instances behind a load balancer share transfers, idempotency keys and the feed there.
      ...redisOf(config)
    })
    app.get('/health', {
      schema: {
        operationId: 'getHealth',
        summary: 'Liveness, and whether AMI and ARI are connected',
        security: [],
        response: { 200: Health }
      }
    }, async () => ({ status: 'ok' as const, asterisk: app.asteriskTransfers.connectionState() }))
  } catch (error) {
    // Whatever was opened (AMI, ARI, their retries) is closed, or it would keep the process alive.
    await app.close().catch(() => {})
    throw error
  }
  return app
}
