#!/usr/bin/env node
// Runs the suite with tap and ends with the line `N passed, N failed`.
//
// Without arguments it runs two phases: the unit tests (no Asterisk; two at a time), then the tests on
// the real Asterisk 22 test bed (one at a time, since they share the PBX; tap's `before` hook provisions
// and starts it). With arguments, one tap run of those files or folders. Every file run with the test
// bed on first checks it and restarts it when it is down (test/helpers/asterisk/tap-each.ts), so one
// Asterisk crash fails one file.
//
// Counts each test (a `t.test` in a file) once; a file that fails outside any test (a crash, a
// timeout, a failing assertion at top level) counts as one failure more, and a skipped or todo test
// counts as failed, since a skip hides work not done.
import { spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

/** Test files that need the real Asterisk test bed (or a browser on it). */
const ON_THE_PBX = /^test\/(integration|e2e|testbed)\/|^test\/harness\.test\.ts$/

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

const phases = process.argv.length > 2
  ? [{ args: [...(process.env.TESTBED === 'off' ? [] : [EACH_FILE]), ...process.argv.slice(2)], env: {} }]
  : (() => {
      const files = testFiles('test')
      return [
        { args: ['--jobs=2', ...files.filter((file) => !ON_THE_PBX.test(file))], env: { TESTBED: 'off' } },
        { args: ['--jobs=1', EACH_FILE, ...files.filter((file) => ON_THE_PBX.test(file))], env: {} }
      ]
    })()

let passed = 0
let failed = 0
let exitCode = 0
for (const { args, env } of phases) {
  const result = await runTap(args, env)
  passed += result.passed
  failed += result.failed
  if (result.code !== 0) exitCode = result.code
}
process.stdout.write(`\n${passed} passed, ${failed} failed\n`)
process.exit(failed > 0 ? 1 : exitCode)
