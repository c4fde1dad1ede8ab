// tap `before` program: starts the real-Asterisk test bed once before all test files (and installs
// Debian's redis-server when missing, for the tests that start their own).
// The instances run detached and outlive this process; tap-after.ts stops them. A test bed that is
// already running from the same configuration (another test run on this machine) is shared, and only
// the run that started it stops it.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ensureRedisServer } from '../redis-process.js'
import { startTestBed } from './asterisk-process.js'
import { forgetFailedRestart } from './testbed-health.js'
import { logDir } from './testbed.js'

// TESTBED=off (npm run test:unit) runs the unit tests alone, without root or Asterisk.
if (process.env.TESTBED === 'off') process.exit(0)

const log = (m: string): void => { process.stderr.write(`# asterisk testbed: ${m}\n`) }
/** Names the tap run (before and after are both children of it) that owns the test bed. */
const ownerFile = join(logDir, 'owner')

try {
  // The tests of several app instances sharing state run their own redis-server (Debian's package).
  await ensureRedisServer(log)
  forgetFailedRestart()
  const info = await startTestBed({ log, reuse: true })
  if (!info.reused) writeFileSync(ownerFile, String(process.ppid))
  log(`up (provision ${info.provisionMs} ms, start ${info.readyMs} ms, total ${info.totalMs} ms${info.reused ? ', reused' : ''})`)
} catch (err) {
  process.stderr.write(`# asterisk testbed: FAILED TO START\n${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = 1
}
