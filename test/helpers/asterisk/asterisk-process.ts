// Starts and stops the three chrooted Asterisk instances of the test bed (the PBX, the second PBX joined
// to it by a trunk, and the phone farm of both).
// Needs root. The instances run detached, so a tap `before` script can start them and exit.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs'
import { createConnection } from 'node:net'
import { basename, dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { amiAnswers, describeReadyState, isReady, readyState } from './readiness.js'
import { asteriskRoot, farm, logDir, pbx, pbx2, pbxes, provisionScript } from './testbed.js'
import type { InstanceName, InstanceSettings, PbxSettings } from './testbed.js'

export interface StartOptions {
  /** Run scripts/asterisk/provision.sh first (default true). */
  provision?: boolean
  /** Time allowed for provision.sh (a cold build downloads ~150 MB; default 15 min). */
  provisionTimeoutMs?: number
  /** Time allowed, after the processes start, for AMI, ARI and the agents' registrations (default 60 s). */
  readyTimeoutMs?: number
  /** Progress messages (default: none). */
  log?: (message: string) => void
  /**
   * Keep a test bed that is already running, healthy and started from the same configuration
   * (default false). Lets several test runs on one machine share it instead of restarting it under
   * each other; `reused` in the result says whether it was.
   */
  reuse?: boolean
}

export interface TestBedInfo {
  pbxPid: number
  pbx2Pid: number
  farmPid: number
  /** ms spent in provision.sh */
  provisionMs: number
  /** ms from spawning the instances to everything ready */
  readyMs: number
  /** ms for the whole startTestBed() */
  totalMs: number
  /** True when a running test bed was kept (see StartOptions.reuse). */
  reused: boolean
}

export interface AsteriskProcess {
  pid: number
  instance: InstanceName
  args: string[]
}

const noop = (): void => {}

// ------------------------------------------------------------------ processes

function rootPath (): string {
  try {
    return realpathSync(asteriskRoot)
  } catch {
    return asteriskRoot
  }
}

function threadState (path: string): string {
  const stat = readFileSync(path, 'utf8')
  // "pid (comm) S ..." — the state follows the last ')'.
  const i = stat.lastIndexOf(')')
  return stat.slice(i + 2, i + 3)
}

/**
 * True when the process no longer exists or is a zombie in every thread. (A thread-group
 * leader can be a zombie while other threads still run and hold the listening sockets.)
 */
function isZombieOrGone (pid: number): boolean {
  try {
    const tasks = readdirSync(`/proc/${pid}/task`)
    return tasks.every((tid) => {
      try {
        const st = threadState(`/proc/${pid}/task/${tid}/stat`)
        return st === 'Z' || st === 'X'
      } catch {
        return true
      }
    })
  } catch {
    return true
  }
}

/**
 * Asterisk server processes (not remote consoles) running chrooted in the test bed's root,
 * found through /proc/<pid>/root, so nothing else on the machine is ever touched.
 */
export function findAsteriskProcesses (): AsteriskProcess[] {
  const root = rootPath()
  const found: AsteriskProcess[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const pid = Number(entry)
    try {
      if (readlinkSync(`/proc/${pid}/root`) !== root) continue
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '')
      if (args.length === 0 || basename(args[0] ?? '') !== 'asterisk') continue
      if (args.some((a) => /^-[a-zA-Z]*[rR]/.test(a))) continue // remote console (-r, -rx, -R)
      if (isZombieOrGone(pid)) continue
      const c = args.indexOf('-C')
      const configFile = c >= 0 ? args[c + 1] : undefined
      const instance = [farm, pbx2].find((other) => other.configFile === configFile)?.name ?? 'pbx'
      found.push({ pid, instance, args })
    } catch {
      // process vanished or is not ours to read
    }
  }
  return found
}

interface RunResult { code: number | null, signal: NodeJS.Signals | null, output: string, timedOut: boolean }

async function run (cmd: string, args: string[], timeoutMs: number, logFile?: string): Promise<RunResult> {
  return await new Promise<RunResult>((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    let timedOut = false
    const fd = logFile !== undefined ? openSync(logFile, 'w') : undefined
    const onData = (b: Buffer): void => {
      output += b.toString('utf8')
      if (output.length > 200_000) output = output.slice(-100_000)
      if (fd !== undefined) writeSync(fd, b)
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL') }, timeoutMs)
    child.on('error', (err) => { clearTimeout(timer); if (fd !== undefined) closeSync(fd); reject(err) })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (fd !== undefined) closeSync(fd)
      resolve({ code, signal, output, timedOut })
    })
  })
}

function tail (text: string, lines = 30): string {
  return text.split('\n').slice(-lines).join('\n')
}

