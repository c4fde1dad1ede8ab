/** The scrape route of the plugin's metrics. */
import type { FastifyInstance, FastifySchema } from 'fastify'
import type { TransferMetrics } from './transfer-metrics.js'

/**
 * `GET <path>` on the host app, outside the API's prefix and authentication, as Prometheus scrapes:
 * counts only, no call or customer data. Hidden from API descriptions (it is not for API clients).
 */
export function serveMetrics (fastify: FastifyInstance, path: string, metrics: TransferMetrics): void {
  fastify.get(path, { schema: { hide: true } as FastifySchema }, async (_request, reply) => {
    const { contentType, body } = await metrics.scrape()
    return await reply.type(contentType).send(body)
  })
}
