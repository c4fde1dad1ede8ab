// The real-PBX benchmarks' frame: one measured row per count of background channels, then the test
// bed left as it was found (background and calls hung up, everything the benchmark opened closed).
import { stopTestBed } from '../../test/helpers/asterisk/asterisk-process.js'
import { hangupAllCalls } from '../../test/helpers/asterisk/calls.js'
import type { BenchResult } from './common.js'
import type { RawAmi } from './raw-ami.js'

export interface LevelsFrame {
  raw: RawAmi
  /** Whether the test bed was running before (then it is left running). */
  reused: boolean
  log: (message: string) => void
  /** Closes what the benchmark opened besides the raw AMI socket. */
  close: () => Promise<void>
}

export async function measureAtLevels (result: BenchResult, levels: readonly number[], level: (channels: number) => Promise<Record<string, number | string>>, frame: LevelsFrame): Promise<void> {
  try {
    for (const channels of levels) {
      result.rows.push(await level(channels))
      frame.log(`${channels} background channels done`)
    }
  } finally {
    await frame.raw.action({ Action: 'Hangup', Channel: '/^Local\\/wait@bench-background/' }).catch(() => undefined)
    await hangupAllCalls().catch(() => undefined)
    await frame.close()
    frame.raw.close()
    if (!frame.reused) await stopTestBed({ log: frame.log })
  }
}
