// Lookup at scale: finding an agent's channel and the party bridged with it, as every transfer request
// does first (TransferService.getChannelForExtension), with 100, 1,000 and 10,000 live channels known to
// the call monitor (fed a synthetic event stream). The answer comes from the monitor's memory; the other
// way, listing every channel and bridge through ARI on each request, is measured on the real PBX by
// bench/lookup-ari.ts.
import { performance } from 'node:perf_hooks'
import { CallMonitor } from '../src/calls/call-monitor.js'
import { TransferService } from '../src/transfers/transfer-service.js'
import { FakePbx } from '../test/helpers/fake-pbx.js'
import { check, newResult, percentile, round, writeResult } from './lib/common.js'
import { answered, syntheticCall, type SyntheticCall } from '../test/helpers/synthetic-calls.js'

const CHANNEL_COUNTS = process.env.BENCH_LOOKUP_CHANNELS?.split(',').map(Number) ?? [100, 1000, 10_000]
const LOOKUPS = 20_000
const TARGET_MICROSECONDS = 50

async function scenario (channels: number): Promise<Record<string, number>> {
  const pbx = new FakePbx()
  const monitor = new CallMonitor(pbx)
  await monitor.start()
  const transfers = new TransferService(pbx, { transferContext: 'from-internal', channelTechnology: 'PJSIP', consultationTimeoutMs: 30_000, calls: monitor })
  const calls: SyntheticCall[] = Array.from({ length: channels / 2 }, (_, index) => syntheticCall(index, String(10_000 + index)))
  for (const call of calls) for (const event of answered(call)) pbx.events.emit('event', event)
  check(monitor.channelCount === channels, `the monitor knows ${monitor.channelCount} channels, ${channels} were created`)
  check(pbx.calls.every((call) => call.method === 'snapshot'), 'the lookups must not ask the PBX')

  // Each lookup is timed alone, in a random order over every agent, so no answer is cached by accident.
  const order = Array.from({ length: LOOKUPS }, (_, index) => calls[(index * 7919) % calls.length] as SyntheticCall)
  const durations = new Float64Array(LOOKUPS)
  for (let index = 0; index < LOOKUPS; index++) {
    const call = order[index] as SyntheticCall
    const started = performance.now()
    const located = await transfers.getChannelForExtension(call.extension)
    durations[index] = (performance.now() - started) * 1000
    if (located.agentChannel !== call.agent || located.peerChannel !== call.customer) {
      check(false, `lookup of ${call.extension}: ${located.agentChannel} with ${located.peerChannel}, expected ${call.agent} with ${call.customer}`)
    }
  }
  check(pbx.calls.filter((call) => call.method === 'snapshot').length === 1, 'a lookup asked ARI for a snapshot')
  monitor.stop()
  const sorted = durations.sort()
  return {
    channels,
    lookups: LOOKUPS,
    meanMicroseconds: round(sorted.reduce((sum, value) => sum + value, 0) / LOOKUPS),
    p50Microseconds: round(percentile(sorted, 0.5)),
    p99Microseconds: round(percentile(sorted, 0.99))
  }
}

await scenario(CHANNEL_COUNTS[0] as number) // unmeasured: compiles the code
const result = newResult('lookup', { channelCounts: CHANNEL_COUNTS, lookups: LOOKUPS })
for (const channels of CHANNEL_COUNTS) result.rows.push(await scenario(channels))
const first = result.rows[0] as Record<string, number>
const last = result.rows.at(-1) as Record<string, number>
result.ratios = { [`p50 at ${last.channels} over ${first.channels} channels`]: round((last.p50Microseconds as number) / (first.p50Microseconds as number)) }
const worstP50 = Math.max(...result.rows.map((row) => row.p50Microseconds as number))
result.targets.push(
  { name: 'lookup time (p50, every size)', target: `< ${TARGET_MICROSECONDS} µs`, measured: `${worstP50} µs`, met: worstP50 < TARGET_MICROSECONDS },
  // 100× the channels: a scan would give about 100; memory caches alone give 2 to 3.
  { name: `flat in the channel count (p50 at ${last.channels} over ${first.channels})`, target: '< 5', measured: String(Object.values(result.ratios)[0]), met: (Object.values(result.ratios)[0] ?? Infinity) < 5 }
)
result.notes.push(
  `Each row: the call monitor fed the events of channels/2 answered calls (customer and agent bridged, one agent per call), then ${LOOKUPS} lookups of agents in a scattered order, each timed alone.`,
  'A lookup is TransferService.getChannelForExtension: the agent\'s channel and the real party bridged with it, from the monitor\'s memory (the path of every transfer request while the monitor is in sync).'
)
writeResult(result, 'Lookup of an agent\'s call')
