// On the real PBX (the test bed of test/helpers/asterisk): what a transfer through the plugin costs
// over what Asterisk itself needs, with 0 and with 2,000 background channels on the PBX.
//
// 1. Transfer overhead: `POST /api/transfers/execute` (blind, agent 101's customer to 102) over HTTP
//    to the plugin in this process, timed to its answer, against the floor: the same kind of call
//    redirected by an AMI `Redirect` written on a bare TCP socket, timed to Asterisk's response. The two
//    alternate call by call, so both see the same PBX and the same machine.
// 2. Time to a confirmed outcome: from the moment Asterisk's own deciding event reaches a bare AMI
//    socket in this process (the `DialEnd` ANSWER of the target's leg for a blind transfer, `AttendedTransfer`
//    Success for a completed one, the agent's `Unhold` for a cancelled one) to the plugin publishing the
//    outcome (`answered`, `completed`, `cancelled`) in its event log.
//
// Starts the test bed (or reuses the running one) and leaves it as found. Run it under the test bed's
// lock, as every run on the PBX.
import Fastify from 'fastify'
import http from 'node:http'
import { PerformanceObserver, performance } from 'node:perf_hooks'
import asteriskTransfer, { type Identity } from '../src/index.js'
import type { AmiMessage } from '../src/asterisk/ami-parser.js'
import { listChannels } from '../test/helpers/asterisk/ari.js'
import { startTestBed } from '../test/helpers/asterisk/asterisk-process.js'
import { callAgent, hangupAllCalls, waitFor } from '../test/helpers/asterisk/calls.js'
import { pbx as settings, transferContext } from '../test/helpers/asterisk/testbed.js'
import { check, newResult, percentile, round, threadTimes, writeResult } from './lib/common.js'
import { measureAtLevels } from './lib/levels.js'
import { RawAmi } from './lib/raw-ami.js'
import { RemoteClient } from './lib/remote-client.js'

const BACKGROUND = (process.env.BENCH_BACKGROUND ?? '0,2000').split(',').map(Number)
/** Blind transfers per level through the plugin, and as many raw Redirects. */
const BLIND_RUNS = Number(process.env.BENCH_BLIND_RUNS ?? 50)
/** Attended transfers per level completed, and as many cancelled. */
const ATTENDED_RUNS = Number(process.env.BENCH_ATTENDED_RUNS ?? 5)
const TARGET_MEDIAN_OVERHEAD_MS = 2
const TARGET_P99_OVERHEAD_MS = 10
const TARGET_OUTCOME_RATIO = 1.2
/** Issue 18: execute less the raw Redirect less the HTTP floor, median; and the execute's p99 over its median at the last level. */
const TARGET_OVERHEAD_OVER_FLOOR_MS = 1
const TARGET_P99_OVER_MEDIAN = 3

/**
 * Garbage collections of this thread (the plugin's), as V8 reports them: each request's window is
 * compared with them afterwards, to tell a slow request that waited for a collection from one that
 * waited for a core.
 */
const collections: Array<{ start: number, end: number, kind: string }> = []
/** V8's collection kinds (perf_hooks constants NODE_PERFORMANCE_GC_*). */
const GC_KINDS: Record<number, string> = { 1: 'minor', 4: 'major', 8: 'incremental', 16: 'weak callbacks' }
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = GC_KINDS[(entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? 0] ?? 'other'
    collections.push({ start: entry.startTime, end: entry.startTime + entry.duration, kind })
  }
}).observe({ entryTypes: ['gc'] })
const collectedDuring = (window: { start: number, end: number }): number =>
  collections.reduce((sum, gc) => sum + Math.max(0, Math.min(gc.end, window.end) - Math.max(gc.start, window.start)), 0)

const log = (message: string): void => { process.stderr.write(`# ${message}\n`) }
const bed = await startTestBed({ log, reuse: true })
const raw = await RawAmi.connect(settings.ami)
await hangupAllCalls()

const identities: Record<string, Identity> = { 'token-super': { extension: '100', role: 'supervisor' } }
const app = Fastify()
await app.register(asteriskTransfer, {
  ami: settings.ami,
  ari: settings.ari,
  transferContext,
  rateLimit: false,
  authenticate: (request) => identities[request.headers.authorization?.replace(/^Bearer /, '') ?? ''] ?? null
})
// The HTTP floor: an empty route of the same server, asked by the same client the same way.
app.get('/bench/empty', async () => ({}))
// The request's time inside the server, from Fastify's first hook to the answer written.
const serverStarted = new WeakMap<object, number>()
let lastServerMs = Number.NaN
app.addHook('onRequest', async (request) => { serverStarted.set(request, performance.now()) })
app.addHook('onResponse', async (request) => { lastServerMs = performance.now() - (serverStarted.get(request) ?? Number.NaN) })
const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' })
/** The timed requests come from another thread, as from a softphone backend elsewhere (bench/lib/remote-client.ts). */
const remote = await RemoteClient.start(settings.ami)

