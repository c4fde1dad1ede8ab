// On the real two-PBX test bed (test/helpers/asterisk: two Asterisk servers joined by a PJSIP trunk
// both ways): a blind transfer across servers, agent 101's customer on the first PBX to agent 301 on
// the second, through the plugin driving both as a pool, against the same transfer made by a raw AMI
// `Redirect` on the first PBX (its dialplan carries the call over the trunk, as a pool's dialplans do).
//
// 1. Overhead: `POST /api/transfers/execute` over HTTP, timed to its answer, against the raw Redirect
//    timed to Asterisk's response, and the HTTP floor (an empty route of the same server), as in
//    bench/transfer-pbx.ts. The two alternate call by call.
// 2. Time to the confirmed outcome after the target's answer: from 301's `DialEnd` ANSWER on the second
//    PBX (a bare AMI socket there, in this process) to the plugin publishing `answered`, which it does
//    only once both servers show it (the customer bridged with the trunk on the first, 301 bridged with
//    the inbound trunk leg of this call on the second, matched by the SIP Call-ID). Also from the later
//    of the two `BridgeEnter`s that show it: what is left is the plugin's own time.
//
// Starts the test bed (or reuses the running one) and leaves it as found. Run it under the test bed's lock.
import Fastify from 'fastify'
import { performance } from 'node:perf_hooks'
import asteriskTransfer, { type Identity } from '../src/index.js'
import type { AmiMessage } from '../src/asterisk/ami-parser.js'
import { startTestBed, stopTestBed } from '../test/helpers/asterisk/asterisk-process.js'
import { callAgent, hangupAllCalls, waitFor } from '../test/helpers/asterisk/calls.js'
import { pbx, pbx2, transferContext } from '../test/helpers/asterisk/testbed.js'
import { check, newResult, percentile, round, threadTimes, writeResult } from './lib/common.js'
import { RawAmi } from './lib/raw-ami.js'
import { RemoteClient } from './lib/remote-client.js'

const RUNS = Number(process.env.BENCH_POOL_RUNS ?? 30)
const TARGET_OVERHEAD_MS = 1
const TARGET_OUTCOME_MS = 5
const AGENT = '101'
const TARGET = '301'

const log = (message: string): void => { process.stderr.write(`# ${message}\n`) }
const bed = await startTestBed({ log, reuse: true })
const raw1 = await RawAmi.connect(pbx.ami)
const raw2 = await RawAmi.connect(pbx2.ami)
await hangupAllCalls()

const identities: Record<string, Identity> = { 'token-super': { extension: '100', role: 'supervisor' } }
const app = Fastify()
await app.register(asteriskTransfer, {
  servers: [
    { name: 'pbx1', ami: pbx.ami, ari: pbx.ari },
    { name: 'pbx2', ami: pbx2.ami, ari: pbx2.ari }
  ],
  transferContext,
  rateLimit: false,
  authenticate: (request) => identities[request.headers.authorization?.replace(/^Bearer /, '') ?? ''] ?? null
})
app.get('/bench/empty', async () => ({}))
const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' })
const remote = await RemoteClient.start(pbx.ami)

const published = new Map<string, number>()
app.asteriskTransfers.on('call:transfer_updated', (transfer) => { published.set(`${transfer.id}:${transfer.status}`, performance.now()) })
const outcome = async (id: string, status: string): Promise<number> =>
  await waitFor(() => published.get(`${id}:${status}`), 20_000, `transfer ${id} ${status}`, 2)

const text = (value: unknown): string => typeof value === 'string' ? value : ''
const stamp = (ami: RawAmi, predicate: (event: AmiMessage) => boolean): Promise<number> => ami.nextEvent(predicate, 30_000).then(() => performance.now())

/** 301 answered, on the second PBX: the DialEnd ANSWER of its leg. */
const targetAnswered = (event: AmiMessage): boolean =>
  event.event === 'DialEnd' && text(event.dialstatus) === 'ANSWER' && text(event.destchannel).startsWith(`PJSIP/${TARGET}-`)

