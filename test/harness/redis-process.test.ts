// The tests' private redis-server, checked on its own: what the multi-instance tests rely on (a
// server of their own, a crash that loses what was not saved, a restart on the same port that the
// app's clients reconnect to) must hold.
import t from 'tap'
import { Redis } from 'ioredis'
import { startRedis } from '../helpers/redis-process.js'

const redis = await startRedis()
t.teardown(redis.stop)

t.test('answers on its own loopback port: SET then GET', async (t) => {
  t.match(redis.url, /^redis:\/\/127\.0\.0\.1:\d+$/)
  const client = redis.client()
  t.teardown(() => client.disconnect())
  t.equal(await client.set('greeting', 'hello'), 'OK')
  t.equal(await client.get('greeting'), 'hello')
  t.equal(await client.config('GET', 'bind').then((pair) => (pair as string[])[1]), '127.0.0.1')
})

t.test('flushAll empties it', async (t) => {
  const client = redis.client()
  t.teardown(() => client.disconnect())
  await client.set('leftover', '1')
  await redis.flushAll()
  t.equal(await client.dbsize(), 0)
})

t.test('killed: clients lose it; restarted on the same port: empty, and a client reconnects by itself', async (t) => {
  const client = redis.client()
  t.teardown(() => client.disconnect())
  await client.set('before-the-crash', 'x')
  const lost = new Promise((resolve) => client.once('close', resolve))
  await redis.kill()
  t.notOk(redis.running(), 'the process is gone')
  await lost
  const probe = new Redis({ port: redis.port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
  probe.on('error', () => {})
  await t.rejects(probe.connect(), 'nothing answers on the port')
  probe.disconnect()
  // (events.once would reject on the connection errors the client reports while it retries.)
  const back = new Promise((resolve) => client.once('ready', resolve))
  await redis.restart()
  t.ok(redis.running())
  await back
  t.equal(await client.ping(), 'PONG', 'the old client is back on the restarted server')
  t.equal(await client.get('before-the-crash'), null, 'nothing survived: it saves nothing')
})

t.test('stopped (SIGTERM) it exits; restart while running is refused', async (t) => {
  await t.rejects(redis.restart(), /still running/)
  await redis.stop()
  t.notOk(redis.running())
  await redis.restart()
  const client = redis.client()
  t.teardown(() => client.disconnect())
  t.equal(await client.ping(), 'PONG')
})