/** Published outcomes, by transfer id and state, stamped when the plugin published them. */
const published = new Map<string, number>()
for (const type of ['call:transfer_updated', 'call:ami_attended_transfer_completed', 'call:ami_attended_transfer_cancelled', 'call:ami_attended_transfer_started'] as const) {
  app.asteriskTransfers.on(type, (transfer) => { published.set(`${transfer.id}:${transfer.status}`, performance.now()) })
}
const outcome = async (id: string, status: string): Promise<number> =>
  await waitFor(() => published.get(`${id}:${status}`), 20_000, `transfer ${id} ${status}`, 2)

/** One kept-alive HTTP connection, as a softphone backend would hold: the request, not the client, is timed. */
const keptAlive = new http.Agent({ keepAlive: true, maxSockets: 1 })

interface Timed { cpuMs: number, waitingMs: number }

/**
 * Runs `action` (timed by the client's thread) with this thread's CPU time and wait for a core
 * meanwhile: the plugin's thread, which runs nothing of the clients.
 */
async function timed<T> (action: () => Promise<T>): Promise<T & Timed> {
  const before = threadTimes()
  const value = await action()
  const after = threadTimes()
  return { ...value, cpuMs: (after?.cpuMs ?? Number.NaN) - (before?.cpuMs ?? Number.NaN), waitingMs: (after?.waitingMs ?? Number.NaN) - (before?.waitingMs ?? Number.NaN) }
}

async function api (method: string, path: string, body?: object): Promise<{ status: number, json: Record<string, unknown>, ms: number }> {
  const payload = body === undefined ? undefined : JSON.stringify(body)
  const started = performance.now()
  return await new Promise((resolve, reject) => {
    const request = http.request(`${baseUrl}/api${path}`, {
      method,
      agent: keptAlive,
      headers: { authorization: 'Bearer token-super', ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }) }
    }, (response) => {
      let text = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => { text += chunk })
      response.on('end', () => { resolve({ status: response.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown>, ms: performance.now() - started }) })
    })
    request.on('error', reject)
    request.end(payload)
  })
}

/** Stamps the first raw AMI event matching `predicate` from now on. */
function stamp (predicate: (event: AmiMessage) => boolean): Promise<number> {
  return raw.nextEvent(predicate, 30_000).then(() => performance.now())
}

const text = (value: unknown): string => typeof value === 'string' ? value : ''

/** Originates Local pairs into [bench-background] until ARI counts `channels` of them. */
async function background (channels: number): Promise<number> {
  const count = async (): Promise<number> => (await listChannels()).filter((channel) => channel.name.startsWith('Local/wait@bench-background')).length
  const missing = Math.max(0, Math.ceil((channels - await count()) / 2))
  await Promise.all(Array.from({ length: missing }, async () => {
    await raw.action({ Action: 'Originate', Channel: 'Local/wait@bench-background', Application: 'Wait', Data: '3600', Async: 'true' })
  }))
  return await waitFor(async () => { const now = await count(); return now >= channels ? now : undefined }, 120_000, `${channels} background channels`, 500)
}

/** The background channels of the level being measured. */
let backgroundNow = 0

/**
 * The channels Asterisk has, from its own count: a listing of 2,000 channels is megabytes of JSON for
 * this thread (the plugin's) to parse after every transfer, garbage the next requests would pay for.
 */
async function channelCount (): Promise<number> {
  const answer = await raw.action({ Action: 'Command', Command: 'core show channels count' })
  const count = /(\d+) active channels?/.exec(String(answer.output ?? ''))?.[1]
  check(count !== undefined, `core show channels count answered ${JSON.stringify(answer)}`)
  return Number(count)
}

/** Hangs up the customer, agent and target legs (keeping the background), and waits until the plugin saw them go. */
async function hangupCalls (): Promise<void> {
  // The Local legs of a transfer go with the PJSIP legs they connect.
  await raw.action({ Action: 'Hangup', Channel: '/^PJSIP\\//' })
  await waitFor(async () => (await channelCount()) <= backgroundNow, 30_000, 'the calls gone', 200)
  await waitFor(() => app.asteriskTransfers.activeTransfers().length === 0, 30_000, 'no transfer in progress', 20)
}

