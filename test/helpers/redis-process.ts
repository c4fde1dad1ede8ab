// A private redis-server for tests that share state between several instances of the app: Debian's
// package, installed when missing (needs root, as the Asterisk test bed does), started on a free
// loopback port with no persistence, and stopped, killed or restarted on the same port on demand.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { freePort } from './free-port.js'

export const redisServerBinary = '/usr/bin/redis-server'
export const redisSentinelBinary = '/usr/bin/redis-sentinel'
export const redisCliBinary = '/usr/bin/redis-cli'
const binaries = [redisServerBinary, redisSentinelBinary, redisCliBinary]

async function run (command: string, args: string[]): Promise<{ code: number | null, output: string }> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
  let output = ''
  child.stdout.on('data', (chunk) => { output += String(chunk) })
  child.stderr.on('data', (chunk) => { output += String(chunk) })
  const [code] = await once(child, 'close') as [number | null]
  return { code, output }
}

/**
 * Installs Debian's redis-server, redis-sentinel (failover tests) and redis-tools (redis-cli, to create
 * a cluster) when a binary is missing. A fresh machine may have no package lists yet: a failed install
 * is retried once after `apt-get update`.
 */
export async function ensureRedisServer (log: (message: string) => void = () => {}): Promise<void> {
  if (binaries.every((binary) => existsSync(binary))) return
  if (process.getuid?.() !== 0) throw new Error(`${binaries.filter((binary) => !existsSync(binary)).join(', ')} missing and installing needs root: apt-get install redis-server redis-sentinel redis-tools`)
  log('installing redis-server, redis-sentinel and redis-tools')
  const install = ['install', '-y', '--no-install-recommends', 'redis-server', 'redis-sentinel', 'redis-tools']
  let result = await run('apt-get', install)
  if (result.code !== 0) {
    await run('apt-get', ['update'])
    result = await run('apt-get', install)
  }
  if (result.code !== 0 || !binaries.every((binary) => existsSync(binary))) {
    throw new Error(`apt-get install redis-server redis-sentinel redis-tools failed (${String(result.code)}):\n${result.output.split('\n').slice(-20).join('\n')}`)
  }
}

export interface RedisServer {
  readonly port: number
  /** Its working directory (a cluster node keeps its nodes.conf there). */
  readonly dir: string
  /** redis://127.0.0.1:<port> */
  readonly url: string
  /** The server's console output (removed when the test process exits). */
  readonly logFile: string
  /** True while the process runs. */
  running: () => boolean
  /** A new client of this server (it reconnects by itself); the caller disconnects it. */
  client: () => Redis
  flushAll: () => Promise<void>
  /** SIGTERM (a clean shutdown, nothing saved); resolves when the process has exited. */
  stop: () => Promise<void>
  /** SIGKILL, as a crash would: clients see their connections reset. Resolves when it has exited. */
  kill: () => Promise<void>
  /** Starts it again on the same port (after stop or kill), `args` added this time, and waits until it answers PING. */
  restart: (args?: string[]) => Promise<void>
  /** The last lines of its output. */
  logTail: (lines?: number) => string
}

async function answersPing (port: number): Promise<boolean> {
  const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 })
  probe.on('error', () => {})
  try {
    await probe.connect()
    return await probe.ping() === 'PONG'
  } catch {
    return false
  } finally {
    probe.disconnect()
  }
}

/**
 * Starts a redis-server of its own on a free loopback port (or `port`), empty, saving nothing to disk.
 * `args` are added to its command line (a replica's `--replicaof`, a cluster node's settings).
 */
export async function startRedis (opts: { port?: number, readyTimeoutMs?: number, args?: string[] } = {}): Promise<RedisServer> {
  await ensureRedisServer()
  const port = opts.port ?? await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'redis-test-'))
  // In its working directory, removed when the test process exits: failures quote its last lines.
  const logFile = join(dir, 'redis-server.log')
  const readyTimeoutMs = opts.readyTimeoutMs ?? 10_000
  let child: ChildProcess | undefined
  let exited: Promise<unknown> = Promise.resolve()

  const logTail = (lines = 20): string => {
    try { return readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n') } catch { return '(no log)' }
  }

  const launch = async (extraArgs: string[] = []): Promise<void> => {
    const fd = openSync(logFile, 'a')
    writeSync(fd, `\n===== ${new Date().toISOString()} starting redis-server on port ${port} =====\n`)
    const started = spawn(redisServerBinary, [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', ...(opts.args ?? []), ...extraArgs
    ], { stdio: ['ignore', fd, fd] })
    closeSync(fd)
    child = started
    exited = once(started, 'exit').catch(() => {})
    const deadline = Date.now() + readyTimeoutMs
    while (!await answersPing(port)) {
      if (started.exitCode !== null || started.signalCode !== null) throw new Error(`redis-server on port ${port} exited at start:\n${logTail()}`)
      if (Date.now() > deadline) {
        started.kill('SIGKILL')
        throw new Error(`redis-server on port ${port} did not answer PING within ${readyTimeoutMs} ms:\n${logTail()}`)
      }
      await sleep(50)
    }
  }

  const running = (): boolean => child !== undefined && child.exitCode === null && child.signalCode === null

  const end = async (signal: NodeJS.Signals): Promise<void> => {
    if (!running()) return
    child?.kill(signal)
    await exited
  }

  // A test process that ends without stopping it (or dies before its teardown) leaves nothing behind.
  process.on('exit', () => {
    if (running()) child?.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  })
  await launch()
  return {
    port,
    dir,
    url: `redis://127.0.0.1:${port}`,
    logFile,
    running,
    client: () => {
      const client = new Redis({ port, host: '127.0.0.1' })
      // Its commands still fail while the server is down; the event would only repeat that on stderr.
      client.on('error', () => {})
      return client
    },
    flushAll: async () => {
      const client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 })
      try { await client.flushall() } finally { client.disconnect() }
    },
    // redis-server answers SIGTERM with a clean shutdown (nothing saved: `--save ''`).
    stop: async () => { await end('SIGTERM') },
    kill: async () => { await end('SIGKILL') },
    restart: async (args) => {
      if (running()) throw new Error(`redis-server on port ${port} is still running; stop or kill it first`)
      await launch(args)
    },
    logTail
  }
}
