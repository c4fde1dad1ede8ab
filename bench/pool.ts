// A pool of Asterisk servers against one: the same 2,000 channels on one server, or 500 on each of
// four, through the plugin's services as src/asterisk-pool.ts wires them (a call monitor and agent
// states per server, one transfer service with an engine per server, one event log). What each
// server's share costs must not grow with the number of servers.
//
// 1. Lookup: finding an agent's call (`TransferService.getChannelForExtension`, the first step of every
//    transfer request) among 2,000 channels on one server, or 4 × 500: the pool first finds the server
//    whose call monitor knows a call of the agent's, then looks there.
// 2. Ingest: the recorded AMI stream of bench/ingest.ts, 3,000 calls 1,000 at a time (2,000 channels)
//    from one stand-in AMI server, or 750 calls 250 at a time (500 channels) from each of four, played
//    at once (all stand-ins in one writer thread either way), read by the plugin's AMI clients
//    (AsteriskPbx, the services): the time until the last stream's end, per event.
//
// Rows alternate (one server, then four) ROUNDS times; the best of each is kept. Ratios: four over one.
import { EventEmitter } from 'node:events'
import { performance } from 'node:perf_hooks'
import { Worker } from 'node:worker_threads'
import type { AriClient } from '../src/asterisk/ari-client.js'
import { AsteriskPbx } from '../src/asterisk/pbx.js'
import { CallMonitor } from '../src/calls/call-monitor.js'
import { TransferService } from '../src/transfers/transfer-service.js'
import { FakePbx } from '../test/helpers/fake-pbx.js'
import { answered, syntheticCall, type SyntheticCall } from '../test/helpers/synthetic-calls.js'
import { benchAmiClient, buildAmiStream, type AmiStream } from './lib/ami-stream.js'
import { check, newResult, percentile, round, writeResult } from './lib/common.js'
import { startPoolServices } from './lib/services.js'

const CHANNELS = 2000
const LAYOUTS = [1, 4] as const
/** Lookups also with two servers: a pool's fixed cost (finding the agent's server) against its growth with the server count. */
const LOOKUP_LAYOUTS = [1, 2, 4] as const
const LOOKUPS = 20_000
const ROUNDS = Number(process.env.BENCH_POOL_ROUNDS ?? 3)
/** Calls of the ingest stream in all, as bench/ingest.ts: 3,000, 1,000 at a time, 500 left up. */
const CALLS = 3000
const CONCURRENT = 1000
const LEFT_UP = 500
/** Four servers may cost this much more than one for the same total (timers, four sockets). */
const TARGET_RATIO = 1.2

const serverName = (index: number): string => `pbx${index + 1}`

// ---- lookup

interface LookupRun { servers: number, p50Microseconds: number, p99Microseconds: number, meanMicroseconds: number }

async function lookupRun (servers: number): Promise<LookupRun> {
  const perServer = CHANNELS / servers / 2
  const pbxs = Array.from({ length: servers }, () => new FakePbx())
  const monitors = pbxs.map((pbx) => new CallMonitor(pbx))
  for (const monitor of monitors) await monitor.start()
  const transfers = new TransferService(pbxs.map((pbx, index) => ({ name: serverName(index), pbx, calls: monitors[index] as CallMonitor })), { transferContext: 'from-internal', channelTechnology: 'PJSIP', consultationTimeoutMs: 30_000 })
  // Each server numbers its channels from the same start, as Asterisk servers do (names and uniqueids
  // collide across servers); agents are each on one server.
  const calls: Array<SyntheticCall & { server: string }> = []
  pbxs.forEach((pbx, server) => {
    for (let index = 0; index < perServer; index++) {
      const call = { ...syntheticCall(index, String(10_000 + server * perServer + index)), server: serverName(server) }
      calls.push(call)
      for (const event of answered(call)) pbx.events.emit('event', event)
    }
  })
  check(monitors.reduce((sum, monitor) => sum + monitor.channelCount, 0) === CHANNELS, 'the monitors know every channel')
  const order = Array.from({ length: LOOKUPS }, (_, index) => calls[(index * 7919) % calls.length] as SyntheticCall & { server: string })
  const durations = new Float64Array(LOOKUPS)
  for (let index = 0; index < LOOKUPS; index++) {
    const call = order[index] as SyntheticCall & { server: string }
    const started = performance.now()
    const located = await transfers.getChannelForExtension(call.extension)
    durations[index] = (performance.now() - started) * 1000
    if (located.agentChannel !== call.agent || located.peerChannel !== call.customer || (servers > 1 && located.server !== call.server)) {
      check(false, `lookup of ${call.extension}: ${located.agentChannel} with ${located.peerChannel} on ${String(located.server)}, expected ${call.agent} with ${call.customer} on ${call.server}`)
    }
  }
  check(pbxs.every((pbx) => pbx.calls.filter((call) => call.method === 'snapshot').length === 1), 'a lookup asked ARI for a snapshot')
  for (const monitor of monitors) monitor.stop()
  const sorted = durations.sort()
  return {
    servers,
    p50Microseconds: round(percentile(sorted, 0.5)),
    p99Microseconds: round(percentile(sorted, 0.99)),
    meanMicroseconds: round(sorted.reduce((sum, value) => sum + value, 0) / LOOKUPS)
  }
}