/** A fresh call: the customer bridged with 101, known to the plugin's call monitor. */
async function freshCall (): Promise<{ customer: string, agent: string }> {
  const call = await callAgent('101')
  await waitFor(async () => {
    const located = await app.asteriskTransfers.getChannelForExtension('101').catch(() => undefined)
    return located?.peerChannel === call.customerChannel.name
  }, 20_000, 'the plugin sees the call', 20)
  return { customer: call.customerChannel.name, agent: call.agentChannel.name }
}

/**
 * 102 answered: the DialEnd ANSWER of its leg. Through the plugin (recall on) the customer dials
 * Local/102, whose other half dials 102; with the raw Redirect the customer dials 102 itself.
 */
const isTargetAnswer = (event: AmiMessage): boolean =>
  event.event === 'DialEnd' && text(event.dialstatus) === 'ANSWER' && text(event.destchannel).startsWith('PJSIP/102-')

/**
 * The bridges show the customer with the target's leg: the event that makes the customer's new bridge
 * hold two channels (the customer entering second, or the other leg entering after the customer).
 */
function bridgedAgain (customer: string): (event: AmiMessage) => boolean {
  let customerBridge: string | undefined
  return (event) => {
    if (event.event !== 'BridgeEnter') return false
    const bridge = text(event.bridgeuniqueid)
    if (text(event.channel) === customer) customerBridge = bridge
    return bridge === customerBridge && Number(text(event.bridgenumchannels)) >= 2
  }
}

interface Samples { windows: Array<{ start: number, end: number, ms: number }>, plugin: number[], raw: number[], httpFloor: number[], server: number[], pluginCpu: number[], rawCpu: number[], waiting: number[], answered: number[], answeredAfterCustomer: number[], answeredAfterBridged: number[], completed: number[], cancelled: number[] }

const noSamples = (): Samples => ({ windows: [], plugin: [], raw: [], httpFloor: [], server: [], pluginCpu: [], rawCpu: [], waiting: [], answered: [], answeredAfterCustomer: [], answeredAfterBridged: [], completed: [], cancelled: [] })

async function blindThroughPlugin (samples: Samples): Promise<void> {
  const { customer } = await freshCall()
  const answered = stamp(isTargetAnswer)
  // The event the plugin decides on: the customer's own Dial answered (through the recall's Local pair,
  // Asterisk passes 102's answer on to the customer's leg first).
  const customerAnswered = stamp((event) => event.event === 'DialEnd' && text(event.dialstatus) === 'ANSWER' && text(event.channel) === customer)
  const bridged = stamp(bridgedAgain(customer))
  const windowStart = performance.now()
  const response = await timed(async () => await remote.http(`${baseUrl}/api/transfers/execute`, 'POST', 'Bearer token-super', { extension: '101', targetExtension: '102', transferType: 'blind' }))
  samples.windows.push({ start: windowStart, end: performance.now(), ms: response.ms })
  check(response.status === 200, `execute answered ${response.status}: ${JSON.stringify(response.json)}`)
  samples.plugin.push(response.ms)
  samples.server.push(lastServerMs)
  samples.pluginCpu.push(response.cpuMs)
  samples.waiting.push(response.waitingMs)
  const asteriskAt = await answered
  const customerAt = await customerAnswered
  const bridgedAt = await bridged
  const pluginAt = await outcome(String(response.json.id), 'answered')
  samples.answered.push(pluginAt - asteriskAt)
  samples.answeredAfterCustomer.push(pluginAt - customerAt)
  samples.answeredAfterBridged.push(pluginAt - bridgedAt)
  await hangupCalls()
}

async function blindRaw (samples: Samples): Promise<void> {
  const { customer } = await freshCall()
  const answered = raw.nextEvent(isTargetAnswer, 30_000)
  const { message: response, ms, cpuMs } = await timed(async () => await remote.amiAction({ Action: 'Redirect', Channel: customer, Exten: '102', Context: transferContext, Priority: 1 }))
  samples.raw.push(ms)
  samples.rawCpu.push(cpuMs)
  check(response.response === 'Success', `Redirect refused: ${String(response.message)}`)
  await answered
  await hangupCalls()
  await new Promise((resolve) => setTimeout(resolve, 20))
  const empty = await remote.http(`${baseUrl}/bench/empty`, 'GET', '')
  check(empty.status === 200, `the empty route answered ${empty.status}`)
  samples.httpFloor.push(empty.ms)
}

