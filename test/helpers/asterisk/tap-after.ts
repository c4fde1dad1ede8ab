// tap `after` program: stops the real-Asterisk test bed after all test files.
import { stopTestBed } from './asterisk-process.js'

const log = (m: string): void => { process.stderr.write(`# asterisk testbed: ${m}\n`) }

try {
  const t0 = Date.now()
  await stopTestBed({ log })
  log(`stopped in ${Date.now() - t0} ms`)
} catch (err) {
  process.stderr.write(`# asterisk testbed: FAILED TO STOP\n${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = 1
}
