#!/usr/bin/env node
// Runs the suite with tap and ends with the line `N passed, N failed`.
//
// Without arguments it runs two phases: the unit tests (no Asterisk; two at a time) with code coverage,
// then the tests on the real Asterisk 22 test bed (one at a time, since they share the PBX; tap's
// `before` hook provisions and starts it), without. With arguments, one tap run of those files or
// folders; `--coverage` among them measures its coverage too. Every file run with the test bed on
// first checks it and restarts it when it is down (test/helpers/asterisk/tap-each.ts), so one Asterisk
// crash fails one file.
//
// Coverage is tap's own (V8's, reported through c8): a summary for the run and the figures of each
// folder, with no minimum to reach: it is for reading, not a gate. The real-PBX phase runs without it:
// its tests race a real Asterisk, and coverage slows every process.
//
// Counts each test (a `t.test` in a file) once; a file that fails outside any test (a crash, a
// timeout, a failing assertion at top level) counts as one failure more, and a skipped or todo test
// counts as failed, since a skip hides work not done.
import { spawn, spawnSync } from 'node:child_process'
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

/**
 * Test files run one at a time, in the second phase: those that need the real Asterisk test bed (or a
 * browser on it), and the Redis failover tests (Sentinel, Cluster), whose election and the store's recovery they
 * wait for missed their 30 s once when one ran beside another file under coverage on two cores.
 */
const ON_THE_PBX = /^test\/(integration|e2e|testbed)\/|^test\/harness\.test\.ts$|^test\/store\/redis-(sentinel|cluster-failover)\.test\.ts$/

function testFiles (dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return entry.name === 'helpers' || entry.name === 'fixtures' ? [] : testFiles(path)
    return entry.name.endsWith('.test.ts') ? [path] : []
  }).sort()
}

/** Loaded into each test file before it: the test bed's health check and restart. */
const EACH_FILE = `--node-arg=--import=${fileURLToPath(new URL('../test/helpers/asterisk/tap-each.ts', import.meta.url))}`

const TEST_POINT = /^( *)(not ok|ok) \d+ - (.*)$/

/**
 * tap's coverage, on: a summary, and the JSON the folders' figures are read from. Its minimums (100% by
 * default) are set to 0 rather than allowed to fail, so that a passing run prints no `ERROR` comments.
 */
const COVERAGE_ARGS = [
  '--no-disable-coverage', '--coverage-report=text-summary', '--coverage-report=json-summary',
  '--lines=0', '--branches=0', '--statements=0', '--functions=0'
]
const COVERAGE_SUMMARY = join('.tap', 'report', 'coverage-summary.json')

function runTap (args, env) {
  return new Promise((resolve) => {
    const counts = { passed: 0, failed: 0 }
    let failedInFile = 0
    const tap = spawn('npx', ['tap', '--reporter=tap', ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } })
    createInterface({ input: tap.stdout }).on('line', (line) => {
      process.stdout.write(`${line}\n`)
      const match = TEST_POINT.exec(line)
      if (match === null) return
      const [, indent, status, rest] = match
      const depth = indent.length / 4
      const skipped = / # (SKIP|TODO)\b/i.test(rest)
      if (depth === 1) {
        if (status === 'ok' && !skipped) counts.passed++
        else { counts.failed++; failedInFile++ }
      } else if (depth === 0) {
        if (status === 'not ok' && failedInFile === 0) counts.failed++
        failedInFile = 0
      }
    })
    tap.on('close', (code) => resolve({ ...counts, code: code ?? 1 }))
  })
}

/**
 * Builds the agent console's client (dist/client) now if it is stale, as the example app's tests would:
 * there, several test files at once would each run tsc under coverage, which makes tsc take about
 * twice as long, and pushed them past tap's timeout on a loaded machine.
 */
function buildClientOutsideCoverage () {
  const script = "await (await import('./example-app/client-build.ts')).ensureClientBuilt({ log: (m) => process.stderr.write(`# ${m}\\n`) })"
  const { status } = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], { stdio: ['ignore', 'inherit', 'inherit'] })
  if (status !== 0) process.stderr.write('# the client could not be built before the tests; the tests that need it will say why\n')
}

/** Lines and branches covered, per folder (`src/transfers`...), as comments of the TAP output. */
function printCoverageByFolder () {
  let summary
  try {
    summary = JSON.parse(readFileSync(COVERAGE_SUMMARY, 'utf8'))
  } catch {
    return
  }
  const folders = new Map()
  for (const [file, figures] of Object.entries(summary)) {
    if (file === 'total') continue
    const folder = dirname(relative(process.cwd(), file))
    const sum = folders.get(folder) ?? { lines: [0, 0], branches: [0, 0] }
    for (const kind of ['lines', 'branches']) {
      sum[kind][0] += figures[kind].covered
      sum[kind][1] += figures[kind].total
    }
    folders.set(folder, sum)
  }
  const percent = ([covered, total]) => `${total === 0 ? '100.00' : (100 * covered / total).toFixed(2)}% (${covered}/${total})`
  process.stdout.write('# coverage by folder: lines, branches\n')
  for (const [folder, sum] of [...folders].sort(([a], [b]) => a.localeCompare(b))) {
    process.stdout.write(`# ${folder.padEnd(24)} ${percent(sum.lines).padEnd(22)}${percent(sum.branches)}\n`)
  }
}

const argv = process.argv.slice(2)
const coverageAsked = argv.includes('--coverage')
const named = argv.filter((arg) => arg !== '--coverage')
const phases = named.length > 0
  ? [{ args: [...(process.env.TESTBED === 'off' ? [] : [EACH_FILE]), ...named], env: {}, coverage: coverageAsked }]
  : (() => {
      const files = testFiles('test')
      return [
        { args: ['--jobs=2', ...files.filter((file) => !ON_THE_PBX.test(file))], env: { TESTBED: 'off' }, coverage: true },
        { args: ['--jobs=1', EACH_FILE, ...files.filter((file) => ON_THE_PBX.test(file))], env: {}, coverage: false }
      ]
    })()

let passed = 0
let failed = 0
let exitCode = 0
for (const { args, env, coverage } of phases) {
  if (coverage) {
    buildClientOutsideCoverage()
    // A summary left by an earlier run must not pass for this one's.
    rmSync(COVERAGE_SUMMARY, { force: true })
  }
  const result = await runTap(coverage ? [...COVERAGE_ARGS, ...args] : args, env)
  if (coverage) printCoverageByFolder()
  passed += result.passed
  failed += result.failed
  if (result.code !== 0) exitCode = result.code
}
process.stdout.write(`\n${passed} passed, ${failed} failed\n`)
process.exit(failed > 0 ? 1 : exitCode)