/** A BridgeEnter that brings the bridge holding `channel` (matched by `isOurs`) to two channels. */
function bridgedPair (isOurs: (channel: string) => boolean): (event: AmiMessage) => boolean {
  let ours: string | undefined
  return (event) => {
    if (event.event !== 'BridgeEnter') return false
    const bridge = text(event.bridgeuniqueid)
    if (isOurs(text(event.channel))) ours = bridge
    return bridge === ours && Number(text(event.bridgenumchannels)) >= 2
  }
}

async function hangupCalls (): Promise<void> {
  await Promise.all([raw1, raw2].map(async (ami) => await ami.action({ Action: 'Hangup', Channel: '/^PJSIP\\//' })))
  await waitFor(() => app.asteriskTransfers.activeTransfers().length === 0, 30_000, 'no transfer in progress', 20)
  await hangupAllCalls()
}

async function freshCall (): Promise<string> {
  const call = await callAgent(AGENT)
  await waitFor(async () => {
    const located = await app.asteriskTransfers.getChannelForExtension(AGENT).catch(() => undefined)
    return located?.peerChannel === call.customerChannel.name
  }, 20_000, 'the plugin sees the call', 20)
  return call.customerChannel.name
}

interface Samples { plugin: number[], raw: number[], httpFloor: number[], cpu: number[], waiting: number[], answered: number[], answeredAfterBridges: number[], rawAnswered: number[], pluginAnswered: number[] }
const noSamples = (): Samples => ({ plugin: [], raw: [], httpFloor: [], cpu: [], waiting: [], answered: [], answeredAfterBridges: [], rawAnswered: [], pluginAnswered: [] })

async function throughPlugin (samples: Samples): Promise<void> {
  const customer = await freshCall()
  const answered = stamp(raw2, targetAnswered)
  const bridged1 = stamp(raw1, bridgedPair((channel) => channel === customer))
  const bridged2 = stamp(raw2, bridgedPair((channel) => channel.startsWith(`PJSIP/${TARGET}-`)))
  const before = threadTimes()
  const started = performance.now()
  const response = await remote.http(`${baseUrl}/api/transfers/execute`, 'POST', 'Bearer token-super', { extension: AGENT, targetExtension: TARGET, transferType: 'blind' })
  const after = threadTimes()
  check(response.status === 200, `execute answered ${response.status}: ${JSON.stringify(response.json)}`)
  samples.plugin.push(response.ms)
  samples.cpu.push((after?.cpuMs ?? Number.NaN) - (before?.cpuMs ?? Number.NaN))
  samples.waiting.push((after?.waitingMs ?? Number.NaN) - (before?.waitingMs ?? Number.NaN))
  const answeredAt = await answered
  const bridgedAt = Math.max(await bridged1, await bridged2)
  const pluginAt = await outcome(String(response.json.id), 'answered')
  samples.answered.push(pluginAt - answeredAt)
  samples.answeredAfterBridges.push(pluginAt - bridgedAt)
  samples.pluginAnswered.push(answeredAt - started)
  await hangupCalls()
}

async function raw (samples: Samples): Promise<void> {
  const customer = await freshCall()
  const answered = stamp(raw2, targetAnswered)
  const started = performance.now()
  const { message, ms } = await remote.amiAction({ Action: 'Redirect', Channel: customer, Exten: TARGET, Context: transferContext, Priority: 1 })
  check(message.response === 'Success', `Redirect refused: ${String(message.message)}`)
  samples.raw.push(ms)
  samples.rawAnswered.push(await answered - started)
  await hangupCalls()
  await new Promise((resolve) => setTimeout(resolve, 20))
  const empty = await remote.http(`${baseUrl}/bench/empty`, 'GET', '')
  check(empty.status === 200, `the empty route answered ${empty.status}`)
  samples.httpFloor.push(empty.ms)
}

