// Feed fan-out: how fast the WebSocket feed (`GET /api/events`) delivers a busy PBX's events to many
// softphones, and what each connected softphone costs the server in memory. The same event stream is
// sent to 10, 100 and 500 sockets in one run, so the ratios between them mean something on a noisy
// machine. The sockets live in a worker thread: the server's heap holds only the server's side.
//
//   npm run bench   (writes bench/results/feed-fanout.json and .md)
import { writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { Worker } from 'node:worker_threads'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { EventLog } from '../src/feed/event-log.js'
import type { Identity } from '../src/identity.js'
import { buildApi } from '../test/helpers/api-host.js'
import { FakePbx } from '../test/helpers/fake-pbx.js'

const SOCKET_COUNTS = [10, 100, 500]
const EVENTS = 5000
/** Events appended per turn of the event loop: a burst, as when a queue's calls all change at once. */
const BURST = 100
/** One event in ten is an `agent:status`, which every socket receives; the rest go to one agent. */
const BROADCAST_EVERY = 10
const SUPERVISOR_SHARE = 0.05
const DELIVERY_TIMEOUT_MS = 120_000

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error('run with node --expose-gc (npm run bench does)')
/** The heap once garbage is gone; a pause lets the sockets' finalizers run between collections. */
async function heapUsed (): Promise<number> {
  for (let round = 0; round < 3; round++) {
    gc?.()
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return process.memoryUsage().heapUsed
}
const now = (): number => performance.timeOrigin + performance.now()

/** `Bearer 2000` is agent 2000, `Bearer super-1` a supervisor. */
async function authenticate (request: FastifyRequest): Promise<Identity | null> {
  const token = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1]
  if (token === undefined) return null
  return token.startsWith('super-') ? { extension: token, role: 'supervisor' } : { extension: token, role: 'agent' }
}

function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN
}

interface WorkerReport { received: number[], lastAt: number[] }

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
  const { app } = await buildApi(new FakePbx(), { eventLog, authenticate })
  return { app, address: await app.listen({ host: '127.0.0.1', port: 0 }) }
}