// ---- ingest

interface Feed { streams: AmiStream[], ports: number[], worker: Worker }

async function feed (servers: number): Promise<Feed> {
  const streams = Array.from({ length: servers }, (_, index) => buildAmiStream({
    calls: CALLS / servers,
    concurrent: CONCURRENT / servers,
    leftUp: LEFT_UP / servers,
    offset: index * (CONCURRENT / servers)
  }))
  const worker = new Worker(new URL('./lib/ami-replay-server.mjs', import.meta.url), { workerData: { streams: streams.map((stream) => stream.bytes) } })
  const ports = await new Promise<number[]>((resolve) => worker.once('message', (message: { ports: number[] }) => resolve(message.ports)))
  return { streams, ports, worker }
}

interface IngestRun { servers: number, events: number, seconds: number, microsecondsPerEvent: number, eventsPerSecond: number, mainThreadBusy: number }

async function ingestRun ({ streams, ports, worker }: Feed): Promise<IngestRun> {
  const amis = ports.map(benchAmiClient)
  const ari = (): AriClient => Object.assign(new EventEmitter(), { ready: true, listChannels: async () => [], listBridges: async () => [], listEndpoints: async () => [] }) as unknown as AriClient
  const pbxs = amis.map((ami) => new AsteriskPbx(ami, ari()))
  for (const ami of amis) await ami.start()
  const services = await startPoolServices(pbxs.map((pbx, index) => ({
    name: serverName(index),
    pbx,
    agents: Array.from({ length: (streams[index] as AmiStream).agents }, (_, agent) => String(2000 + index * (CONCURRENT / amis.length) + agent))
  })))
  const ended = amis.map(async (ami) => await new Promise<void>((resolve) => {
    ami.on('event', (message) => { if (message.userevent === 'BenchEnd') resolve() })
  }))
  const elu = performance.eventLoopUtilization()
  const started = performance.now()
  worker.postMessage({ type: 'play' })
  await Promise.all(ended)
  const seconds = (performance.now() - started) / 1000
  const busy = performance.eventLoopUtilization(elu).utilization
  const events = streams.reduce((sum, stream) => sum + stream.events, 0)
  const liveChannels = streams.reduce((sum, stream) => sum + stream.liveChannels, 0)
  const known = services.monitors.reduce((sum, monitor) => sum + monitor.channelCount, 0)
  check(known === liveChannels, `the call monitors know ${known} channels at the end, Asterisk would have ${liveChannels}`)
  check(services.eventLog.lastId > 0, 'nothing was published to the event log')
  await services.stop()
  for (const ami of amis) await ami.close()
  return { servers: amis.length, events, seconds: round(seconds, 3), microsecondsPerEvent: round((seconds * 1e6) / events), eventsPerSecond: Math.round(events / seconds), mainThreadBusy: round(busy) }
}

// ---- the run

const feeds = new Map<number, Feed>()
for (const servers of LAYOUTS) feeds.set(servers, await feed(servers))
// One unmeasured round of each: code loading and compilation.
for (const servers of LOOKUP_LAYOUTS) await lookupRun(servers)
for (const servers of LAYOUTS) await ingestRun(feeds.get(servers) as Feed)
const lookups = new Map<number, LookupRun[]>(LOOKUP_LAYOUTS.map((servers) => [servers, []]))
const ingests = new Map<number, IngestRun[]>(LAYOUTS.map((servers) => [servers, []]))
for (let index = 0; index < ROUNDS; index++) {
  for (const servers of LOOKUP_LAYOUTS) lookups.get(servers)?.push(await lookupRun(servers))
  for (const servers of LAYOUTS) ingests.get(servers)?.push(await ingestRun(feeds.get(servers) as Feed))
  process.stdout.write(`round ${index + 1}: ${LOOKUP_LAYOUTS.map((servers) => `${servers} server(s): lookup p50 ${lookups.get(servers)?.at(-1)?.p50Microseconds} µs`).join('; ')}; ${LAYOUTS.map((servers) => `${servers} server(s): ingest ${ingests.get(servers)?.at(-1)?.microsecondsPerEvent} µs/event`).join('; ')}\n`)
}
for (const { worker } of feeds.values()) worker.postMessage({ type: 'close' })

