// Loaded into each test file on the real PBX before the file itself (scripts/run-tests.mjs passes it
// to tap as `--node-arg=--import=…`): checks the test bed and restarts it when it is down, so that one
// Asterisk crash fails one file, not every file after it. Costs a health check (tens of ms) per file.
import { dirname, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * tap loads this into its `before` and `after` programs too (tap-before.ts and tap-after.ts, beside
 * this file): those start and stop the bed themselves, and tap-before must find it as the last run
 * left it, to know whether this run owns it.
 */
const ofTheBed = dirname(process.argv[1] ?? '') === dirname(fileURLToPath(import.meta.url))

// TESTBED=off (npm run test:unit) runs the unit tests alone, without root or Asterisk.
if (process.env.TESTBED !== 'off' && !ofTheBed) {
  const { ensureTestBed } = await import('./testbed-health.js')
  const { repoRoot } = await import('./testbed.js')
  const file = relative(repoRoot, process.argv[1] ?? '?')
  const log = (m: string): void => { process.stderr.write(`# asterisk testbed (before ${file}): ${m}\n`) }
  try {
    const result = await ensureTestBed({ log })
    if (result.action === 'restarted') {
      log(`RESTARTED the test bed in ${result.ms} ms`)
    } else if (result.action === 'settled') {
      log(`registrations back by themselves after ${result.ms} ms (was:\n  ${result.why})`)
    }
  } catch (err) {
    log(`DOWN and NOT RESTARTED: ${err instanceof Error ? err.message : String(err)}`)
    process.exit(1)
  }
}
