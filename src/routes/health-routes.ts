/**
 * Liveness and readiness for load balancers and orchestrators, on the host app outside the API's prefix
 * and its authentication (probes carry no credentials), like the metrics route:
 * - live: the process serves requests (200 as long as it answers at all); restart it when it does not;
 * - ready: this instance can take transfers now: AMI and ARI connected, the shared state (Redis, when
 *   configured) reachable, and the call monitor in step with Asterisk. 503 otherwise, with what is missing:
 *   send it no softphones meanwhile.
 */
import type { FastifyInstance, FastifySchema } from 'fastify'

export interface Readiness {
  ami: boolean
  ari: boolean
  /** Omitted without a shared state. */
  redis?: boolean
  /** The Redis master(s) in use (`host:port`; a cluster's every master): after a failover, the promoted one. */
  redisMasters?: string[]
  /** The call monitor mirrors Asterisk's calls (rebuilt after every reconnect). */
  calls: boolean
}

export interface HealthRoutesOptions {
  livePath: string | false
  readyPath: string | false
  readiness: () => Readiness
}

export function serveHealth (fastify: FastifyInstance, { livePath, readyPath, readiness }: HealthRoutesOptions): void {
  const schema = { hide: true } as FastifySchema
  if (livePath !== false) fastify.get(livePath, { schema, logLevel: 'warn' }, async () => ({ live: true }))
  if (readyPath !== false) {
    fastify.get(readyPath, { schema, logLevel: 'warn' }, async (_request, reply) => {
      const state = readiness()
      const ready = state.ami && state.ari && state.calls && state.redis !== false
      return await reply.code(ready ? 200 : 503).send({ ready, ...state })
    })
  }
}
