// Runs the benchmarks, each in its own process (a clean heap, no JIT state shared), and writes
// bench/results/summary.md: every target, met or missed. Exits non-zero when a benchmark fails (a
// correctness check inside it, or a crash), never because a target was missed.
//
//   npm run bench                  every benchmark that needs no Asterisk
//   npm run bench -- ingest lookup  only these
//   npm run bench -- lookup-ari     on the real PBX (the test bed; see bench/README.md)
//   npm run bench -- failover       Redis failovers (Sentinel, Cluster), by name only
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import type { BenchResult } from './lib/common.js'
import { machine, targetTable } from './lib/common.js'

/** Benchmarks run by default: none needs Asterisk. */
const DEFAULT = ['lookup', 'route', 'ingest', 'pool', 'feed-fanout', 'memory', 'shared-state']
/** On the real test bed: run by name only. */
const ON_THE_PBX = ['lookup-ari', 'transfer-pbx', 'transfer-pool', 'recall-front']
/** Run by name only: Redis failovers caused on purpose (several minutes; starts Sentinel and a cluster). */
const BY_NAME = ['failover']

const asked = process.argv.slice(2)
const names = asked.length === 0 ? DEFAULT : asked
const unknown = names.filter((name) => ![...DEFAULT, ...ON_THE_PBX, ...BY_NAME].includes(name))
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; known: ${[...DEFAULT, ...ON_THE_PBX, ...BY_NAME].join(', ')}\n`)
  process.exit(2)
}

const failed: string[] = []
for (const name of names) {
  process.stdout.write(`\n=== ${name}\n`)
  const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', new URL(`./${name}.ts`, import.meta.url).pathname], { stdio: 'inherit' })
  if (run.status !== 0) failed.push(`${name} (exit ${run.status ?? run.signal})`)
}

// The summary covers every benchmark with results, from this run or an earlier one (dated).
const results = [...DEFAULT, ...ON_THE_PBX]
  .map((name) => new URL(`./results/${name}.json`, import.meta.url))
  .filter((file) => existsSync(file))
  .map((file) => JSON.parse(readFileSync(file, 'utf8')) as BenchResult)
  .filter((result) => Array.isArray(result.targets))
const { cpus, cpuModel, node } = machine()
const summary = [
  '# Benchmark summary',
  '',
  `Last written ${new Date().toISOString()} on ${cpus} × ${cpuModel}, Node ${node}. Each benchmark's own page has its numbers and method.`,
  '',
  ...results.flatMap((result) => [`## ${result.benchmark} (${result.date})`, '', targetTable(result.targets), ''])
].join('\n')
writeFileSync(new URL('./results/summary.md', import.meta.url), summary)
process.stdout.write(`\n${summary}`)
if (failed.length > 0) {
  process.stderr.write(`\nFAILED: ${failed.join(', ')}\n`)
  process.exit(1)
}