/** Opens one socket per token in a worker thread; resolves once all are open. */
async function openSockets (address: string, tokens: string[]): Promise<Worker> {
  const worker = new Worker(new URL('./feed-clients.mjs', import.meta.url), {
    workerData: { url: `${address.replace(/^http/, 'ws')}/api/events`, tokens, events: EVENTS }
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

async function scenario (sockets: number): Promise<Record<string, number>> {
  const supervisors = Math.max(1, Math.round(sockets * SUPERVISOR_SHARE))
  const agents = Array.from({ length: sockets - supervisors }, (_, index) => String(2000 + index))
  const tokens = [...agents, ...Array.from({ length: supervisors }, (_, index) => `super-${index}`)]

  const eventLog = new EventLog()
  const { app, address } = await startServer(eventLog)

  const worker = await openSockets(address, tokens)

  // Each event's audience: one agent (round robin) or everyone; supervisors see all.
  const appendedAt = new Float64Array(EVENTS + 1)
  const expected = new Uint32Array(EVENTS + 1)
  for (let id = 1; id <= EVENTS; id++) expected[id] = id % BROADCAST_EVERY === 0 ? sockets : 1 + supervisors
  const totalDeliveries = expected.reduce((sum, count) => sum + count, 0)

  const started = now()
  for (let id = 1; id <= EVENTS; id++) {
    if (id % BROADCAST_EVERY === 0) {
      const extension = agents[id % agents.length] as string
      eventLog.append('agent:status', { extension, state: 'available' }, 'everyone')
    } else {
      const extension = agents[id % agents.length] as string
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
    appendedAt[id] = now()
    if (id % BURST === 0) await new Promise((resolve) => setImmediate(resolve))
  }
  const appendMs = now() - started

  let report: WorkerReport
  const deadline = Date.now() + DELIVERY_TIMEOUT_MS
  for (;;) {
    report = await ask<WorkerReport>(worker, { type: 'report' }, 'report')
    const delivered = report.received.reduce((sum, count) => sum + count, 0)
    if (delivered >= totalDeliveries) break
    if (Date.now() > deadline) throw new Error(`${sockets} sockets: ${delivered} of ${totalDeliveries} deliveries after ${DELIVERY_TIMEOUT_MS} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  for (let id = 1; id <= EVENTS; id++) {
    if (report.received[id] !== expected[id]) throw new Error(`event ${id}: ${report.received[id]} deliveries, expected ${expected[id]}: a socket got what it may not see, or missed one`)
  }
  const latencies = Array.from({ length: EVENTS }, (_, index) => (report.lastAt[index + 1] ?? 0) - (appendedAt[index + 1] ?? 0)).sort((a, b) => a - b)
  const lastDelivery = Math.max(...report.lastAt.slice(1))
  const totalMs = lastDelivery - started

  worker.postMessage({ type: 'close' })
  await app.close()
  return {
    sockets,
    supervisors,
    events: EVENTS,
    deliveries: totalDeliveries,
    appendMs: round(appendMs),
    totalMs: round(totalMs),
    deliveriesPerSecond: Math.round(totalDeliveries / (totalMs / 1000)),
    microsecondsPerDelivery: round((totalMs * 1000) / totalDeliveries),
    latencyP50Ms: round(percentile(latencies, 0.5)),
    latencyP99Ms: round(percentile(latencies, 0.99)),
    latencyMaxMs: round(latencies.at(-1) ?? Number.NaN)
  }
}

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

function round (value: number): number {
  return Math.round(value * 100) / 100
}

// Memory first, while the heap holds nothing else.
const eventLogMemory = await eventLogHeap()
const socketMemory = await socketHeap(250)
// A first, unmeasured pass: the first sockets and events pay for compiling and loading code.
await scenario(SOCKET_COUNTS[0] as number)
const scenarios = []
for (const sockets of SOCKET_COUNTS) {
  scenarios.push(await scenario(sockets))
  process.stdout.write(`${sockets} sockets done\n`)
}
const smallest = scenarios[0] as Record<string, number>
const largest = scenarios.at(-1) as Record<string, number>
const result = {
  benchmark: 'feed-fanout',
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: round(totalmem() / 2 ** 30), node: process.version },
  settings: { events: EVENTS, burst: BURST, broadcastEvery: BROADCAST_EVERY, supervisorShare: SUPERVISOR_SHARE },
  scenarios,
  ratios: {
    /** Cost of one delivery with the most sockets over the fewest: 1 means fan-out scales linearly. */
    perDeliveryCost: round((largest.microsecondsPerDelivery as number) / (smallest.microsecondsPerDelivery as number)),
    p99Latency: round((largest.latencyP99Ms as number) / (smallest.latencyP99Ms as number))
  },
  memory: { eventLog: eventLogMemory, sockets: socketMemory }
}

const columns = Object.keys(smallest)
const table = [
  `| ${columns.join(' | ')} |`,
  `| ${columns.map(() => '---').join(' | ')} |`,
  ...scenarios.map((row) => `| ${columns.map((column) => String(row[column])).join(' | ')} |`)
].join('\n')
const markdown = [
  `# Feed fan-out (${result.date}, ${result.machine.cpus} × ${result.machine.cpuModel ?? '?'}, Node ${result.machine.node})`,
  '',
  `${EVENTS} events in bursts of ${BURST}; one in ${BROADCAST_EVERY} goes to every socket, the others to one agent and the supervisors.`,
  'Latency: from the append to the last intended socket receiving the event.',
  '',
  table,
  '',
  `Ratios, ${largest.sockets} sockets over ${smallest.sockets}: cost per delivery × ${result.ratios.perDeliveryCost}, p99 latency × ${result.ratios.p99Latency}.`,
  '',
  `Memory: the event log full (${eventLogMemory.capacity} events) holds ${eventLogMemory.heapKiB} KiB of heap, ${eventLogMemory.bytesPerEvent} bytes per event;`,
  `each connected socket ${socketMemory.heapPerSocketKiB} KiB of the server's heap (slope over ${socketMemory.sockets} sockets).`,
  ''
].join('\n')
const results = new URL('./results/', import.meta.url)
writeFileSync(new URL('feed-fanout.json', results), `${JSON.stringify(result, null, 2)}\n`)
writeFileSync(new URL('feed-fanout.md', results), markdown)
process.stdout.write(`\n${markdown}`)
