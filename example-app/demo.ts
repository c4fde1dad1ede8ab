/**
 * `npm run demo`: the example app on a real Asterisk in one command. With an Asterisk configured
 * (AMI_HOST or ASTERISK_SERVERS in the environment or `.env`) it is `npm run example`; without one it provisions and starts
 * the bundled Asterisk 22 test bed (PBX + phone farm on loopback), starts the example app on it, places
 * customer calls to a few agents and prints how to try a transfer. Ctrl-C stops everything it started.
 */
import { existsSync } from 'node:fs'
import { callAgent, hangupAllCalls } from '../test/helpers/asterisk/calls.js'
import { startTestBed, stopTestBed } from '../test/helpers/asterisk/asterisk-process.js'
import { testbedEnvironment } from '../test/helpers/asterisk/testbed.js'
import { buildApp } from './app.js'
import { ensureClientBuilt } from './client-build.js'
import { ConfigError, readConfig } from './config.js'
import type { DemoLogin } from './console.js'

if (existsSync('.env')) process.loadEnvFile('.env')

const say = (message: string): void => { process.stdout.write(`[demo] ${message}\n`) }
const isSet = (name: string): boolean => process.env[name] !== undefined && process.env[name] !== ''
const bundled = !isSet('AMI_HOST') && !isSet('ASTERISK_SERVERS')
/** The demo makes up its tokens unless AUTH_TOKENS is given; only made-up ones are listed on the console. */
const madeUpTokens = bundled && (process.env.AUTH_TOKENS === undefined || process.env.AUTH_TOKENS === '')

/** The environment of the example app when it runs on the bundled test bed. */
function bundledEnvironment (): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...testbedEnvironment(),
    AUTH_TOKENS: process.env.AUTH_TOKENS ?? ['101', '102', '103', '104', '105', '106'].map((ext) => `agent-${ext}-token:${ext}`).concat('supervisor-token:100:supervisor').join(','),
    // The bundled PBX's agents (107 is never registered); its customer endpoints are not agents.
    AGENT_EXTENSIONS: process.env.AGENT_EXTENSIONS ?? '101,102,103,104,105,106,107'
  }
}

async function main (): Promise<void> {
  if (bundled) {
    if (process.getuid?.() !== 0) {
      throw new ConfigError('No Asterisk is configured (neither AMI_HOST nor ASTERISK_SERVERS is set), and starting the bundled one needs root: run as root, or set AMI_HOST and friends, or ASTERISK_SERVERS (see .env.example).')
    }
    say('no Asterisk configured: provisioning and starting the bundled Asterisk 22 (first run downloads it from Debian, ~1 min)')
    const info = await startTestBed({ log: say })
    say(`Asterisk PBX and phone farm up in ${Math.round(info.totalMs / 1000)} s`)
  }
  const config = readConfig(bundled ? bundledEnvironment() : process.env)
  await ensureClientBuilt({ log: say })
  const demoLogins: DemoLogin[] = madeUpTokens ? [...config.tokens].map(([token, { extension, role }]) => ({ token, extension, role })) : []
  const app = await buildApp(config, { console: { demoLogins } })
  let stopping = false
  const stop = async (): Promise<void> => {
    if (stopping) return
    stopping = true
    say('stopping')
    await app.close()
    if (bundled) await stopTestBed({ log: say })
    process.exit(0)
  }
  process.once('SIGINT', () => { void stop() })
  process.once('SIGTERM', () => { void stop() })
  await app.listen({ port: config.port, host: config.host })
  const url = `http://${config.host}:${config.port}`
  if (bundled) {
    await hangupAllCalls()
    for (const [agent, customer] of [['101', 'customer1'], ['102', 'customer2']] as const) {
      const call = await callAgent(agent, customer)
      say(`customer call: ${call.customerChannel.name} <-> ${call.agentChannel.name}`)
    }
    say('try a blind transfer of agent 101\'s customer to 103:')
    say(`  curl -s -X POST ${url}/api/transfers/execute -H 'Authorization: Bearer agent-101-token' -H 'Content-Type: application/json' -d '{"targetExtension":"103","transferType":"blind"}'`)
  }
  say(`agent console: ${url}/${madeUpTokens ? ' (sign in as a demo agent, e.g. 101)' : ''}`)
  say(`API docs: ${url}/docs`)
  say(`example app listening on ${url} (Ctrl-C stops everything)`)
}

main().catch(async (error: unknown) => {
  if (error instanceof ConfigError) process.stderr.write(`[demo] ${error.message}\n`)
  else process.stderr.write(`[demo] failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
  if (bundled) await stopTestBed().catch(() => {})
  process.exit(1)
})
