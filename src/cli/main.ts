#!/usr/bin/env node
/**
 * `fastify-asterisk-transfer`: the plugin's command-line tool. Reads the command line (arguments.ts),
 * the servers to talk to (environment.ts), and runs `check` (on each) or `transfer` (on one). Exit status: 0 success,
 * 1 a check or the transfer failed, 2 wrong usage or configuration.
 */
import { readFileSync } from 'node:fs'
import { parseCommandLine, UsageError, type Command } from './arguments.js'
import { ConfigError, loadEnvironment, readPool, serverForTransfer, serversToCheck, type ConnectionSettings } from './environment.js'
import { detectStyle, errorLines, Printer } from './output.js'

const out = new Printer(process.stdout, detectStyle(process.stdout, process.env))
const err = new Printer(process.stderr, detectStyle(process.stderr, process.env))

function version (): string {
  // package.json is two levels up both from src/cli (tsx) and from dist/cli (the installed bin).
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

/** The servers of the pool: from the environment, before anything connects. */
function poolFor (command: { envFile?: string }): ConnectionSettings[] {
  return readPool(loadEnvironment(process.env, command.envFile, process.cwd()))
}

async function run (command: Command): Promise<number> {
  switch (command.name) {
    case 'help':
      out.line(command.text)
      return 0
    case 'version':
      out.line(version())
      return 0
    // Loaded on demand: the Asterisk client libraries take a while to load, and --help should not wait.
    case 'check':
      return await (await import('./check.js')).runCheck(serversToCheck(poolFor(command), command.server), out)
    case 'transfer':
      return await (await import('./transfer.js')).runTransfer(command, serverForTransfer(poolFor(command), command.server), { out, err })
  }
}

async function main (): Promise<number> {
  try {
    return await run(parseCommandLine(process.argv.slice(2)))
  } catch (error) {
    if (error instanceof UsageError) {
      err.lines(errorLines(error.message, error.hint, err.style))
      return 2
    }
    if (error instanceof ConfigError) {
      err.lines(errorLines(error.message, 'set the variables in the environment or in .env (see --help; --env-file names another file)', err.style))
      return 2
    }
    throw error
  }
}

// Ctrl-C while waiting: stop drawing, say what is left behind, and leave. Asterisk keeps the calls as
// they are; the connections close with the process.
process.once('SIGINT', () => {
  out.done()
  err.line('interrupted: Asterisk keeps the calls as they are now')
  process.exit(130)
})

const status = await main()
// Every connection is closed by now; exiting explicitly also ends what a library may have left open
// (ari-client's HTTP agent), so the tool never hangs after printing its result.
process.exit(status)
