// Feed fan-out: how fast the WebSocket feed (`GET /api/events`) delivers a busy PBX's events to many
// softphones, and what each connected softphone costs the server in memory. The same event stream is
// sent in bursts to 10, 100 and 500 sockets in one run, so the ratios between them mean something on a
// noisy machine; then a call center's steady load: 1,000 sockets, events at 2,000 per second, with the
// server's heap before and after. The sockets live in a worker thread: the server's heap holds only
// the server's side.
//
//   npm run bench -- feed-fanout   (writes bench/results/feed-fanout.json and .md)
import { Worker } from 'node:worker_threads'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { EventLog } from '../src/domain/event-log.js'
import type { Identity } from '../src/identity.js'
import { buildApi } from '../test/helpers/api-host.js'
import { FakePbx } from '../test/helpers/fake-pbx.js'
import { check, heapUsed, newResult, percentile, round, threadTimes, writeResult, type ThreadTimes } from './lib/common.js'

const SOCKET_COUNTS = [10, 100, 500]
const EVENTS = 5000
/** The steady load: sockets, events per second, seconds. */
const STEADY = { sockets: 1000, rate: 2000, seconds: 5 }
const TARGET_P99_MS = 50
/** Heap growth over the steady run that still counts as bounded (the log and the socket buffers cap it). */
const BOUNDED_GROWTH_MIB = 10
/** Events appended per turn of the event loop: a burst, as when a queue's calls all change at once. */
const BURST = 100
/** One event in ten is an `agent:status`, which every socket receives; the rest go to one agent. */
const BROADCAST_EVERY = 10
const SUPERVISOR_SHARE = 0.05
const DELIVERY_TIMEOUT_MS = 120_000

const now = (): number => performance.timeOrigin + performance.now()

/**
 * For studying the feed (not used by `npm run bench`): FEED_FLUSH_MS sets the feed's flushIntervalMs
 * (default 5 ms); FEED_STEADY_ONLY=1 runs only the steady row (after the warm-up), e.g. under
 * `node --cpu-prof`.
 */
const FLUSH_INTERVAL_MS = process.env.FEED_FLUSH_MS === undefined ? undefined : Number(process.env.FEED_FLUSH_MS)
const STEADY_ONLY = process.env.FEED_STEADY_ONLY === '1'

/** `Bearer 2000` is agent 2000, `Bearer super-1` a supervisor. */
async function authenticate (request: FastifyRequest): Promise<Identity | null> {
  const token = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1]
  if (token === undefined) return null
  return token.startsWith('super-') ? { extension: token, role: 'supervisor' } : { extension: token, role: 'agent' }
}

interface WorkerReport { received: number[], lastAt: number[], times: ThreadTimes, failures: string[] }

function ask<T> (worker: Worker, message: object, answer: string): Promise<T> {
  return new Promise((resolve) => {
    const listen = (reply: { type: string }): void => {
      if (reply.type !== answer) return
      worker.off('message', listen)
      resolve(reply as T)
    }
    worker.on('message', listen)
    worker.postMessage(message)
  })
}

async function startServer (eventLog: EventLog): Promise<{ app: FastifyInstance, address: string }> {
  const { app } = await buildApi(new FakePbx(), { eventLog, authenticate, ...(FLUSH_INTERVAL_MS === undefined ? {} : { feed: { flushIntervalMs: FLUSH_INTERVAL_MS } }) })
  return { app, address: await app.listen({ host: '127.0.0.1', port: 0 }) }
}

/**
 * Opens one socket per token in a worker thread; resolves once all are open. The first `agents` tokens
 * are the agents events are addressed to (appendEvent), the others supervisors: the worker checks that
 * each socket gets exactly what its identity may see.
 */
async function openSockets (address: string, tokens: string[], events = EVENTS, agents = tokens.length): Promise<Worker> {
  const worker = new Worker(new URL('./feed-clients.mjs', import.meta.url), {
    workerData: { url: `${address.replace(/^http/, 'ws')}/api/events`, tokens, events, agents, broadcastEvery: BROADCAST_EVERY }
  })
  await new Promise<void>((resolve, reject) => {
    worker.once('error', reject)
    worker.once('message', () => resolve())
  })
  return worker
}

