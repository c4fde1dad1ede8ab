// tap `after` program: stops the real-Asterisk test bed after all test files, if this run started it.
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { stopTestBed } from './asterisk-process.js'
import { logDir } from './testbed.js'

// TESTBED=off (npm run test:unit) runs the unit tests alone, without root or Asterisk.
if (process.env.TESTBED === 'off') process.exit(0)

const log = (m: string): void => { process.stderr.write(`# asterisk testbed: ${m}\n`) }
const ownerFile = join(logDir, 'owner')
let owner = ''
try { owner = readFileSync(ownerFile, 'utf8') } catch { /* nobody recorded: started before this run */ }

if (owner !== String(process.ppid)) {
  log('left running: another test run started it')
} else {
  try {
    const t0 = Date.now()
    await stopTestBed({ log })
    rmSync(ownerFile, { force: true })
    log(`stopped in ${Date.now() - t0} ms`)
  } catch (err) {
    process.stderr.write(`# asterisk testbed: FAILED TO STOP\n${err instanceof Error ? err.message : String(err)}\n`)
    process.exitCode = 1
  }
}
