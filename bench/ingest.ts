// Event ingest: how many AMI events per second the plugin reads from its AMI socket, parses and applies
// (call monitor, agent states, transfer tracking, event log), compared with the floor: the same bytes over
// the same kind of socket only split into messages. The stream is the test bed's recorded calls replayed
// by a stand-in AMI server in another thread (bench/lib/ami-stream.ts), so the measured thread does only
// what the plugin does. Floor, the AMI client alone and the plugin run in turn, ROUNDS times each; the best of each is kept.
import { EventEmitter } from 'node:events'
import net from 'node:net'
import { performance } from 'node:perf_hooks'
import { Worker } from 'node:worker_threads'
import { AmiClient } from '../src/asterisk/ami-client.js'
import type { AriClient } from '../src/asterisk/ari-client.js'
import { AsteriskPbx } from '../src/asterisk/pbx.js'
import { benchAmiClient, buildAmiStream, type AmiStream } from './lib/ami-stream.js'
import { check, newResult, round, writeResult } from './lib/common.js'
import { startServices } from './lib/services.js'

const CALLS = Number(process.env.BENCH_INGEST_CALLS ?? 3000)
const CONCURRENT = 1000
const LEFT_UP = 500
const ROUNDS = 3
const TARGET_EVENTS_PER_SECOND = 50_000
const TARGET_FLOOR_SHARE = 0.5

const stream = buildAmiStream({ calls: CALLS, concurrent: CONCURRENT, leftUp: LEFT_UP })
const agents = Array.from({ length: CONCURRENT }, (_, index) => String(2000 + index))

const server = new Worker(new URL('./lib/ami-replay-server.mjs', import.meta.url), { workerData: { stream: stream.bytes } })
const port = await new Promise<number>((resolve) => server.once('message', (message: { port: number }) => resolve(message.port)))

function play (): void {
  server.postMessage({ type: 'play' })
}

interface Run { seconds: number, events: number, eventLoopUtilization: number }

function timed (start: () => void, done: Promise<number>): Promise<Run> {
  const elu = performance.eventLoopUtilization()
  const started = performance.now()
  start()
  return done.then((events) => ({ seconds: (performance.now() - started) / 1000, events, eventLoopUtilization: performance.eventLoopUtilization(elu).utilization }))
}

/** The floor: read the socket and cut the bytes into messages at each blank line, nothing more. */
async function floorRun (): Promise<Run> {
  const socket = net.connect(port, '127.0.0.1')
  await new Promise((resolve) => socket.once('connect', resolve))
  await new Promise((resolve) => socket.once('data', resolve)) // the greeting
  const END = Buffer.from('BenchEnd')
  const done = new Promise<number>((resolve) => {
    let messages = 0
    let rest: Buffer = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => {
      const data = rest.length === 0 ? chunk : Buffer.concat([rest, chunk])
      let from = 0
      for (let end = data.indexOf('\r\n\r\n', from); end !== -1; end = data.indexOf('\r\n\r\n', from)) {
        const message = data.subarray(from, end)
        from = end + 4
        if (message.includes(END)) {
          resolve(messages)
          return
        }
        messages++
      }
      rest = data.subarray(from)
    })
  })
  const run = await timed(play, done)
  socket.destroy()
  return run
}

function amiClient (): AmiClient {
  return benchAmiClient(port)
}

/** Counts the events `ami` passes on; `done` resolves at the stream's end marker. */
function countUntilEnd (ami: AmiClient): { done: Promise<number>, count: () => number } {
  let count = 0
  const done = new Promise<number>((resolve) => {
    ami.on('event', (message) => {
      if (message.userevent === 'BenchEnd') resolve(stream.events)
      else count++
    })
  })
  return { done, count: () => count }
}

/**
 * The plugin's AMI client alone: the socket read, parsed into messages (the events the plugin does not
 * map dropped unread) and emitted, applied to nothing. Between the floor and the plugin: what reading
 * AMI costs, apart from what the plugin does with it.
 */
async function clientRun (): Promise<Run & { amiEvents: number }> {
  const ami = amiClient()
  await ami.start()
  const passedOn = countUntilEnd(ami)
  const run = await timed(play, passedOn.done)
  const amiEvents = passedOn.count()
  await ami.close()
  return { ...run, amiEvents }
}

/** The plugin: AmiClient -> AsteriskPbx -> the services, as the plugin wires them. */
async function pluginRun (): Promise<Run & { amiEvents: number, channels: number, pbxEvents: number, published: number, transfers: number }> {
  const ami = amiClient()
  // No ARI: the monitor starts from an empty PBX and learns everything from the stream.
  // An emitter, as the PBX adapter follows ARI's connection events too.
  const ari = Object.assign(new EventEmitter(), { ready: true, listChannels: async () => [], listBridges: async () => [], listEndpoints: async () => [] }) as unknown as AriClient
  const pbx = new AsteriskPbx(ami, ari)
  await ami.start()
  const services = await startServices(pbx, agents)
  let pbxEvents = 0
  pbx.events.on('event', () => { pbxEvents++ })
  const passedOn = countUntilEnd(ami)
  const run = await timed(play, passedOn.done)
  const amiEvents = passedOn.count()
  const result = {
    ...run,
    amiEvents,
    channels: services.monitor.channelCount,
    pbxEvents,
    published: services.eventLog.lastId,
    transfers: services.transfers.activeHere().length
  }
  await services.stop()
  await ami.close()
  return result
}