const sorted = (values: number[]): number[] => [...values].sort((a, b) => a - b)
const p = (values: number[], q: number): number => round(percentile(sorted(values), q))

const samples = noSamples()
try {
  await throughPlugin(noSamples())
  await raw(noSamples())
  for (let run = 0; run < RUNS; run++) {
    await throughPlugin(samples)
    await raw(samples)
  }
} finally {
  await hangupAllCalls().catch(() => undefined)
  await remote.close()
  await app.close()
  raw1.close()
  raw2.close()
  if (!bed.reused) await stopTestBed({ log })
}

const overheadOverFloor = p(samples.plugin, 0.5) - p(samples.raw, 0.5) - p(samples.httpFloor, 0.5)
const result = newResult('transfer-pool', { runs: RUNS, agent: AGENT, target: TARGET })
result.rows.push({
  transfer: `blind ${AGENT} (first PBX) to ${TARGET} (second PBX)`,
  executeMedianMs: p(samples.plugin, 0.5),
  executeP99Ms: p(samples.plugin, 0.99),
  rawRedirectMedianMs: p(samples.raw, 0.5),
  rawRedirectP99Ms: p(samples.raw, 0.99),
  httpFloorMedianMs: p(samples.httpFloor, 0.5),
  overheadOverHttpFloorMedianMs: round(overheadOverFloor),
  executeCpuMedianMs: p(samples.cpu, 0.5),
  executeWaitingForCpuMedianMs: p(samples.waiting, 0.5),
  targetAnswerAfterRequestMedianMs: p(samples.pluginAnswered, 0.5),
  targetAnswerAfterRawRedirectMedianMs: p(samples.rawAnswered, 0.5),
  answeredAfterTargetAnswerMedianMs: p(samples.answered, 0.5),
  answeredAfterTargetAnswerP99Ms: p(samples.answered, 0.99),
  answeredAfterBothBridgesMedianMs: p(samples.answeredAfterBridges, 0.5)
})
result.targets.push(
  { name: 'cross-server execute overhead over the raw Redirect less the HTTP floor, median', target: `<= ${TARGET_OVERHEAD_MS} ms`, measured: `${round(overheadOverFloor)} ms`, met: overheadOverFloor <= TARGET_OVERHEAD_MS },
  { name: 'answered (both servers) after the target\'s answer, median', target: `<= ${TARGET_OUTCOME_MS} ms`, measured: `${p(samples.answered, 0.5)} ms`, met: p(samples.answered, 0.5) <= TARGET_OUTCOME_MS }
)
result.notes.push(
  `Real Asterisk 22, two PBXes joined by a PJSIP trunk (the test bed); the plugin drives both as a pool (servers pbx1, pbx2; recall on as by default). Each transfer is a fresh call from customer1 to ${AGENT} on the first PBX; ${RUNS} through the plugin and ${RUNS} raw, alternating.`,
  'execute*: POST /api/transfers/execute from a client in another thread over a kept-alive HTTP connection, until the answer. rawRedirect*: AMI Redirect of the customer to 301@from-internal on the first PBX (its dialplan sends it over the trunk), written by the same client thread on a bare socket, until Asterisk\'s response. httpFloorMedianMs: a GET of an empty route of the same server. overheadOverHttpFloorMedianMs: execute less raw Redirect less HTTP floor (medians). executeCpu/WaitingForCpu: the plugin thread\'s CPU time during the request and its wait for a core (Linux schedstat).',
  'targetAnswerAfter*: from the request (or the raw Redirect) to 301\'s DialEnd ANSWER on the second PBX (Asterisk\'s own time to carry the call over: recall\'s Local pair and the trunk). answeredAfterTargetAnswer*: from that DialEnd to the plugin publishing answered (declared once both servers show it). answeredAfterBothBridges: from the later of the BridgeEnters that show it on each server.'
)
writeResult(result, 'A blind transfer across servers: overhead and time to the confirmed outcome')