const bestLookup = (servers: number): LookupRun => (lookups.get(servers) ?? []).reduce((a, b) => (b.p50Microseconds < a.p50Microseconds ? b : a))
const bestIngest = (servers: number): IngestRun => (ingests.get(servers) ?? []).reduce((a, b) => (b.seconds < a.seconds ? b : a))
const result = newResult('pool', { channels: CHANNELS, layouts: LAYOUTS, lookupLayouts: LOOKUP_LAYOUTS, lookups: LOOKUPS, calls: CALLS, concurrentCalls: CONCURRENT, callsLeftUp: LEFT_UP, rounds: ROUNDS })
for (const servers of LOOKUP_LAYOUTS) {
  const lookup = bestLookup(servers)
  const ingest = (LAYOUTS as readonly number[]).includes(servers) ? bestIngest(servers) : undefined
  result.rows.push({
    layout: `${servers} × ${CHANNELS / servers} channels`,
    lookupP50Microseconds: lookup.p50Microseconds,
    lookupP99Microseconds: lookup.p99Microseconds,
    lookupMeanMicroseconds: lookup.meanMicroseconds,
    ingestEvents: ingest?.events ?? '',
    ingestSeconds: ingest?.seconds ?? '',
    ingestMicrosecondsPerEvent: ingest?.microsecondsPerEvent ?? '',
    ingestEventsPerSecond: ingest?.eventsPerSecond ?? '',
    ingestMainThreadBusy: ingest?.mainThreadBusy ?? ''
  })
}
const [one, four] = LAYOUTS.map((servers) => ({ lookup: bestLookup(servers), ingest: bestIngest(servers) })) as [{ lookup: LookupRun, ingest: IngestRun }, { lookup: LookupRun, ingest: IngestRun }]
const two = bestLookup(2)
result.ratios = {
  'lookup p50, 4 servers over 2': round(four.lookup.p50Microseconds / two.p50Microseconds),
  'lookup p50, 4 servers over 1': round(four.lookup.p50Microseconds / one.lookup.p50Microseconds),
  'lookup p99, 4 servers over 1': round(four.lookup.p99Microseconds / one.lookup.p99Microseconds),
  'ingest time per event, 4 servers over 1': round(four.ingest.microsecondsPerEvent / one.ingest.microsecondsPerEvent)
}
result.targets.push(
  { name: 'lookup p50, 4 × 500 channels against 1 × 2,000', target: `within ${TARGET_RATIO}x`, measured: `${four.lookup.p50Microseconds} µs vs ${one.lookup.p50Microseconds} µs`, met: four.lookup.p50Microseconds <= TARGET_RATIO * one.lookup.p50Microseconds },
  { name: 'lookup p50, 4 × 500 channels against 2 × 1,000 (growth with the server count, past the pool\'s fixed cost)', target: `within ${TARGET_RATIO}x`, measured: `${four.lookup.p50Microseconds} µs vs ${two.p50Microseconds} µs`, met: four.lookup.p50Microseconds <= TARGET_RATIO * two.p50Microseconds },
  { name: 'ingest per event, 4 × 500 channels against 1 × 2,000 (the same total)', target: `within ${TARGET_RATIO}x`, measured: `${four.ingest.microsecondsPerEvent} µs vs ${one.ingest.microsecondsPerEvent} µs`, met: four.ingest.microsecondsPerEvent <= TARGET_RATIO * one.ingest.microsecondsPerEvent }
)
result.notes.push(
  `Lookup: ${CHANNELS} channels (answered synthetic calls, customer and agent bridged) on one server, or split evenly over two or four (channel names and uniqueids the same on every server, as Asterisk numbers them; each agent on one server), then ${LOOKUPS} lookups of agents in a scattered order, each timed alone, through one TransferService with an engine per server. Best p50 of ${ROUNDS} rounds.`,
  `Ingest: the recorded AMI stream of bench/ingest.ts (${CALLS} calls, ${CONCURRENT} at a time, ${LEFT_UP} left up) from one stand-in AMI server, or a quarter of it (its own agents) from each of four, played at once by one writer thread; the plugin's AMI clients, AsteriskPbx, call monitors and agent states per server, one TransferService and one EventLog, in the measured thread. Time until the last stream's end. Best of ${ROUNDS} rounds, alternating.`
)
writeResult(result, 'A pool of servers against one: lookup and ingest')
