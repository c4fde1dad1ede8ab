// tap `after` program: stops the real-Asterisk test bed after all test files.
import { stopTestBed } from './asterisk-process.js'

const log = (m: string): void => { process.stderr.write(`# asterisk testbed: ${m}\n`) }

// TESTBED=off (npm run test:unit) runs the unit tests alone, without root or Asterisk.
if (process.env.TESTBED === 'off') process.exit(0)

try {
  const t0 = Date.now()
  await stopTestBed({ log })
  log(`stopped in ${Date.now() - t0} ms`)
} catch (err) {
  process.stderr.write(`# asterisk testbed: FAILED TO STOP\n${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = 1
}