function logTail (instance: InstanceSettings, lines = 30): string {
  try {
    return tail(readFileSync(join(logDir, `${instance.name}.log`), 'utf8'), lines)
  } catch {
    return '(no log)'
  }
}

function instanceArgs (instance: InstanceSettings): string[] {
  return instance.name === 'pbx' ? [] : ['-C', instance.configFile]
}

async function waitGone (pids: number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (pids.every(isZombieOrGone)) return true
    await sleep(100)
  }
  return pids.every(isZombieOrGone)
}

function signal (pids: number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try { process.kill(pid, sig) } catch { /* already gone */ }
  }
}

/** Stops one instance: `core stop now` through its control socket, then SIGTERM, then SIGKILL. */
async function stopInstance (instance: InstanceSettings, log: (m: string) => void): Promise<void> {
  const root = rootPath()
  const pids = () => findAsteriskProcesses().filter((p) => p.instance === instance.name).map((p) => p.pid)
  const ctl = join(root, instance.runDir, 'asterisk.ctl')
  let running = pids()
  if (running.length > 0 && existsSync(ctl)) {
    const t0 = Date.now()
    const r = await run('chroot', [root, 'asterisk', ...instanceArgs(instance), '-rx', 'core stop now'], 10_000)
    if (r.code !== 0) log(`${instance.name}: 'core stop now' exited ${String(r.code ?? r.signal)}: ${r.output.trim()}`)
    // Now and then Asterisk 22 hangs in its last exit handlers after "Executing last minute
    // cleanups"; do not wait long for it, SIGTERM ends it.
    if (!await waitGone(running, 4_000)) log(`${instance.name}: still running ${Date.now() - t0} ms after 'core stop now'`)
    running = pids()
  }
  if (running.length > 0) {
    log(`${instance.name}: SIGTERM ${running.join(' ')}`)
    signal(running, 'SIGTERM')
    await waitGone(running, 3_000)
    running = pids()
  }
  if (running.length > 0) {
    log(`${instance.name}: SIGKILL ${running.join(' ')}`)
    signal(running, 'SIGKILL')
    if (!await waitGone(running, 5_000)) throw new Error(`could not stop Asterisk ${instance.name} (pids ${running.join(' ')})`)
  }
  // A stale control socket makes the next start refuse with "already running".
  for (const f of ['asterisk.ctl', 'asterisk.pid']) {
    rmSync(join(root, instance.runDir, f), { force: true })
  }
}

/**
 * Starts one instance detached, its console appended to .asterisk/logs/<name>.log; `onExit` hears of
 * its end (or a failure to start). Returns its pid.
 */
function launchInstance (instance: InstanceSettings, root: string, onExit: (why: string) => void): number {
  const logFile = join(logDir, `${instance.name}.log`)
  // Append (earlier runs' shutdowns stay readable), starting afresh past 5 MB.
  const fd = openSync(logFile, existsSync(logFile) && statSync(logFile).size > 5_000_000 ? 'w' : 'a')
  writeSync(fd, `\n===== ${new Date().toISOString()} starting ${instance.name} =====\n`)
  const child = spawn('chroot', [root, 'asterisk', '-f', '-n', '-vvv', '-U', 'asterisk', '-G', 'asterisk', ...instanceArgs(instance)], {
    detached: true,
    stdio: ['ignore', fd, fd]
  })
  closeSync(fd)
  child.on('error', (err) => { onExit(`${instance.name}: ${err.message}`) })
  child.on('exit', (code, sig) => { onExit(`${instance.name} exited (${String(code ?? sig)})`) })
  child.unref()
  return child.pid ?? 0
}

// --------------------------------------------------------------------- ports

async function portAnswers (port: number): Promise<boolean> {
  return await new Promise<boolean>((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port })
    const done = (v: boolean): void => { s.destroy(); resolve(v) }
    s.setTimeout(500, () => done(false))
    s.once('connect', () => done(true))
    s.once('error', () => done(false))
  })
}

// ------------------------------------------------------------------ start/stop

/**
 * Provisions the root (unless provision: false), stops instances left by an earlier run, starts both
 * PBXes and then the farm, and resolves once the test bed is ready (readiness.ts): every AMI and ARI
 * answers, agents 101..106, 201 and 202 are `online` on the PBX, 301..304, 391 and 392 on the second.
 */
