// The example app serves Prometheus metrics at GET /metrics without a token; two apps in one process
// keep separate registries; the plugin on its own serves none unless asked.
import Fastify from 'fastify'
import t from 'tap'
import asteriskTransfer from '../../src/index.js'
import { buildApp } from '../../example-app/app.js'
import { ensureClientBuilt } from '../../example-app/client-build.js'
import { unreachableConfig } from './fixtures/config.js'

await ensureClientBuilt()

t.test('GET /metrics: Prometheus text, no token needed, per app', async (t) => {
  const [first, second] = [await buildApp(unreachableConfig(), { logger: false }), await buildApp(unreachableConfig(), { logger: false })]
  t.teardown(async () => { await Promise.all([first.close(), second.close()]) })
  const scrape = await first.inject('/metrics')
  t.equal(scrape.statusCode, 200)
  t.match(scrape.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  t.match(scrape.body, /^# HELP asterisk_transfer_transfers_started_total /m)
  t.match(scrape.body, /^asterisk_transfer_asterisk_connected\{link="ami"\} 0$/m, 'nothing listens where the config points')
  t.match(scrape.body, /^# TYPE asterisk_transfer_answer_seconds histogram$/m)
  t.equal((await second.inject('/metrics')).statusCode, 200, 'a second app in the same process has its own')
  t.ok(first.asteriskTransfers.metrics !== second.asteriskTransfers.metrics && first.asteriskTransfers.metrics !== undefined)
})

t.test('the plugin serves no metrics unless asked', async (t) => {
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  const config = unreachableConfig()
  await app.register(asteriskTransfer, { servers: config.servers, authenticate: () => null })
  t.equal((await app.inject('/metrics')).statusCode, 404)
  t.equal(app.asteriskTransfers.metrics, undefined)
})
