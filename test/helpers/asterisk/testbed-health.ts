// Keeps the real-PBX test bed usable from one test file to the next: tap-each.ts checks it before each
// file and restarts it when it is down, so an Asterisk that dies in one file (Asterisk 22 once failed an
// assertion in CI, and every later file failed with it) fails that file only.
//
// A healthy bed costs one readiness look (readiness.ts: tens of ms, modules the tests load anyway);
// the processes' code (asterisk-process.ts) is loaded only when something is wrong: with tap's
// TypeScript loader every module a test file loads costs its compilation, in each file.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { describeReadyState, isReady, readyState } from './readiness.js'
import type { ReadyState } from './readiness.js'
import { logDir } from './testbed.js'
import type { InstanceName } from './testbed.js'

export interface TestBedHealth {
  healthy: boolean
  /** Which instances have a process. */
  running: Record<InstanceName, boolean>
  state: ReadyState
}

/** A full look at the test bed: its processes, every AMI and ARI, and the agents' registrations. */
export async function checkTestBed (): Promise<TestBedHealth> {
  const { findAsteriskProcesses } = await import('./asterisk-process.js')
  const processes = findAsteriskProcesses()
  const state = await readyState()
  const runs = (name: InstanceName): boolean => processes.some((p) => p.instance === name)
  return { healthy: isReady(state), running: { pbx: runs('pbx'), pbx2: runs('pbx2'), farm: runs('farm') }, state }
}

export function describeHealth (health: TestBedHealth): string {
  const processes = Object.entries(health.running).map(([name, running]) => `${name} process ${running ? 'running' : 'GONE'}`).join(', ')
  return `${processes}\n  ${describeReadyState(health.state)}`
}

export interface EnsureResult {
  /** none: healthy; settled: healthy again after a short wait; restarted: every instance afresh. */
  action: 'none' | 'settled' | 'restarted'
  /** What was wrong (empty when healthy). */
  why: string
  ms: number
}

/**
 * Set once a restart failed, so the files after it fail at once instead of each spending a minute on
 * a bed that does not come back; tap-before.ts clears it at the start of a run.
 */
export const gaveUpFile: string = join(logDir, 'restart-failed')

/**
 * Resolves once the test bed is healthy: at once when it is; after a short wait when every instance
 * runs but something is missing (an agent re-registering: the farm retries every 2 s); otherwise after
 * restarting every instance from a fresh copy of the configuration. Throws when it does not come back.
 */
export async function ensureTestBed (opts: { log?: (message: string) => void, settleMs?: number } = {}): Promise<EnsureResult> {
  const log = opts.log ?? (() => {})
  const t0 = Date.now()
  if (isReady(await readyState())) return { action: 'none', why: '', ms: Date.now() - t0 }

  let health = await checkTestBed()
  const first = describeHealth(health)
  if (Object.values(health.running).every(Boolean)) {
    const deadline = t0 + (opts.settleMs ?? 4000)
    while (!health.healthy && Date.now() < deadline) {
      await sleep(200)
      health = await checkTestBed()
    }
    if (health.healthy) return { action: 'settled', why: first, ms: Date.now() - t0 }
  }
  const why = describeHealth(health)

  if (existsSync(gaveUpFile)) {
    throw new Error(`the test bed is down and an earlier restart in this run failed (${readFileSync(gaveUpFile, 'utf8')}):\n  ${why}`)
  }
  log(`DOWN:\n  ${why}\n  restarting the whole test bed`)
  try {
    // Every instance, even those still running: a PBX started alone comes back with the agents'
    // contacts of its last astdb sync, which after a crash can miss most of them until the farm's next
    // refresh (measured: one agent of eight online 30 s after such a restart); the farm's calls to the
    // dead PBX go with it. startTestBed stops what still runs (a hung instance too), lays the
    // configuration afresh (what a test changed in it, say the load test's registrations, goes: ~1 s)
    // and starts them all: ~5 s in all.
    const { startTestBed } = await import('./asterisk-process.js')
    await startTestBed({ log })
    return { action: 'restarted', why, ms: Date.now() - t0 }
  } catch (err) {
    writeFileSync(gaveUpFile, err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err))
    throw err
  }
}

/** Clears the mark of a failed restart (a new run gets its own tries). */
export function forgetFailedRestart (): void {
  rmSync(gaveUpFile, { force: true })
}