export async function startTestBed (opts: StartOptions = {}): Promise<TestBedInfo> {
  const log = opts.log ?? noop
  const t0 = Date.now()
  if (process.getuid?.() !== 0) throw new Error('startTestBed: must run as root (chroot)')
  mkdirSync(logDir, { recursive: true })
  if (opts.reuse === true) {
    const running = await runningTestBed()
    if (running !== undefined) {
      log('reusing the running test bed (same configuration, healthy)')
      return { ...running, provisionMs: 0, readyMs: 0, totalMs: Date.now() - t0, reused: true }
    }
  }

  // Stop what an earlier run left behind before touching the root or its configuration.
  await stopTestBed({ log })

  const tp = Date.now()
  if (opts.provision ?? true) {
    log(`provisioning ${asteriskRoot}`)
    const r = await run('bash', [provisionScript], opts.provisionTimeoutMs ?? 15 * 60_000, join(logDir, 'provision.log'))
    if (r.code !== 0) {
      throw new Error(`provision.sh ${r.timedOut ? 'timed out' : `failed (${String(r.code ?? r.signal)})`}; ` +
        `see .asterisk/logs/provision.log:\n${tail(r.output)}`)
    }
  }
  const provisionMs = Date.now() - tp

  for (const port of [...pbxes.flatMap((server) => [server.ami.port, Number(new URL(server.ari.url).port)]), farm.ami.port]) {
    // Give a just-stopped instance a moment to release its sockets.
    const deadline = Date.now() + 5000
    while (await portAnswers(port)) {
      if (Date.now() > deadline) {
        throw new Error(`startTestBed: 127.0.0.1:${port} is in use by a process that is not this test bed's Asterisk ` +
          `(no Asterisk is running chrooted in ${asteriskRoot})`)
      }
      await sleep(200)
    }
  }

  const root = rootPath()
  // Asterisk keeps registrations (and queue pauses) in its astdb across restarts: the PBX would start
  // with the farm's old contacts, look ready at once, and then drop them when the farm registers anew,
  // failing calls placed in that window. Every start begins from an empty astdb.
  for (const dbDir of ['/var/lib/asterisk', '/var/lib/asterisk-pbx2', '/var/lib/asterisk-farm']) {
    rmSync(join(root, dbDir, 'astdb.sqlite3'), { force: true })
  }
  const t1 = Date.now()
  const timeoutMs = opts.readyTimeoutMs ?? 60_000
  const deadline = t1 + timeoutMs
  const exits: string[] = []
  const pids: Record<InstanceName, number> = { pbx: 0, pbx2: 0, farm: 0 }
  const launch = (instance: InstanceSettings): void => {
    pids[instance.name] = launchInstance(instance, root, (why) => { exits.push(why) })
    log(`started ${instance.name} pid ${String(pids[instance.name])}`)
  }
  const fail = async (message: string): Promise<never> => {
    await stopTestBed({ log }).catch(noop)
    throw new Error(message)
  }
  const exited = async (): Promise<void> => {
    if (exits.length === 0) return
    const inst = [farm, pbx2, pbx].find((instance) => exits.some((e) => e.startsWith(instance.name))) ?? pbx
    await fail(`startTestBed: ${exits.join('; ')}. Last lines of .asterisk/logs/${inst.name}.log:\n${logTail(inst)}`)
  }

  // The PBXes first (together), then the farm: its registrations succeed at their first attempt.
  for (const server of pbxes) launch(server)
  for (const server of pbxes) {
    while (!await amiAnswers(server)) {
      await exited()
      if (Date.now() > deadline) {
        await fail(`startTestBed: ${server.name} AMI ${server.ami.host}:${server.ami.port} not answering after ${timeoutMs} ms. ` +
          `Last lines of .asterisk/logs/${server.name}.log:\n${logTail(server)}`)
      }
      await sleep(100)
    }
  }
  launch(farm)

  let state = await readyState()
  while (!isReady(state)) {
    await exited()
    if (Date.now() > deadline) {
      await fail(`startTestBed: test bed not ready after ${timeoutMs} ms:\n  ${describeReadyState(state)}\n` +
        [pbx, pbx2, farm].map((instance) => `${instance.name} log (.asterisk/logs/${instance.name}.log):\n${logTail(instance, 15)}`).join('\n'))
    }
    await sleep(100)
    state = await readyState()
  }
  const now = Date.now()
  log(`test bed ready in ${now - t1} ms (total ${now - t0} ms)`)
  writeFileSync(fingerprintFile, configFingerprint())
  return { pbxPid: pids.pbx, pbx2Pid: pids.pbx2, farmPid: pids.farm, provisionMs, readyMs: now - t1, totalMs: now - t0, reused: false }
}

/** Where startTestBed records the configuration the running instances were started from. */
const fingerprintFile = join(logDir, 'running-config.sha256')

/** A hash of everything provision.sh installs: a running test bed is only reused if it matches. */
function configFingerprint (): string {
  const hash = createHash('sha256')
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else hash.update(path).update(readFileSync(path))
    }
  }
  walk(dirname(provisionScript))
  return hash.digest('hex')
}

