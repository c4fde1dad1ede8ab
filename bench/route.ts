// The execute route's own cost, without Asterisk: `POST /api/transfers/execute` (blind) over HTTP to
// the plugin's routes on a fake PBX that answers the Redirect at once, against a GET of an empty route
// on a bare Fastify server in the same process, asked the same way. What is left between the two is
// the plugin's part of a transfer's overhead: authentication, validation, idempotency and rate limit,
// the policy and the checks, the lookup in the call monitor's memory, the record and its events, the
// answer. On the real PBX (transfer-pbx) the same request also waits for Asterisk, and shares the
// plugin's thread with the AMI events the transfer causes and the machine with Asterisk.
//
//   npm run bench -- route   (writes bench/results/route.json and .md)
import Fastify from 'fastify'
import http from 'node:http'
import { CallMonitor } from '../src/calls/call-monitor.js'
import { TransferService } from '../src/transfers/transfer-service.js'
import { buildApi } from '../test/helpers/api-host.js'
import { FakePbx, snapshotOf } from '../test/helpers/fake-pbx.js'
import { check, newResult, percentile, round, writeResult } from './lib/common.js'

/** Requests of each kind; the first WARM_UP of each are not counted (code loading, compilation). */
const REQUESTS = Number(process.env.BENCH_ROUTE_REQUESTS ?? 2000)
const WARM_UP = 200
/** The plugin's own part of benchmark 1's budget: a median overhead of at most 2 ms over a raw Redirect. */
const TARGET_MEDIAN_MS = 2

// One agent per request, each on a call the monitor knows (its own call, transferred once): the rate
// limit (30 per agent per minute, as configured by default) and the one-transfer-per-call rule hold
// as in production, and no request is refused.
const agents = Array.from({ length: REQUESTS }, (_, index) => String(10_000 + index))
const hex = (value: number): string => value.toString(16).padStart(8, '0')
const pbx = new FakePbx(snapshotOf(...agents.map((agent, index) => [`PJSIP/${agent}-${hex(2 * index)}`, `PJSIP/trunk-${hex(2 * index + 1)}`])))
const monitor = new CallMonitor(pbx)
await monitor.start()
const transfers = new TransferService(pbx, { transferContext: 'from-internal', channelTechnology: 'PJSIP', consultationTimeoutMs: 1000, calls: monitor })
const { app, close } = await buildApi(pbx, { transfers, monitor })
const pluginUrl = await app.listen({ port: 0, host: '127.0.0.1' })
/** From the first byte of a request to its answer written: the time inside the server. */
let serverMs = Number.NaN
app.server.prependListener('request', (_request: http.IncomingMessage, response: http.ServerResponse) => {
  const started = performance.now()
  response.once('finish', () => { serverMs = performance.now() - started })
})
const bare = Fastify()
bare.get('/empty', async () => ({}))
const bareUrl = await bare.listen({ port: 0, host: '127.0.0.1' })

const keptAlive = new http.Agent({ keepAlive: true, maxSockets: 1 })
async function request (url: string, method: string, authorization?: string, body?: object): Promise<{ status: number, ms: number }> {
  const payload = body === undefined ? undefined : JSON.stringify(body)
  const started = performance.now()
  return await new Promise((resolve, reject) => {
    const outgoing = http.request(url, {
      method,
      agent: keptAlive,
      headers: { ...(authorization === undefined ? {} : { authorization }), ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }) }
    }, (response) => {
      response.resume()
      response.on('end', () => { resolve({ status: response.statusCode ?? 0, ms: performance.now() - started }) })
    })
    outgoing.on('error', reject)
    outgoing.end(payload)
  })
}

const execute: number[] = []
const executeInServer: number[] = []
const empty: number[] = []
const emptyInBareServer: number[] = []
let bareServerMs = Number.NaN
bare.server.prependListener('request', (_request: http.IncomingMessage, response: http.ServerResponse) => {
  const started = performance.now()
  response.once('finish', () => { bareServerMs = performance.now() - started })
})
// Alternating, so both see the same moments of the machine.
for (const [index, agent] of agents.entries()) {
  const answer = await request(`${pluginUrl}/api/transfers/execute`, 'POST', `Bearer ${agent}`, { extension: agent, targetExtension: '102', transferType: 'blind' })
  check(answer.status === 200, `execute for ${agent} answered ${answer.status}`)
  const floor = await request(`${bareUrl}/empty`, 'GET')
  check(floor.status === 200, `the empty route answered ${floor.status}`)
  if (index < WARM_UP) continue
  execute.push(answer.ms)
  executeInServer.push(serverMs)
  empty.push(floor.ms)
  emptyInBareServer.push(bareServerMs)
}
check(pbx.count('redirect') === REQUESTS, `${pbx.count('redirect')} Redirects sent for ${REQUESTS} transfers`)
keptAlive.destroy()
await close()
await bare.close()
monitor.stop()

const sorted = (values: number[]): number[] => [...values].sort((a, b) => a - b)
const at = (values: number[], q: number): number => round(percentile(sorted(values), q), 3)
const row = (name: string, total: number[], inServer: number[]): Record<string, string | number> => ({
  request: name,
  medianMs: at(total, 0.5),
  p99Ms: at(total, 0.99),
  inServerMedianMs: at(inServer, 0.5),
  inServerP99Ms: at(inServer, 0.99)
})
const result = newResult('route', { requests: REQUESTS - WARM_UP, warmUp: WARM_UP })
result.rows.push(row('POST /api/transfers/execute (blind, fake PBX)', execute, executeInServer), row('GET /empty (bare Fastify)', empty, emptyInBareServer))
const ownMedian = round(percentile(sorted(execute), 0.5) - percentile(sorted(empty), 0.5), 3)
result.ratios = {
  'execute over the empty route, median (ms)': ownMedian,
  'execute over the empty route, p99 (ms)': round(percentile(sorted(execute), 0.99) - percentile(sorted(empty), 0.99), 3)
}
result.targets.push({ name: 'execute over an empty route, median, no Asterisk (the plugin\'s own part of the overhead budget)', target: `<= ${TARGET_MEDIAN_MS} ms`, measured: `${ownMedian} ms`, met: ownMedian <= TARGET_MEDIAN_MS })
result.notes.push(
  `${REQUESTS - WARM_UP} requests of each (after ${WARM_UP} of each not counted), alternating, from an HTTP client on a kept-alive connection in the same thread. The plugin's routes as the plugin mounts them (authentication, idempotency, rate limit at its defaults, the response schemas), a started call monitor that knows ${REQUESTS} agents on calls, and a TransferService whose fake PBX answers the Redirect at once (no recall: that is one more AMI write, measured on the real PBX). inServer: from the request's first byte to its answer written.`
)
writeResult(result, 'The execute route without Asterisk')