/** Attended transfers Asterisk did not start (below), tried again on a fresh call. */
let attendedRetries = 0

async function attended (samples: Samples, end: 'complete' | 'cancel'): Promise<void> {
  const { agent } = await freshCall()
  const response = await api('POST', '/transfers/execute', { extension: '101', targetExtension: '102', transferType: 'attended' })
  // On a loaded machine Asterisk sometimes drops the Atxfer's digits (no consultation: the plugin answers
  // 502 XFER_CONSULTATION_NOT_STARTED, as it should). Counted, and tried again on a fresh call, a few times.
  if (response.status === 502 && response.json.code === 'XFER_CONSULTATION_NOT_STARTED' && attendedRetries < 5) {
    attendedRetries++
    log(`attended transfer not started by Asterisk (${attendedRetries}): tried again`)
    await hangupCalls()
    await attended(samples, end)
    return
  }
  check(response.status === 200, `attended execute answered ${response.status}: ${JSON.stringify(response.json)}`)
  const id = String(response.json.id)
  await outcome(id, 'target_answered')
  // Asterisk's first word on it: a completion shows as the agent's leg hanging up (Asterisk hands the
  // customer to the target then) or the AttendedTransfer Success, a cancel as the agent's Unhold or the
  // AttendedTransfer Fail, whichever comes first.
  const byAgent = (event: AmiMessage): boolean => text(event.channel) === agent || text(event.origtransfererchannel) === agent
  const decided = end === 'complete'
    ? stamp((event) => byAgent(event) && (event.event === 'Hangup' || (event.event === 'AttendedTransfer' && text(event.result) === 'Success')))
    : stamp((event) => byAgent(event) && (event.event === 'Unhold' || (event.event === 'AttendedTransfer' && text(event.result) !== 'Success')))
  const settled = await api('POST', `/transfers/${id}/${end}`)
  check(settled.status === 200, `${end} answered ${settled.status}: ${JSON.stringify(settled.json)}`)
  const asteriskAt = await decided
  const pluginAt = await outcome(id, end === 'complete' ? 'completed' : 'cancelled')
  ;(end === 'complete' ? samples.completed : samples.cancelled).push(pluginAt - asteriskAt)
  await hangupCalls()
}

const sorted = (values: number[]): number[] => [...values].sort((a, b) => a - b)
const p = (values: number[], q: number): number => round(percentile(sorted(values), q))

