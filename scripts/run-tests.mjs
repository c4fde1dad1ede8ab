#!/usr/bin/env node
// Runs the whole suite with tap and ends with the line `N passed, N failed`.
// Counts each test (a `t.test` in a file) once; a file that fails outside any test (a crash, a
// timeout, a failing assertion at top level) counts as one failure more, and a skipped or todo test
// counts as failed, since a skip hides work not done.
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'

const tap = spawn('npx', ['tap', '--reporter=tap', ...process.argv.slice(2)], { stdio: ['ignore', 'pipe', 'inherit'] })

let passed = 0
let failed = 0
let failedInFile = 0
const TEST_POINT = /^( *)(not ok|ok) \d+ - (.*)$/

createInterface({ input: tap.stdout }).on('line', (line) => {
  process.stdout.write(`${line}\n`)
  const match = TEST_POINT.exec(line)
  if (match === null) return
  const [, indent, status, rest] = match
  const depth = indent.length / 4
  const skipped = / # (SKIP|TODO)\b/i.test(rest)
  if (depth === 1) {
    if (status === 'ok' && !skipped) passed++
    else { failed++; failedInFile++ }
  } else if (depth === 0) {
    if (status === 'not ok' && failedInFile === 0) failed++
    failedInFile = 0
  }
})

tap.on('close', (code) => {
  process.stdout.write(`\n${passed} passed, ${failed} failed\n`)
  process.exit(failed > 0 ? 1 : (code ?? 1))
})
