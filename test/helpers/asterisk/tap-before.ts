// tap `before` program: starts the real-Asterisk test bed once before all test files.
// The instances run detached and outlive this process; tap-after.ts stops them.
import { startTestBed } from './asterisk-process.js'

const log = (m: string): void => { process.stderr.write(`# asterisk testbed: ${m}\n`) }

// TESTBED=off (npm run test:unit) runs the unit tests alone, without root or Asterisk.
if (process.env.TESTBED === 'off') process.exit(0)

try {
  const info = await startTestBed({ log })
  log(`up (provision ${info.provisionMs} ms, start ${info.readyMs} ms, total ${info.totalMs} ms)`)
} catch (err) {
  process.stderr.write(`# asterisk testbed: FAILED TO START\n${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = 1
}
