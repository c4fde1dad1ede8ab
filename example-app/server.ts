/** `npm run example`: starts the example app against the Asterisk configured in the environment / `.env`. */
import { existsSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.js'
import { ConfigError, readConfig } from './config.js'

if (existsSync('.env')) process.loadEnvFile('.env')

/** How long the process may still run after close: past it, something was left open. */
const EXIT_GRACE_MS = 10_000

/**
 * Closes the app and lets the process end by itself: `close` releases everything (feed sockets with
 * 1001, AMI, ARI, timers), so no `process.exit` is needed, and none hides a leak. A watchdog, which does
 * not itself keep the process alive, reports one with exit code 1.
 */
function shutDown (app: FastifyInstance): void {
  setTimeout(() => {
    app.log.error(`still running ${EXIT_GRACE_MS} ms after close: a handle was left open`)
    process.exit(1)
  }, EXIT_GRACE_MS).unref()
  app.close().catch((error: unknown) => {
    app.log.error({ err: error }, 'close failed')
    process.exitCode = 1
  })
}

try {
  const config = readConfig(process.env)
  const app = await buildApp(config)
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => { shutDown(app) })
  }
  await app.listen({ port: config.port, host: config.host })
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\nSee .env.example for every variable.\n`)
    process.exit(2)
  }
  throw error
}