/**
 * Server heap per connected socket, as the slope between two batches of sockets: what the first
 * connections pay once (code, the WebSocket server) cancels out.
 */
async function socketHeap (batch: number): Promise<Record<string, number>> {
  const { app, address } = await startServer(new EventLog())
  const tokens = (from: number): string[] => Array.from({ length: batch }, (_, index) => String(from + index))
  const first = await openSockets(address, tokens(3000))
  const afterFirst = await heapUsed()
  const second = await openSockets(address, tokens(3000 + batch))
  const afterSecond = await heapUsed()
  for (const worker of [first, second]) worker.postMessage({ type: 'close' })
  await app.close()
  return { sockets: 2 * batch, heapPerSocketKiB: round((afterSecond - afterFirst) / batch / 1024) }
}

/** Appends event `id`: one in BROADCAST_EVERY an agent:status for everyone, the others a call:status for one agent. */
function appendEvent (eventLog: EventLog, agents: string[], id: number): void {
  const extension = agents[id % agents.length] as string
  if (id % BROADCAST_EVERY === 0) {
    eventLog.append('agent:status', { extension, state: 'available' }, 'everyone')
    return
  }
  eventLog.append('call:status', {
    extension,
    uniqueId: `1764100000.${id}`,
    ended: false,
    call: {
      extension,
      channel: `PJSIP/${extension}-${id.toString(16).padStart(8, '0')}`,
      uniqueId: `1764100000.${id}`,
      linkedId: `1764100000.${id - 1}`,
      state: 'up',
      peer: { channel: `PJSIP/trunk-${id.toString(16).padStart(8, '0')}`, number: '+4930123456' },
      startedAt: new Date().toISOString()
    }
  }, { extensions: [extension] })
}

/**
 * Bursts (no rate): events appended BURST per turn of the event loop, as fast as the server takes them.
 * Steady (rate): events appended at `rate` per second, those due every 5 ms together, as AMI delivers them.
 */
