/** The reference host app: a Fastify server that registers the plugin with bearer-token identities. */
import Fastify, { type FastifyInstance } from 'fastify'
import asteriskTransfer from '../src/index.js'
import { bearerAuthenticate } from './auth-tokens.js'
import type { ExampleConfig } from './config.js'

export async function buildApp (config: ExampleConfig, logger: boolean | object = { level: config.logLevel }): Promise<FastifyInstance> {
  const app = Fastify({ logger })
  await app.register(asteriskTransfer, {
    ami: config.ami,
    ari: config.ari,
    transferContext: config.transferContext,
    authenticate: bearerAuthenticate(config.tokens)
  })
  app.get('/health', async () => ({ status: 'ok', asterisk: app.asteriskTransfers.connectionState() }))
  return app
}
