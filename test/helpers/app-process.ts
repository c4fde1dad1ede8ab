// One instance of the example app as its own process, as a deployment runs it, on the test bed's PBX:
// several of them behind one address is what a load balancer sees. Its output goes to a log file
// (test-artifacts/app-<name>-<port>.log) that failure messages quote. It can be killed (SIGKILL, as a
// crash or an OOM kill: no close hooks run), stopped (SIGTERM, as a deploy does) and started again on
// the same port.
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { agentToken, authTokens, supervisorToken } from '../example-app/fixtures/config.js'
import { agents, offlineAgent, repoRoot, testbedEnvironment } from './asterisk/testbed.js'
import { freePort } from './free-port.js'

export interface AppOptions {
  /** Told apart in messages and log files ('A', 'B'). */
  name: string
  /** REDIS_URL; unset: the app keeps its state in memory. */
  redisUrl?: string
  /** More environment (or overrides). */
  env?: Record<string, string>
  /** How long a start may take until the app is ready (default 60 s: tsx compiles on a busy machine). */
  readyTimeoutMs?: number
}

export interface AppResponse {
  statusCode: number
  headers: Record<string, string>
  body: string
  json: () => any
}

export interface AppRequest {
  method: 'GET' | 'POST' | 'DELETE'
  url: string
  payload?: unknown
  headers?: Record<string, string>
}

export interface AppProcess {
  readonly name: string
  readonly port: number
  /** http://127.0.0.1:<port> */
  readonly baseUrl: string
  readonly logFile: string
  /** The current process's id (a restart changes it). */
  pid: () => number
  running: () => boolean
  /** Sends a request as an agent ('101') or the supervisor ('super'), with that one's bearer token. */
  as: (who: string, request: AppRequest) => Promise<AppResponse>
  /** The token of an agent ('101') or of the supervisor ('super'), e.g. for the feed. */
  tokenOf: (who: string) => string
  /** GET /health/ready's status code (0 when nothing answers). */
  readiness: () => Promise<number>
  /** SIGKILL: no close hooks, no goodbye to Asterisk, Redis or the feed's clients. Resolves once it exited. */
  kill: () => Promise<void>
  /** SIGTERM: the app closes itself; resolves with its exit code once it exited. */
  stop: () => Promise<number | null>
  /** Starts it again on the same port (after kill or stop) and waits until it is ready. */
  restart: () => Promise<void>
  /** The last lines of its output. */
  logTail: (lines?: number) => string
}

export const tokenOf = (who: string): string => who === 'super' ? supervisorToken : agentToken(who)

/**
 * `GET /health/ready`'s status code, 0 when nothing answers: 200 once AMI, ARI and Redis are connected
 * and the calls known, as a load balancer asks.
 */
async function readinessOf (baseUrl: string): Promise<number> {
  try {
    const response = await fetch(`${baseUrl}/health/ready`, { signal: AbortSignal.timeout(2000) })
    await response.body?.cancel()
    return response.status
  } catch {
    return 0
  }
}

/** Starts an instance of the example app on a free port and resolves once it is ready. */
export async function startApp (options: AppOptions): Promise<AppProcess> {
  const port = await freePort()
  const baseUrl = `http://127.0.0.1:${port}`
  const logDir = join(repoRoot, 'test-artifacts')
  mkdirSync(logDir, { recursive: true })
  const logFile = join(logDir, `app-${options.name}-${port}.log`)
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000
  const env = {
    ...process.env,
    ...testbedEnvironment(),
    AUTH_TOKENS: authTokens,
    AGENT_EXTENSIONS: [...agents, offlineAgent].join(','),
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    ...(options.redisUrl === undefined ? {} : { REDIS_URL: options.redisUrl }),
    ...options.env
  }
  let child: ChildProcess | undefined
  let exited: Promise<number | null> = Promise.resolve(null)

  const logTail = (lines = 30): string => {
    try { return readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n') } catch { return '(no log)' }
  }
  const running = (): boolean => child !== undefined && child.exitCode === null && child.signalCode === null

  const launch = async (): Promise<void> => {
    const fd = openSync(logFile, 'a')
    writeSync(fd, `\n===== ${new Date().toISOString()} starting app ${options.name} on port ${port} =====\n`)
    const started = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'example-app', 'server.ts')], {
      cwd: repoRoot,
      env,
      stdio: ['ignore', fd, fd]
    })
    closeSync(fd)
    child = started
    exited = new Promise((resolve) => { started.once('exit', (code) => resolve(code)) })
    const deadline = Date.now() + readyTimeoutMs
    while (await readinessOf(baseUrl) !== 200) {
      if (!running()) throw new Error(`app ${options.name} exited at start (${String(started.exitCode ?? started.signalCode)}); ${logFile}:\n${logTail()}`)
      if (Date.now() > deadline) {
        started.kill('SIGKILL')
        throw new Error(`app ${options.name} not ready within ${readyTimeoutMs} ms; ${logFile}:\n${logTail()}`)
      }
      await sleep(100)
    }
  }

  // A test process that dies without its teardown must not leave the app behind.
  process.on('exit', () => { if (running()) child?.kill('SIGKILL') })
  await launch()

  return {
    name: options.name,
    port,
    baseUrl,
    logFile,
    pid: () => child?.pid ?? 0,
    running,
    tokenOf,
    as: async (who, request) => {
      const response = await fetch(`${baseUrl}${request.url}`, {
        method: request.method,
        headers: {
          authorization: `Bearer ${tokenOf(who)}`,
          ...(request.payload === undefined ? {} : { 'content-type': 'application/json' }),
          ...request.headers
        },
        body: request.payload === undefined ? undefined : JSON.stringify(request.payload),
        signal: AbortSignal.timeout(30_000)
      })
      const body = await response.text()
      const headers: Record<string, string> = {}
      response.headers.forEach((value, name) => { headers[name] = value })
      return { statusCode: response.status, headers, body, json: () => JSON.parse(body) }
    },
    readiness: async () => await readinessOf(baseUrl),
    kill: async () => {
      if (!running()) return
      child?.kill('SIGKILL')
      await exited
    },
    stop: async () => {
      if (!running()) return await exited
      child?.kill('SIGTERM')
      return await exited
    },
    restart: async () => {
      if (running()) throw new Error(`app ${options.name} is still running; stop or kill it first`)
      await launch()
    },
    logTail
  }
}
