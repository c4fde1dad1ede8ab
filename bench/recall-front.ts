// On the real PBX: what a recall Redirect's lines in front cost, measured alone. The plugin's own AMI
// client and PBX adapter (AsteriskPbx.redirectAfterSetup) write, in one go, the two Setvar and either
// the whole recall context (8 DialplanExtensionAdd, the way before issue 18) or its entry (3), then the
// Redirect; against the Redirect alone. Alternating, REPS of each, with 0 and 2,000 background channels.
// The Setvar and the Redirect go to a background channel (a Local half running Wait), sent back to the
// start of its own Wait: real channel lookups, a real Redirect, and nothing else moves. (Aimed at a
// channel that does not exist, each action costs Asterisk a scan of every channel, by uniqueid, after
// the name's miss: 0.3 ms for a Redirect alone at 2,000 channels against 0.15 at none, measured.)
// What is timed is the round trip with what rides in front of it, and the plugin thread's CPU for it.
import { EventEmitter } from 'node:events'
import { performance } from 'node:perf_hooks'
import { AmiClient } from '../src/asterisk/ami-client.js'
import type { AriClient } from '../src/asterisk/ari-client.js'
import { AsteriskPbx } from '../src/asterisk/pbx.js'
import { recallDialplan, recallEntry } from '../src/transfers/recall-dialplan.js'
import { listChannels } from '../test/helpers/asterisk/ari.js'
import { startTestBed } from '../test/helpers/asterisk/asterisk-process.js'
import { hangupAllCalls, waitFor } from '../test/helpers/asterisk/calls.js'
import { pbx as settings, transferContext } from '../test/helpers/asterisk/testbed.js'
import { check, newResult, percentile, round, threadTimes, writeResult } from './lib/common.js'
import { measureAtLevels } from './lib/levels.js'
import { RawAmi } from './lib/raw-ami.js'

const BACKGROUND = (process.env.BENCH_BACKGROUND ?? '0,2000').split(',').map(Number)
const REPS = Number(process.env.BENCH_REPS ?? 300)
const CONTEXT = 'bench-recall-front'

const log = (message: string): void => { process.stderr.write(`# ${message}\n`) }
const bed = await startTestBed({ log, reuse: true })
const raw = await RawAmi.connect(settings.ami, { events: false })
await hangupAllCalls()

const ami = new AmiClient({ ...settings.ami, actionTimeoutMs: 10_000, reconnect: { initialDelayMs: 100, maxDelayMs: 1000 }, pingIntervalMs: 0, events: new Set() })
const ari = Object.assign(new EventEmitter(), { ready: true, listChannels: async () => [], listBridges: async () => [], listEndpoints: async () => [] }) as unknown as AriClient
const pbx = new AsteriskPbx(ami, ari)
await ami.start()

const lines = recallDialplan({ context: CONTEXT, transferContext, technology: 'PJSIP', afterMs: 20_000, ringAgentMs: 15_000 })
const entry = recallEntry({ context: CONTEXT, transferContext }, lines)
for (const line of [...lines, ...entry]) await pbx.addDialplanExtension(line)

/** Originates Local pairs into [bench-background] until ARI counts `channels` of them (2 at least: the one redirected). */
async function background (channels: number): Promise<{ count: number, channel: string }> {
  const ours = async (): Promise<string[]> => (await listChannels()).map((channel) => channel.name).filter((name) => name.startsWith('Local/wait@bench-background'))
  const wanted = Math.max(channels, 2)
  const missing = Math.max(0, Math.ceil((wanted - (await ours()).length) / 2))
  await Promise.all(Array.from({ length: missing }, async () => {
    await raw.action({ Action: 'Originate', Channel: 'Local/wait@bench-background', Application: 'Wait', Data: '3600', Async: 'true' })
  }))
  const names = await waitFor(async () => { const now = await ours(); return now.length >= wanted ? now : undefined }, 120_000, `${channels} background channels`, 500)
  // The ;2 half runs the dialplan (Wait): the one a Redirect sends back to its start.
  return { count: names.length, channel: names.find((name) => name.endsWith(';2')) as string }
}