async function level (channels: number): Promise<Record<string, number | string>> {
  const backgroundChannels = await background(channels)
  backgroundNow = backgroundChannels
  log(`${backgroundChannels} background channels`)
  const samples = noSamples()
  const collectionsBefore = collections.length
  // One unmeasured of each: the first request compiles code and opens the HTTP connection.
  await blindThroughPlugin(noSamples())
  await blindRaw(noSamples())
  for (let run = 0; run < BLIND_RUNS; run++) {
    await blindThroughPlugin(samples)
    await blindRaw(samples)
  }
  for (let run = 0; run < ATTENDED_RUNS; run++) {
    await attended(samples, 'complete')
    await attended(samples, 'cancel')
  }
  const overhead = sorted(samples.plugin).map((value, index) => value - (sorted(samples.raw)[index] ?? Number.NaN))
  // The observer's entries arrive after the collection: wait a turn before reading them.
  await new Promise((resolve) => setTimeout(resolve, 50))
  const gcInWindows = samples.windows.map((window) => ({ ms: window.ms, gc: collectedDuring(window) }))
  const slowest = gcInWindows.reduce((a, b) => (b.ms > a.ms ? b : a), { ms: 0, gc: 0 })
  const levelCollections = collections.slice(collectionsBefore)
  return {
    backgroundChannels,
    executeMedianMs: p(samples.plugin, 0.5),
    executeP99Ms: p(samples.plugin, 0.99),
    rawRedirectMedianMs: p(samples.raw, 0.5),
    rawRedirectP99Ms: p(samples.raw, 0.99),
    overheadMedianMs: round(percentile(sorted(samples.plugin), 0.5) - percentile(sorted(samples.raw), 0.5)),
    overheadP99Ms: round(percentile(sorted(samples.plugin), 0.99) - percentile(sorted(samples.raw), 0.99)),
    overheadMaxPairedMs: round(Math.max(...overhead)),
    httpFloorMedianMs: p(samples.httpFloor, 0.5),
    overheadOverHttpFloorMedianMs: round(percentile(sorted(samples.plugin), 0.5) - percentile(sorted(samples.raw), 0.5) - percentile(sorted(samples.httpFloor), 0.5)),
    executeInServerMedianMs: p(samples.server, 0.5),
    executeCpuMedianMs: p(samples.pluginCpu, 0.5),
    executeWaitingForCpuMedianMs: p(samples.waiting, 0.5),
    rawRedirectCpuMedianMs: p(samples.rawCpu, 0.5),
    answeredAfterAsteriskMedianMs: p(samples.answered, 0.5),
    answeredAfterAsteriskP99Ms: p(samples.answered, 0.99),
    answeredAfterCustomerDialEndMedianMs: p(samples.answeredAfterCustomer, 0.5),
    answeredAfterBridgeEnterMedianMs: p(samples.answeredAfterBridged, 0.5),
    answeredAfterBridgeEnterP99Ms: p(samples.answeredAfterBridged, 0.99),
    completedAfterAsteriskMedianMs: p(samples.completed, 0.5),
    cancelledAfterAsteriskMedianMs: p(samples.cancelled, 0.5),
    executeP99OverMedian: round(percentile(sorted(samples.plugin), 0.99) / percentile(sorted(samples.plugin), 0.5)),
    gcPausesInLevel: levelCollections.length,
    gcLongestPauseMs: round(Math.max(0, ...levelCollections.map((gc) => gc.end - gc.start))),
    gcLongestPauseKind: levelCollections.reduce<{ ms: number, kind: string }>((a, gc) => (gc.end - gc.start > a.ms ? { ms: gc.end - gc.start, kind: gc.kind } : a), { ms: 0, kind: '' }).kind,
    gcMinorPauses: levelCollections.filter((gc) => gc.kind === 'minor').length,
    gcInExecuteMaxMs: round(Math.max(0, ...gcInWindows.map((window) => window.gc))),
    gcInSlowestExecuteMs: round(slowest.gc),
    executesWithGc: gcInWindows.filter((window) => window.gc > 0).length,
    attendedNotStartedRetried: attendedRetries
  }
}

const result = newResult('transfer-pbx', { backgroundChannels: BACKGROUND, blindRuns: BLIND_RUNS, attendedRuns: ATTENDED_RUNS })
await measureAtLevels(result, BACKGROUND, level, {
  raw,
  reused: bed.reused,
  log,
  close: async () => {
    await remote.close()
    keptAlive.destroy()
    await app.close()
  }
})

