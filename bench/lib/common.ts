// What every benchmark shares: the machine it ran on, a heap measured after garbage collection,
// percentiles, and one results format (bench/results/<name>.json and .md) with the targets met or missed.
import { readFileSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'

export interface Machine {
  cpus: number
  cpuModel: string
  memoryGiB: number
  node: string
}

/** One target of the issue, and whether this run met it. */
export interface TargetCheck {
  name: string
  target: string
  measured: string
  met: boolean
}

export interface BenchResult {
  benchmark: string
  date: string
  machine: Machine
  settings: Record<string, unknown>
  /** The numbers, one row per size or variant measured side by side in this run. */
  rows: Array<Record<string, number | string>>
  /** Ratios between rows of this run: meaningful even on a noisy machine. */
  ratios: Record<string, number>
  targets: TargetCheck[]
  /** What the numbers mean, for the tables. */
  notes: string[]
}

export function machine (): Machine {
  return { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '?', memoryGiB: round(totalmem() / 2 ** 30), node: process.version }
}

export function round (value: number, digits = 2): number {
  const scale = 10 ** digits
  return Math.round(value * scale) / scale
}

/** `p` in [0, 1] of values sorted ascending. */
export function percentile (sorted: ArrayLike<number>, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN
}

const gc = (globalThis as { gc?: () => void }).gc

export function requireGc (): () => void {
  if (gc === undefined) throw new Error('run with node --expose-gc (npm run bench does)')
  return gc
}

/** The heap once garbage is gone; pauses let finalizers (sockets, weak refs) run between collections. */
export async function heapUsed (): Promise<number> {
  const collect = requireGc()
  for (let round = 0; round < 3; round++) {
    collect()
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return process.memoryUsage().heapUsed
}

export interface ThreadTimes {
  /** Time the thread ran on a core. */
  cpuMs: number
  /** Time the thread was ready to run but waited for a core (taken by other processes). */
  waitingMs: number
}

/**
 * The calling thread's scheduler times, from Linux's /proc/thread-self/schedstat (nanoseconds); undefined
 * elsewhere. On a machine shared with other jobs, wall-clock latency includes the time a thread waited
 * for a core: these two numbers tell the work from the wait.
 */
export function threadTimes (): ThreadTimes | undefined {
  try {
    const [cpu = Number.NaN, waiting = Number.NaN] = readFileSync('/proc/thread-self/schedstat', 'utf8').trim().split(' ').map(Number)
    return { cpuMs: cpu / 1e6, waitingMs: waiting / 1e6 }
  } catch {
    return undefined
  }
}

/** A correctness check inside a benchmark: failing it fails the benchmark (exit code), a missed target does not. */
export function check (condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`correctness check failed: ${message}`)
}

export function table (rows: Array<Record<string, number | string>>): string {
  const first = rows[0]
  if (first === undefined) return '(no rows)'
  const columns = Object.keys(first)
  return [
    `| ${columns.join(' | ')} |`,
    `| ${columns.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${columns.map((column) => String(row[column] ?? '')).join(' | ')} |`)
  ].join('\n')
}

export function targetTable (targets: TargetCheck[]): string {
  return table(targets.map(({ name, target, measured, met }) => ({ target: name, wanted: target, measured, result: met ? 'met' : 'MISSED' })))
}

export function markdownOf (result: BenchResult, title: string): string {
  return [
    `# ${title}`,
    '',
    `${result.date}, ${result.machine.cpus} × ${result.machine.cpuModel}, Node ${result.machine.node}`,
    '',
    ...result.notes.flatMap((note) => [note, '']),
    table(result.rows),
    '',
    Object.keys(result.ratios).length === 0 ? '' : `Ratios: ${Object.entries(result.ratios).map(([name, value]) => `${name} ${value}`).join(', ')}.`,
    '',
    targetTable(result.targets),
    ''
  ].join('\n')
}

/** Writes bench/results/<benchmark>.json and .md and prints the markdown. */
export function writeResult (result: BenchResult, title: string): void {
  const results = new URL('../results/', import.meta.url)
  const markdown = markdownOf(result, title)
  writeFileSync(new URL(`${result.benchmark}.json`, results), `${JSON.stringify(result, null, 2)}\n`)
  writeFileSync(new URL(`${result.benchmark}.md`, results), markdown)
  process.stdout.write(`\n${markdown}`)
}

export function newResult (benchmark: string, settings: Record<string, unknown>): BenchResult {
  return { benchmark, date: new Date().toISOString(), machine: machine(), settings, rows: [], ratios: {}, targets: [], notes: [] }
}