type Variant = 'whole context in front' | 'entry in front' | 'Redirect alone'
const VARIANTS: readonly Variant[] = ['whole context in front', 'entry in front', 'Redirect alone']

async function once (variant: Variant, channel: string): Promise<{ ms: number, cpuMs: number }> {
  const variables = { FASTIFY_XFER_TARGET: '102', FASTIFY_XFER_AGENT: '101' }
  const before = threadTimes()
  const started = performance.now()
  const setup = await (variant === 'Redirect alone'
    ? pbx.redirect(channel, 'wait', 'bench-background').then(() => ({}))
    : pbx.redirectAfterSetup(channel, 'wait', 'bench-background', { variables, dialplan: variant === 'entry in front' ? entry : lines })
  ).catch((error: Error) => error)
  if (setup instanceof Error) {
    // Still leaving the Wait it was sent back to a moment ago ("channel not up"): not a sample, again.
    check(/channel not up/.test(setup.message), `Redirect refused: ${setup.message}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
    return await once(variant, channel)
  }
  const ms = performance.now() - started
  const after = threadTimes()
  check(!('setupRefused' in setup), `a line in front was refused: ${String((setup as { setupRefused?: Error }).setupRefused)}`)
  return { ms, cpuMs: (after?.cpuMs ?? Number.NaN) - (before?.cpuMs ?? Number.NaN) }
}

const sorted = (values: number[]): number[] => [...values].sort((a, b) => a - b)

async function level (channels: number): Promise<Record<string, number | string>> {
  const { count, channel } = await background(channels)
  log(`${count} background channels`)
  const samples = new Map<Variant, { ms: number[], cpu: number[] }>(VARIANTS.map((variant) => [variant, { ms: [], cpu: [] }]))
  for (let rep = -20; rep < REPS; rep++) {
    for (const variant of VARIANTS) {
      const { ms, cpuMs } = await once(variant, channel)
      // A channel redirected a moment ago is still leaving its Wait: Asterisk refuses the next Redirect
      // ("channel not up") until it has started again.
      await new Promise((resolve) => setTimeout(resolve, 15))
      if (rep < 0) continue
      samples.get(variant)?.ms.push(ms)
      samples.get(variant)?.cpu.push(cpuMs)
    }
  }
  const median = (variant: Variant, key: 'ms' | 'cpu'): number => percentile(sorted(samples.get(variant)?.[key] ?? []), 0.5)
  return {
    backgroundChannels: count,
    wholeContextMedianMs: round(median('whole context in front', 'ms'), 3),
    entryMedianMs: round(median('entry in front', 'ms'), 3),
    redirectAloneMedianMs: round(median('Redirect alone', 'ms'), 3),
    wholeContextCpuMedianMs: round(median('whole context in front', 'cpu'), 3),
    entryCpuMedianMs: round(median('entry in front', 'cpu'), 3),
    redirectAloneCpuMedianMs: round(median('Redirect alone', 'cpu'), 3),
    savedMedianMs: round(median('whole context in front', 'ms') - median('entry in front', 'ms'), 3)
  }
}

const result = newResult('recall-front', { backgroundChannels: BACKGROUND, reps: REPS })
await measureAtLevels(result, BACKGROUND, level, {
  raw,
  reused: bed.reused,
  log,
  close: async () => {
    await raw.action({ Action: 'Command', Command: `dialplan remove context ${CONTEXT}` }).catch(() => undefined)
    await ami.close()
  }
})
result.notes.push(
  `The plugin's AMI client and AsteriskPbx.redirectAfterSetup, as a blind transfer with recall writes them: 2 Setvar and the whole recall context (${lines.length} DialplanExtensionAdd, Replace, as before issue 18) or its entry (${entry.length}), then the Redirect, in one write; against the Redirect alone. The channel is a background Local half running Wait, sent back to the start of its Wait. ${REPS} of each, alternating, 15 ms apart (a channel redirected a moment ago refuses the next Redirect), after 20 unmeasured; medians of the round trip and of the plugin thread's CPU time (Linux schedstat) for it.`
)
writeResult(result, 'A recall Redirect\'s lines in front: the whole context against its entry')