const first = result.rows[0] as Record<string, number>
const last = result.rows.at(-1) as Record<string, number>
const ratio = (key: string): number => round((last[key] as number) / (first[key] as number))
result.ratios = {
  [`execute median, ${last.backgroundChannels} over ${first.backgroundChannels} channels`]: ratio('executeMedianMs'),
  [`answered after Asterisk, median, ${last.backgroundChannels} over ${first.backgroundChannels}`]: ratio('answeredAfterAsteriskMedianMs'),
  [`answered after the customer's DialEnd, median, ${last.backgroundChannels} over ${first.backgroundChannels}`]: ratio('answeredAfterCustomerDialEndMedianMs'),
  [`answered after the bridges show it, median, ${last.backgroundChannels} over ${first.backgroundChannels}`]: ratio('answeredAfterBridgeEnterMedianMs'),
  [`completed after Asterisk, median, ${last.backgroundChannels} over ${first.backgroundChannels}`]: ratio('completedAfterAsteriskMedianMs'),
  [`cancelled after Asterisk, median, ${last.backgroundChannels} over ${first.backgroundChannels}`]: ratio('cancelledAfterAsteriskMedianMs')
}
for (const row of result.rows) {
  result.targets.push(
    { name: `execute less the raw Redirect less the HTTP floor, median, ${row.backgroundChannels} channels`, target: `<= ${TARGET_OVERHEAD_OVER_FLOOR_MS} ms`, measured: `${row.overheadOverHttpFloorMedianMs} ms`, met: (row.overheadOverHttpFloorMedianMs as number) <= TARGET_OVERHEAD_OVER_FLOOR_MS },
    { name: `execute overhead over the raw Redirect, median, ${row.backgroundChannels} channels`, target: `<= ${TARGET_MEDIAN_OVERHEAD_MS} ms`, measured: `${row.overheadMedianMs} ms`, met: (row.overheadMedianMs as number) <= TARGET_MEDIAN_OVERHEAD_MS },
    { name: `execute overhead over the raw Redirect, p99, ${row.backgroundChannels} channels`, target: `<= ${TARGET_P99_OVERHEAD_MS} ms`, measured: `${row.overheadP99Ms} ms`, met: (row.overheadP99Ms as number) <= TARGET_P99_OVERHEAD_MS }
  )
}
result.targets.push({ name: `execute p99 over its median, ${last.backgroundChannels} channels`, target: `<= ${TARGET_P99_OVER_MEDIAN}`, measured: `${last.executeP99OverMedian} (${last.executeP99Ms} / ${last.executeMedianMs} ms)`, met: (last.executeP99OverMedian as number) <= TARGET_P99_OVER_MEDIAN })
for (const key of ['answeredAfterAsteriskMedianMs', 'answeredAfterCustomerDialEndMedianMs', 'answeredAfterBridgeEnterMedianMs', 'completedAfterAsteriskMedianMs', 'cancelledAfterAsteriskMedianMs']) {
  // Differences of a few ms: the ratio of two tiny numbers says little, so 1 ms of slack is allowed.
  const met = (last[key] as number) <= TARGET_OUTCOME_RATIO * (first[key] as number) + 1
  result.targets.push({ name: `${key.replace('AfterAsteriskMedianMs', '').replace('AfterCustomerDialEndMedianMs', ' (after the customer\'s DialEnd)').replace('AfterBridgeEnterMedianMs', ' (after the BridgeEnter that shows it)')} after Asterisk's event, ${last.backgroundChannels} vs ${first.backgroundChannels} channels`, target: `within ${TARGET_OUTCOME_RATIO}x (+1 ms)`, measured: `${last[key]} ms vs ${first[key]} ms`, met })
}
result.notes.push(
  'Real Asterisk 22 (the test bed): customer1 calls agent 101 through the phone farm, whose phones answer at once; background channels are Local pairs waiting in [bench-background]. Each transfer is a fresh call; plugin and raw runs alternate.',
  `execute*: POST /api/transfers/execute (blind, 101's customer to 102, recall on as by default) from a client in another thread of this process (as a softphone backend on another machine: nothing of it runs on the plugin's thread) over HTTP on 127.0.0.1 (a kept-alive connection) to the plugin, until the answer (median and p99 of ${BLIND_RUNS}). rawRedirect*: an AMI Redirect of the same kind of call to 102 written on a bare TCP socket by the same client thread (logged in with Events: off), until Asterisk's response. overhead*: the difference of the two at the same percentile; overheadMaxPairedMs: the largest difference between the n-th fastest of each. httpFloorMedianMs: a GET of an empty route on the same server by the same client (after each raw Redirect): the HTTP round trip between the two threads, which the raw Redirect has none of; overheadOverHttpFloorMedianMs: the median overhead less that floor. executeInServerMedianMs: the execute request inside the server, from Fastify's onRequest to its onResponse (the answer written), Asterisk's round trip included. executeCpuMedianMs: CPU time of the plugin's thread during a request, rawRedirectCpuMedianMs the same for the raw Redirect, executeWaitingForCpuMedianMs: the time that thread was ready to run but waited for a core taken by other processes (Linux schedstat): on a shared machine it is a large part of the wall time.`,
  `*AfterAsterisk*: from Asterisk's deciding event on a bare AMI socket in this process (the DialEnd ANSWER of 102's leg; for completed the first of the agent's Hangup and AttendedTransfer Success; for cancelled the first of the agent's Unhold and AttendedTransfer Fail) to the plugin publishing answered / completed / cancelled (${ATTENDED_RUNS} attended transfers each completed and cancelled per level). answeredAfterCustomerDialEnd: from the customer's own DialEnd ANSWER, the event the plugin decides on (with recall the customer dials 102 through a Local pair, and Asterisk passes the answer on to the customer's leg first). answeredAfterBridgeEnter: from the BridgeEnter that puts the customer's new bridge at two channels, the moment the bridges show the outcome (the plugin declares it only then): what is left is the plugin's own time, while the time from DialEnd to that BridgeEnter is Asterisk's.`
)
result.notes.push('executeP99OverMedian: the execute\'s p99 over its median. gc*: the garbage collections of the plugin\'s thread during the level (V8\'s performance entries): how many, the longest, the most collection time inside one execute\'s window, the collection time inside the slowest execute, and how many executes saw one: a slow execute with no collection in it waited for something else (a core, Asterisk).')
writeResult(result, 'Transfers on the real PBX: overhead and time to a confirmed outcome')
