/** `npm run example`: starts the example app against the Asterisk configured in the environment / `.env`. */
import { existsSync } from 'node:fs'
import { buildApp } from './app.js'
import { ConfigError, readConfig } from './config.js'

if (existsSync('.env')) process.loadEnvFile('.env')

try {
  const config = readConfig(process.env)
  const app = await buildApp(config)
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => { void app.close().then(() => process.exit(0)) })
  }
  await app.listen({ port: config.port, host: config.host })
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\nSee .env.example for every variable.\n`)
    process.exit(2)
  }
  throw error
}