async function scenario (sockets: number, rate?: number, events = EVENTS): Promise<Record<string, number>> {
  const supervisors = Math.max(1, Math.round(sockets * SUPERVISOR_SHARE))
  const agents = Array.from({ length: sockets - supervisors }, (_, index) => String(2000 + index))
  const tokens = [...agents, ...Array.from({ length: supervisors }, (_, index) => `super-${index}`)]

  const eventLog = new EventLog()
  const { app, address } = await startServer(eventLog)

  const worker = await openSockets(address, tokens, events, agents.length)
  const heapBefore = await heapUsed()

  // Each event's audience: one agent (round robin) or everyone; supervisors see all.
  const appendedAt = new Float64Array(events + 1)
  const expected = new Uint32Array(events + 1)
  for (let id = 1; id <= events; id++) expected[id] = id % BROADCAST_EVERY === 0 ? sockets : 1 + supervisors
  const totalDeliveries = expected.reduce((sum, count) => sum + count, 0)

  const clientBefore = (await ask<WorkerReport>(worker, { type: 'report' }, 'report')).times
  const serverBefore = threadTimes()
  const started = now()
  let id = 1
  while (id <= events) {
    // Bursts: BURST at a time. Steady: every event due by now.
    const due = rate === undefined ? Math.min(events, id + BURST - 1) : Math.min(events, Math.floor(((now() - started) / 1000) * rate))
    for (; id <= due; id++) {
      appendEvent(eventLog, agents, id)
      // Steady: latency counts from when the event was due, as Asterisk sent it; a server that falls
      // behind delays the events still waiting in its AMI socket, and that delay is part of the latency.
      appendedAt[id] = rate === undefined ? now() : started + (id / rate) * 1000
    }
    if (rate === undefined) await new Promise((resolve) => setImmediate(resolve))
    else await new Promise((resolve) => setTimeout(resolve, 5))
  }
  const appendMs = now() - started

  let report: WorkerReport
  const deadline = Date.now() + DELIVERY_TIMEOUT_MS
  for (;;) {
    report = await ask<WorkerReport>(worker, { type: 'report' }, 'report')
    check(report.failures.length === 0, `${sockets} sockets: ${report.failures.join('; ')}`)
    const delivered = report.received.reduce((sum, count) => sum + count, 0)
    if (delivered >= totalDeliveries) break
    if (Date.now() > deadline) throw new Error(`${sockets} sockets: ${delivered} of ${totalDeliveries} deliveries after ${DELIVERY_TIMEOUT_MS} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  for (let id = 1; id <= events; id++) {
    check(report.received[id] === expected[id], `event ${id}: ${report.received[id]} deliveries, expected ${expected[id]}: a socket got what it may not see, or missed one`)
  }
  const latencyOf = (id: number): number => (report.lastAt[id] ?? 0) - (appendedAt[id] ?? 0)
  const latencies = Array.from({ length: events }, (_, index) => latencyOf(index + 1)).sort((a, b) => a - b)
  // Steady: the latency of the events due in each second, to tell a start-up transient or a stall of
  // the machine from a steady backlog.
  const bySecond = rate === undefined
    ? []
    : Array.from({ length: Math.ceil(events / rate) }, (_, second) => {
      const ids = Array.from({ length: rate }, (_, index) => second * rate + index + 1).filter((id) => id <= events)
      const sorted = ids.map(latencyOf).sort((a, b) => a - b)
      return { second, p50Ms: round(percentile(sorted, 0.5)), p99Ms: round(percentile(sorted, 0.99)), maxMs: round(sorted.at(-1) ?? Number.NaN) }
    })
  const lastDelivery = Math.max(...report.lastAt.slice(1))
  const totalMs = lastDelivery - started
  // The server's thread until the last delivery (the report polling adds a little), the clients' thread.
  const serverAfter = threadTimes()
  const serverCpuMs = (serverAfter?.cpuMs ?? Number.NaN) - (serverBefore?.cpuMs ?? Number.NaN)
  const serverWaitingMs = (serverAfter?.waitingMs ?? Number.NaN) - (serverBefore?.waitingMs ?? Number.NaN)
  const clientCpuMs = report.times.cpuMs - clientBefore.cpuMs
  const clientWaitingMs = report.times.waitingMs - clientBefore.waitingMs

  const heapAfter = await heapUsed()
  worker.postMessage({ type: 'close' })
  await app.close()
  if (bySecond.length > 0) latencyBySecond.push(...bySecond)
  return {
    sockets,
    supervisors,
    eventsPerSecond: rate ?? 0,
    events,
    deliveries: totalDeliveries,
    appendMs: round(appendMs),
    totalMs: round(totalMs),
    deliveriesPerSecond: Math.round(totalDeliveries / (totalMs / 1000)),
    microsecondsPerDelivery: round((totalMs * 1000) / totalDeliveries),
    latencyP50Ms: round(percentile(latencies, 0.5)),
    latencyP99Ms: round(percentile(latencies, 0.99)),
    latencyMaxMs: round(latencies.at(-1) ?? Number.NaN),
    serverCpuMs: round(serverCpuMs),
    serverCpuMicrosecondsPerDelivery: round((serverCpuMs * 1000) / totalDeliveries),
    serverCpuShare: round(serverCpuMs / totalMs),
    serverWaitingForCpuShare: round(serverWaitingMs / totalMs),
    clientsCpuShare: round(clientCpuMs / totalMs),
    clientsWaitingForCpuShare: round(clientWaitingMs / totalMs),
    heapGrowthMiB: round((heapAfter - heapBefore) / 2 ** 20)
  }
}

/** The steady row's latency per second of the run (filled by `scenario`). */
const latencyBySecond: Array<Record<string, number>> = []

/** Heap of the event log once full, with events like the ones above. */
async function eventLogHeap (): Promise<Record<string, number>> {
  const before = await heapUsed()
  const log = new EventLog()
  for (let id = 1; id <= log.capacity * 2; id++) {
    const extension = String(2000 + (id % 300))
    log.append('call:status', { extension, uniqueId: `1764100000.${id}`, ended: true }, { extensions: [extension] })
  }
  const bytes = (await heapUsed()) - before
  return { capacity: log.capacity, heapKiB: round(bytes / 1024), bytesPerEvent: Math.round(bytes / log.capacity), lastId: log.lastId }
}

// Memory first, while the heap holds nothing else.
const eventLogMemory = await eventLogHeap()
const socketMemory = STEADY_ONLY ? { sockets: 0, heapPerSocketKiB: Number.NaN } : await socketHeap(250)
// A first, unmeasured pass: the first sockets and events pay for compiling and loading code.
await scenario(SOCKET_COUNTS[0] as number)
const scenarios = []
for (const sockets of STEADY_ONLY ? [] : SOCKET_COUNTS) {
  scenarios.push(await scenario(sockets))
  process.stdout.write(`${sockets} sockets done\n`)
}
const steady = await scenario(STEADY.sockets, STEADY.rate, STEADY.rate * STEADY.seconds)
process.stdout.write(`${STEADY.sockets} sockets at ${STEADY.rate} events/s done\n`)
const smallest = scenarios[0]
const largest = scenarios.at(-1)
const result = newResult('feed-fanout', { events: EVENTS, burst: BURST, broadcastEvery: BROADCAST_EVERY, supervisorShare: SUPERVISOR_SHARE, steady: STEADY, flushIntervalMs: FLUSH_INTERVAL_MS ?? 'default' })
result.rows.push(...scenarios, steady)
if (smallest !== undefined && largest !== undefined) {
  result.ratios = {
    /** Cost of one delivery with the most sockets over the fewest: 1 means fan-out scales linearly. */
    [`cost per delivery, ${largest.sockets} over ${smallest.sockets} sockets`]: round((largest.microsecondsPerDelivery as number) / (smallest.microsecondsPerDelivery as number)),
    [`p99 latency, ${largest.sockets} over ${smallest.sockets} sockets`]: round((largest.latencyP99Ms as number) / (smallest.latencyP99Ms as number))
  }
}
result.targets.push(
  { name: `p99 latency, ${STEADY.sockets} sockets at ${STEADY.rate} events/s`, target: `< ${TARGET_P99_MS} ms`, measured: `${steady.latencyP99Ms} ms`, met: (steady.latencyP99Ms as number) < TARGET_P99_MS },
  { name: 'memory bounded: heap growth over the steady run', target: `< ${BOUNDED_GROWTH_MIB} MiB`, measured: `${steady.heapGrowthMiB} MiB`, met: (steady.heapGrowthMiB as number) < BOUNDED_GROWTH_MIB }
)
result.notes.push(
  `Rows with eventsPerSecond 0: ${EVENTS} events in bursts of ${BURST}, as fast as the server goes. The last row: ${STEADY.rate} events/s for ${STEADY.seconds} s. One event in ${BROADCAST_EVERY} (agent:status) goes to every socket, the others to one agent and the supervisors (${SUPERVISOR_SHARE * 100} % of the sockets).`,
  'Latency: from the append (steady row: from the moment the event was due) to the last intended socket receiving the event. heapGrowthMiB: the server\'s heap after GC at the end of the row minus at its start, sockets open.',
  'serverCpuMs: time the server\'s thread ran on a core (Linux schedstat) from the first append to the last delivery; serverCpuShare, clientsCpuShare: the server\'s and the clients\' thread\'s CPU time over that wall time; serverWaitingForCpuShare, clientsWaitingForCpuShare: the time each thread was ready to run but waited for a core taken by another thread or process. A high latency with a CPU share well under 1 and a large waiting share is the shared machine, not the feed\'s work.',
  `Steady row, latency of the events due in each second (p50 / p99 / max ms): ${latencyBySecond.map(({ second, p50Ms, p99Ms, maxMs }) => `${second}: ${p50Ms} / ${p99Ms} / ${maxMs}`).join(', ')}.`,
  `Memory: the event log full (${eventLogMemory.capacity} events) holds ${eventLogMemory.heapKiB} KiB of heap, ${eventLogMemory.bytesPerEvent} bytes per event; each connected socket ${socketMemory.heapPerSocketKiB} KiB of the server's heap (slope over ${socketMemory.sockets} sockets).`
)
;(result as unknown as Record<string, unknown>).memory = { eventLog: eventLogMemory, sockets: socketMemory }
;(result as unknown as Record<string, unknown>).latencyBySecond = latencyBySecond
writeResult(result, 'Feed fan-out')