/** The running test bed's pids, if every instance runs, answers, and was started from this configuration. */
async function runningTestBed (): Promise<{ pbxPid: number, pbx2Pid: number, farmPid: number } | undefined> {
  const processes = findAsteriskProcesses()
  const pbxPid = processes.find((p) => p.instance === 'pbx')?.pid
  const pbx2Pid = processes.find((p) => p.instance === 'pbx2')?.pid
  const farmPid = processes.find((p) => p.instance === 'farm')?.pid
  if (pbxPid === undefined || pbx2Pid === undefined || farmPid === undefined) return undefined
  if (!existsSync(fingerprintFile) || readFileSync(fingerprintFile, 'utf8') !== configFingerprint()) return undefined
  return isReady(await readyState()) ? { pbxPid, pbx2Pid, farmPid } : undefined
}

/** Stops every instance (also ones left behind by an earlier run). Resolves when they are gone. */
export async function stopTestBed (opts: { log?: (message: string) => void } = {}): Promise<void> {
  const log = opts.log ?? noop
  if (!existsSync(asteriskRoot)) return
  // Farm first so its calls and registrations do not ring into a PBX going down; then both PBXes.
  await stopInstance(farm, log)
  await Promise.all(pbxes.map(async (server) => { await stopInstance(server, log) }))
  rmSync(fingerprintFile, { force: true })
}

// ------------------------------------------------------------- crash and restart

/**
 * Kills a PBX instance (the first by default, `killPbx(pbx2)` the second) with SIGKILL, as a crash or an
 * OOM kill would: no `core stop`, no BYE to the phones or over the trunk, no AMI goodbye (its clients see
 * the TCP connections reset). The phone farm and the other PBX keep running, with whatever calls they
 * had: they are dead on this PBX's side. Resolves with the killed pid once the process is gone and its
 * control socket removed, so `startPbx()` can follow at once.
 */
export async function killPbx (server: PbxSettings = pbx): Promise<number> {
  const running = findAsteriskProcesses().filter((p) => p.instance === server.name).map((p) => p.pid)
  if (running.length === 0) throw new Error(`killPbx: ${server.name} is not running`)
  signal(running, 'SIGKILL')
  if (!await waitGone(running, 5_000)) throw new Error(`killPbx: ${server.name} pids ${running.join(' ')} still running after SIGKILL`)
  const root = rootPath()
  for (const f of ['asterisk.ctl', 'asterisk.pid']) rmSync(join(root, server.runDir, f), { force: true })
  return running[0] as number
}

/**
 * Starts a PBX again (the first by default, `{ server: pbx2 }` the second) under the same configuration,
 * after `killPbx()` (the farm still running), and resolves with its pid once the test bed is ready as
 * `startTestBed` defines it: every AMI and ARI answers and each PBX's agents are `online` on it. The astdb is kept, as a real restart keeps it: the PBX
 * restores the agents' contacts from it, and they are right, since the farm's registrations are still
 * current (it refreshes them on its own schedule). Do not make the farm re-register here: AMI
 * PJSIPRegister first unregisters, which removes the restored contacts after they looked ready, and the
 * new REGISTER follows only at the farm's retry interval. Calls are gone: what the PBX had died with it.
 * Used by the fault tests (a crash with calls and transfers in progress); needs root, like startTestBed.
 */
export async function startPbx (opts: { server?: PbxSettings, readyTimeoutMs?: number, log?: (message: string) => void } = {}): Promise<number> {
  const log = opts.log ?? noop
  const server = opts.server ?? pbx
  if (findAsteriskProcesses().some((p) => p.instance === server.name)) throw new Error(`startPbx: ${server.name} is already running`)
  const timeoutMs = opts.readyTimeoutMs ?? 60_000
  const deadline = Date.now() + timeoutMs
  const exits: string[] = []
  const pid = launchInstance(server, rootPath(), (why) => { exits.push(why) })
  log(`restarted ${server.name} pid ${pid}`)
  const failIfExited = (): void => {
    if (exits.length > 0) throw new Error(`startPbx: ${exits.join('; ')}. Last lines of .asterisk/logs/${server.name}.log:\n${logTail(server)}`)
  }
  while (!await amiAnswers(server)) {
    failIfExited()
    if (Date.now() > deadline) throw new Error(`startPbx: ${server.name} AMI not answering after ${timeoutMs} ms:\n${logTail(server)}`)
    await sleep(100)
  }
  let state = await readyState()
  while (!isReady(state)) {
    failIfExited()
    if (Date.now() > deadline) throw new Error(`startPbx: test bed not ready after ${timeoutMs} ms:\n  ${describeReadyState(state)}`)
    await sleep(100)
    state = await readyState()
  }
  return pid
}
