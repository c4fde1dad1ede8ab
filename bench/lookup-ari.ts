// On the real PBX (the test bed of test/helpers/asterisk): an agent's call found from the call monitor's
// memory against listing every channel and bridge through ARI, as each request would without it, with
// 0, 100, 1,000 and 2,000 cheap background channels on the PBX (Local channels waiting in
// [bench-background], counted with ARI GET /channels). Also the floor for a transfer's own overhead:
// a raw AMI Redirect on a bare TCP socket, timed to its response and to the customer bridged with the
// target. Starts the test bed (or reuses the running one) and leaves it as found.
import { performance } from 'node:perf_hooks'
import { AmiClient } from '../src/asterisk/ami-client.js'
import { AriClient } from '../src/asterisk/ari-client.js'
import { AsteriskPbx } from '../src/asterisk/pbx.js'
import { CallMonitor } from '../src/calls/call-monitor.js'
import { findAgentCall } from '../src/transfers/call-topology.js'
import { TransferService } from '../src/transfers/transfer-service.js'
import { listChannels } from '../test/helpers/asterisk/ari.js'
import { startTestBed } from '../test/helpers/asterisk/asterisk-process.js'
import { callAgent, waitFor } from '../test/helpers/asterisk/calls.js'
import { pbx as settings } from '../test/helpers/asterisk/testbed.js'
import { check, newResult, percentile, round, writeResult } from './lib/common.js'
import { measureAtLevels } from './lib/levels.js'
import { RawAmi } from './lib/raw-ami.js'

const BACKGROUND = [0, 100, 1000, 2000]
const ARI_LOOKUPS = 20
const MEMORY_LOOKUPS = 2000

const log = (message: string): void => { process.stderr.write(`# ${message}\n`) }
const bed = await startTestBed({ log, reuse: true })

const raw = await RawAmi.connect(settings.ami)
const ami = new AmiClient({ ...settings.ami, actionTimeoutMs: 10_000, reconnect: { initialDelayMs: 500, maxDelayMs: 5000 }, pingIntervalMs: 0 })
const ari = new AriClient({ ...settings.ari, requestTimeoutMs: 30_000, reconnect: { initialDelayMs: 500, maxDelayMs: 5000 } })
await Promise.all([ami.start(), ari.start()])
const pbx = new AsteriskPbx(ami, ari)
const monitor = new CallMonitor(pbx)
await monitor.start()
const transfers = new TransferService(pbx, { transferContext: 'from-internal', channelTechnology: 'PJSIP', consultationTimeoutMs: 30_000, calls: monitor })

function median (values: number[]): number {
  return percentile([...values].sort((a, b) => a - b), 0.5)
}

/** Originates Local pairs into [bench-background] until ARI counts `channels` of them. */
async function background (channels: number): Promise<number> {
  const count = async (): Promise<number> => (await listChannels()).filter((channel) => channel.name.startsWith('Local/wait@bench-background')).length
  const missing = Math.max(0, Math.ceil((channels - await count()) / 2))
  await Promise.all(Array.from({ length: missing }, async () => {
    await raw.action({ Action: 'Originate', Channel: 'Local/wait@bench-background', Application: 'Wait', Data: '3600', Async: 'true' })
  }))
  return await waitFor(async () => { const now = await count(); return now >= channels ? now : undefined }, 60_000, `${channels} background channels`)
}

async function level (channels: number): Promise<Record<string, number>> {
  const backgroundChannels = await background(channels)
  const call = await callAgent('101')
  await waitFor(() => monitor.inSync && transfers.getChannelForExtension('101').then((located) => located.peerChannel === call.customerChannel.name, () => false), 20_000, 'the monitor sees the call')
  const ariMs: number[] = []
  for (let index = 0; index < ARI_LOOKUPS; index++) {
    const started = performance.now()
    const found = findAgentCall(await pbx.snapshot(), 'PJSIP', '101')
    ariMs.push(performance.now() - started)
    check(found?.peer?.name === call.customerChannel.name, `ARI lookup found ${found?.peer?.name}, expected ${call.customerChannel.name}`)
  }
  const memoryUs: number[] = []
  for (let index = 0; index < MEMORY_LOOKUPS; index++) {
    const started = performance.now()
    const located = await transfers.getChannelForExtension('101')
    memoryUs.push((performance.now() - started) * 1000)
    check(located.peerChannel === call.customerChannel.name, `memory lookup found ${located.peerChannel}`)
  }
  // The floor of a blind transfer: Redirect of the customer on a bare socket, to the response and to
  // the customer bridged with 102.
  const bridged = raw.nextEvent((event) => event.event === 'BridgeEnter' && typeof event.channel === 'string' && event.channel.startsWith('PJSIP/102-'), 20_000)
  const started = performance.now()
  const response = await raw.action({ Action: 'Redirect', Channel: call.customerChannel.name, Exten: '102', Context: 'from-internal', Priority: 1 })
  const responseMs = performance.now() - started
  check(response.response === 'Success', `Redirect refused: ${String(response.message)}`)
  await bridged
  const bridgedMs = performance.now() - started
  await hangupAllCallsExceptBackground()
  return {
    backgroundChannels,
    ariLookupMedianMs: round(median(ariMs)),
    memoryLookupMedianUs: round(median(memoryUs)),
    ariOverMemory: Math.round((median(ariMs) * 1000) / median(memoryUs)),
    rawRedirectResponseMs: round(responseMs),
    rawRedirectToBridgedMs: round(bridgedMs)
  }
}

/** Hangs up the customer and agent legs, keeping the background. */
async function hangupAllCallsExceptBackground (): Promise<void> {
  await raw.action({ Action: 'Hangup', Channel: '/^PJSIP\\//' })
  await waitFor(async () => (await listChannels()).every((channel) => !channel.name.startsWith('PJSIP/')), 20_000, 'the calls gone')
}

const result = newResult('lookup-ari', { backgroundChannels: BACKGROUND, ariLookups: ARI_LOOKUPS, memoryLookups: MEMORY_LOOKUPS })
await measureAtLevels(result, BACKGROUND, level, {
  raw,
  reused: bed.reused,
  log,
  close: async () => {
    monitor.stop()
    ari.close()
    await ami.close()
  }
})
const last = result.rows.at(-1) as Record<string, number>
result.ratios = { [`ARI lookup over memory lookup at ${last.backgroundChannels} channels`]: last.ariOverMemory as number }
result.targets.push({ name: `memory lookup on the real PBX, ${last.backgroundChannels} background channels`, target: '< 50 µs', measured: `${last.memoryLookupMedianUs} µs`, met: (last.memoryLookupMedianUs as number) < 50 })
result.notes.push(
  'Real Asterisk 22 (the test bed): customer1 calls agent 101 through the phone farm; N background channels are Local pairs waiting in [bench-background] (counted with ARI GET /channels).',
  `ariLookupMedianMs: GET /channels and GET /bridges through the plugin's AriClient, then findAgentCall (median of ${ARI_LOOKUPS}). memoryLookupMedianUs: TransferService.getChannelForExtension from the call monitor fed by AMI (median of ${MEMORY_LOOKUPS}).`,
  'rawRedirect*: AMI Redirect of the customer to 102 written on a bare TCP socket: until its response, and until the BridgeEnter of 102\'s leg (the customer talks to the target). The floor a transfer through the plugin is compared with.'
)
writeResult(result, 'Lookup on the real PBX, and the raw Redirect floor')