function checkPlugin (run: Awaited<ReturnType<typeof pluginRun>>, expected: AmiStream): void {
  check(run.amiEvents === expected.namedEvents, `the AMI client passed on ${run.amiEvents} events, the stream has ${expected.namedEvents} of the names the plugin maps`)
  check(run.pbxEvents === expected.usedEvents, `${run.pbxEvents} events mapped, expected ${expected.usedEvents}`)
  check(run.channels === expected.liveChannels, `the call monitor knows ${run.channels} channels at the end, Asterisk would have ${expected.liveChannels}`)
  check(run.published > 0, 'nothing was published to the event log')
}

// One unmeasured round of each first: code loading and compilation.
await floorRun()
await clientRun()
await pluginRun()
const floors: Run[] = []
const clients: Run[] = []
const plugins: Array<Awaited<ReturnType<typeof pluginRun>>> = []
for (let index = 0; index < ROUNDS; index++) {
  const floor = await floorRun()
  check(floor.events === stream.events, `the floor split ${floor.events} messages, the stream has ${stream.events}`)
  floors.push(floor)
  const client = await clientRun()
  check(client.amiEvents === stream.namedEvents, `the AMI client alone passed on ${client.amiEvents} events, the stream has ${stream.namedEvents} of the names the plugin maps`)
  clients.push(client)
  const plugin = await pluginRun()
  checkPlugin(plugin, stream)
  plugins.push(plugin)
  process.stdout.write(`round ${index + 1}: floor ${Math.round(floor.events / floor.seconds)}/s, AMI client ${Math.round(client.events / client.seconds)}/s, plugin ${Math.round(plugin.events / plugin.seconds)}/s\n`)
}
server.postMessage({ type: 'close' })

const best = <T extends Run>(runs: T[]): T => runs.reduce((a, b) => (b.seconds < a.seconds ? b : a))
const floor = best(floors)
const client = best(clients)
const plugin = best(plugins)
const rate = (run: Run): number => Math.round(run.events / run.seconds)
const result = newResult('ingest', { calls: CALLS, concurrentCalls: CONCURRENT, callsLeftUp: LEFT_UP, rounds: ROUNDS, streamBytes: stream.bytes.length, events: stream.events, eventsUsed: stream.usedEvents, eventsNamed: stream.namedEvents })
const row = (name: string, run: Run): Record<string, number | string> => ({
  pipeline: name,
  events: run.events,
  seconds: round(run.seconds, 3),
  eventsPerSecond: rate(run),
  microsecondsPerEvent: round((run.seconds * 1e6) / run.events),
  mainThreadBusy: round(run.eventLoopUtilization)
})
result.rows.push(row('floor (split only)', floor), row('AMI client (parse, nothing applied)', client), row('plugin (parse + apply)', plugin))
result.ratios = { pluginOverFloor: round(rate(plugin) / rate(floor)), clientOverFloor: round(rate(client) / rate(floor)), pluginOverClient: round(rate(plugin) / rate(client)) }
result.targets.push(
  { name: 'events/s on one core', target: `>= ${TARGET_EVENTS_PER_SECOND}`, measured: String(rate(plugin)), met: rate(plugin) >= TARGET_EVENTS_PER_SECOND },
  { name: 'share of the floor', target: `>= ${TARGET_FLOOR_SHARE}`, measured: String(result.ratios.pluginOverFloor), met: (result.ratios.pluginOverFloor ?? 0) >= TARGET_FLOOR_SHARE },
  // The parser's part alone: what the issue asked to fix if asterisk-manager's parser was the bottleneck.
  { name: 'share of the floor, the AMI client alone (parsing)', target: `>= ${TARGET_FLOOR_SHARE}`, measured: String(result.ratios.clientOverFloor), met: (result.ratios.clientOverFloor ?? 0) >= TARGET_FLOOR_SHARE }
)
result.notes.push(
  `${stream.events} AMI events (${Math.round(stream.bytes.length / stream.events)} bytes each on average, ${stream.usedEvents} of them used by the plugin, ${stream.namedEvents} of the names it maps; it drops the others unread) from ${CALLS} recorded calls, ${CONCURRENT} at a time, then ${LEFT_UP} calls left up; written by a stand-in AMI server in another thread over 127.0.0.1.`,
  'The plugin runs the whole path of src/plugin.ts without HTTP: AmiClient, AsteriskPbx, CallMonitor, AgentStatusService, TransferService (phone transfers adopted from the stream), EventLog. Best of ' + ROUNDS + ' rounds each. mainThreadBusy: the share of the time the measured thread was not idle.'
)
writeResult(result, 'Event ingest')
