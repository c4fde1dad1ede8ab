// Memory over time: 200,000 calls answered by an agent, transferred blind through the TransferService,
// answered by the target and hung up, all on a fake PBX feeding the real services (CallMonitor,
// AgentStatusService, TransferService, EventLog, wired as the plugin wires them). The heap after garbage
// collection is taken once the services are warm and then every 50,000 calls: what a call center's day
// leaves behind in memory. Nothing may grow with the number of calls handled: only with the calls
// in progress, and the bounded logs (the event log's capacity, the last finished transfers).
import type { PbxEvent } from '../src/asterisk/ami-events.js'
import type { CallSnapshot } from '../src/asterisk/pbx.js'
import { FakePbx } from '../test/helpers/fake-pbx.js'
import { check, heapUsed, newResult, round, writeResult } from './lib/common.js'
import { startServices, type Services } from './lib/services.js'
import { answered, redirectedTo, syntheticCall, transferredHungUp, type SyntheticCall } from '../test/helpers/synthetic-calls.js'

const CALLS = Number(process.env.BENCH_MEMORY_CALLS ?? 200_000)
const WARM_UP = 5000
/** Calls in progress at once, each pipeline with its own agent and target. */
const PIPELINES = 50
const SAMPLE_EVERY = CALLS / 4
const TARGET_GROWTH_MIB = 10

/** A PBX whose bridges are what the events said: the monitor's picture, as ARI would show it. */
class EventDrivenPbx extends FakePbx {
  picture: (() => CallSnapshot) | undefined
  override async snapshot (): Promise<CallSnapshot> {
    // An ARI request answers later: the events sent with the one that asked are applied by then.
    await new Promise((resolve) => setImmediate(resolve))
    return this.picture?.() ?? await super.snapshot()
  }
}

const agents = Array.from({ length: PIPELINES }, (_, index) => String(2000 + index))
const targets = Array.from({ length: PIPELINES }, (_, index) => String(3000 + index))
const pbx = new EventDrivenPbx()
for (const target of targets) pbx.dialplan.add(`${target}@from-internal`)
const services: Services = await startServices(pbx, agents)
pbx.picture = () => services.monitor.snapshot()

/** The call being transferred, by its customer's channel: what the Redirect hook makes Asterisk do. */
const redirecting = new Map<string, { call: SyntheticCall, target: string }>()
pbx.hooks.redirect = (channel) => {
  const entry = redirecting.get(channel)
  if (entry !== undefined) void pbx.emitLater(...redirectedTo(entry.call, entry.target))
}

function emit (events: PbxEvent[]): void {
  for (const event of events) pbx.events.emit('event', event)
}

/** Resolvers of the transfers awaited, by id: settled by the service's own events, no polling. */
const awaited = new Map<string, () => void>()
services.transfers.events.on('call:transfer_updated', (transfer) => {
  if (transfer.status === 'answered') awaited.get(transfer.id)?.()
})

async function answeredTransfer (id: string): Promise<void> {
  if (services.transfers.getHere(id)?.status === 'answered') return
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`correctness check failed: transfer ${id} is ${services.transfers.getHere(id)?.status ?? 'gone'}, not answered after 10 s`)), 10_000)
    awaited.set(id, () => { clearTimeout(timer); resolve() })
  })
  awaited.delete(id)
}

/** One call on pipeline `pipeline`: answered, transferred blind to the pipeline's target, answered there, hung up. */
async function oneCall (index: number, pipeline: number): Promise<void> {
  const extension = agents[pipeline] as string
  const target = targets[pipeline] as string
  const call = syntheticCall(index, extension)
  emit(answered(call))
  redirecting.set(call.customer, { call, target })
  const transfer = await services.transfers.execute({ extension, targetExtension: target, transferType: 'blind', requestedBy: extension })
  await answeredTransfer(transfer.id)
  redirecting.delete(call.customer)
  emit(transferredHungUp(call, target))
}

let nextIndex = 0
async function run (calls: number): Promise<void> {
  const end = nextIndex + calls
  await Promise.all(agents.map(async (_, pipeline) => {
    for (let index = nextIndex + pipeline; index < end; index += PIPELINES) await oneCall(index, pipeline)
  }))
  nextIndex = end
  // The fake PBX records every action for the tests' sake: not the plugin's memory.
  pbx.calls.length = 0
}

await run(WARM_UP)
const start = await heapUsed()
const result = newResult('memory', { calls: CALLS, warmUpCalls: WARM_UP, callsInProgress: PIPELINES })
result.rows.push({ callsHandled: 0, heapMiB: round(start / 2 ** 20), growthMiB: 0, channelsKnown: services.monitor.channelCount, eventLogLastId: services.eventLog.lastId })
const started = performance.now()
for (let done = 0; done < CALLS; done += SAMPLE_EVERY) {
  await run(SAMPLE_EVERY)
  const heap = await heapUsed()
  result.rows.push({ callsHandled: done + SAMPLE_EVERY, heapMiB: round(heap / 2 ** 20), growthMiB: round((heap - start) / 2 ** 20), channelsKnown: services.monitor.channelCount, eventLogLastId: services.eventLog.lastId })
  process.stdout.write(`${done + SAMPLE_EVERY} calls\n`)
}
const seconds = (performance.now() - started) / 1000
check(services.monitor.channelCount === 0, `${services.monitor.channelCount} channels left after every call hung up`)
check(services.transfers.activeHere().length === 0, `${services.transfers.activeHere().length} transfers still active`)
await services.stop()

const growth = result.rows.at(-1)?.growthMiB as number
result.ratios = { callsPerSecond: Math.round(CALLS / seconds) }
result.targets.push({ name: `heap growth over ${CALLS} calls`, target: `< ${TARGET_GROWTH_MIB} MiB`, measured: `${growth} MiB`, met: growth < TARGET_GROWTH_MIB })
result.notes.push(
  `${CALLS} calls after ${WARM_UP} unmeasured ones, ${PIPELINES} in progress at a time: each answered by its agent, transferred blind through TransferService.execute (the Redirect answered by the fake PBX with Asterisk 22's events), confirmed answered by the target on the bridges, then hung up.`,
  'heapMiB: V8 heap used after garbage collection. callsPerSecond (a ratio of this run, not a target): how fast the services went through the calls on this machine.'
)
writeResult(result, 'Memory over time')
