import t, { type Test } from 'tap'
import { resolveOptions, type FastifyAsteriskTransferOptions } from '../src/options.js'

const authenticate = (): null => null

function valid (): FastifyAsteriskTransferOptions {
  return {
    ami: { host: 'pbx.example', port: 5038, username: 'transfer', password: 'secret' },
    ari: { url: 'http://pbx.example:8088', username: 'transfer', password: 'secret' },
    authenticate
  }
}

/** `valid()` with `change` applied to a copy; typed loosely on purpose, to pass wrong values. */
function withOption (change: (options: Record<string, any>) => void): FastifyAsteriskTransferOptions {
  const options = valid() as unknown as Record<string, any>
  change(options)
  return options as FastifyAsteriskTransferOptions
}

/** Asserts that resolving throws an Error whose message names `path` as the option at fault. */
function assertRejectsOption (t: Test, options: FastifyAsteriskTransferOptions, path: string, scenario: string): void {
  const escaped = path.replaceAll('.', '\\.')
  t.throws(() => resolveOptions(options), new RegExp(`option "${escaped}"`), scenario)
}

t.test('defaults are applied', async (t) => {
  const resolved = resolveOptions(valid())
  t.equal(resolved.prefix, '/api')
  t.equal(resolved.transferContext, 'from-internal')
  t.equal(resolved.channelTechnology, 'PJSIP')
  t.equal(resolved.actionTimeoutMs, 5000)
  t.equal(resolved.consultationTimeoutMs, 5000)
  t.same(resolved.reconnect, { initialDelayMs: 500, maxDelayMs: 10_000 })
  t.equal(resolved.amiPingIntervalMs, 15_000)
  t.equal(resolved.feed.maxSocketsPerIdentity, 10)
  t.equal(resolved.authenticate, authenticate)
  t.same(resolved.ami, valid().ami)
  t.same(resolved.ari, valid().ari)
})

t.test('consultationTimeoutMs defaults to the given actionTimeoutMs', async (t) => {
  const resolved = resolveOptions({ ...valid(), actionTimeoutMs: 2000 })
  t.equal(resolved.actionTimeoutMs, 2000)
  t.equal(resolved.consultationTimeoutMs, 2000)
})

t.test('explicit values win over defaults', async (t) => {
  const resolved = resolveOptions({
    ...valid(),
    prefix: '/telephony/v1',
    transferContext: 'agents',
    channelTechnology: 'SIP',
    actionTimeoutMs: 2000,
    consultationTimeoutMs: 8000,
    reconnect: { initialDelayMs: 100 },
    amiPingIntervalMs: 0
  })
  t.match(resolved, {
    prefix: '/telephony/v1',
    transferContext: 'agents',
    channelTechnology: 'SIP',
    actionTimeoutMs: 2000,
    consultationTimeoutMs: 8000,
    reconnect: { initialDelayMs: 100, maxDelayMs: 10_000 },
    amiPingIntervalMs: 0
  })
})

t.test('the caller\'s options object is not modified', async (t) => {
  const options = valid()
  resolveOptions(options)
  t.same(options, valid())
})

t.test('each bad option is refused with a message naming it', async (t) => {
  const cases: Array<[string, string, (o: Record<string, any>) => void]> = [
    ['missing ami', 'ami', (o) => { delete o.ami }],
    ['missing ami.host', 'ami.host', (o) => { delete o.ami.host }],
    ['empty ami.host', 'ami.host', (o) => { o.ami.host = '' }],
    ['ami.port 0', 'ami.port', (o) => { o.ami.port = 0 }],
    ['ami.port 70000', 'ami.port', (o) => { o.ami.port = 70000 }],
    ['ami.port "x"', 'ami.port', (o) => { o.ami.port = 'x' }],
    ['ami.port 5038.5', 'ami.port', (o) => { o.ami.port = 5038.5 }],
    ['empty ami.username', 'ami.username', (o) => { o.ami.username = '' }],
    ['ari.url without scheme', 'ari.url', (o) => { o.ari.url = 'pbx.example:8088' }],
    ['ari.url with a space', 'ari.url', (o) => { o.ari.url = 'http://pbx example:8088' }],
    ['ari.url ws://', 'ari.url', (o) => { o.ari.url = 'ws://pbx.example:8088' }],
    ['prefix without a leading slash', 'prefix', (o) => { o.prefix = 'api' }],
    ['prefix with a trailing slash', 'prefix', (o) => { o.prefix = '/api/' }],
    ['transferContext with a comma', 'transferContext', (o) => { o.transferContext = 'from-internal,103' }],
    ['transferContext with a newline', 'transferContext', (o) => { o.transferContext = 'from-internal\nAction: Hangup' }],
    ['empty transferContext', 'transferContext', (o) => { o.transferContext = '' }],
    ['channelTechnology with a slash', 'channelTechnology', (o) => { o.channelTechnology = 'PJSIP/' }],
    ['actionTimeoutMs 0', 'actionTimeoutMs', (o) => { o.actionTimeoutMs = 0 }],
    ['consultationTimeoutMs above 10 min', 'consultationTimeoutMs', (o) => { o.consultationTimeoutMs = 600_001 }],
    ['reconnect.initialDelayMs below 10', 'reconnect.initialDelayMs', (o) => { o.reconnect = { initialDelayMs: 5 } }],
    ['negative amiPingIntervalMs', 'amiPingIntervalMs', (o) => { o.amiPingIntervalMs = -1 }],
    ['feed.maxSocketsPerIdentity 0', 'feed.maxSocketsPerIdentity', (o) => { o.feed = { maxSocketsPerIdentity: 0 } }],
    ['feed.maxSocketsPerIdentity 2.5', 'feed.maxSocketsPerIdentity', (o) => { o.feed = { maxSocketsPerIdentity: 2.5 } }],
    ['feed.maxSocketsPerIdentity "10"', 'feed.maxSocketsPerIdentity', (o) => { o.feed = { maxSocketsPerIdentity: '10' } }],
    ['feed.maxSocketsPerIdentity over 10000', 'feed.maxSocketsPerIdentity', (o) => { o.feed = { maxSocketsPerIdentity: 10_001 } }],
    ['missing authenticate', 'authenticate', (o) => { delete o.authenticate }],
    ['authenticate not a function', 'authenticate', (o) => { o.authenticate = 'yes' }],
    ['reconnect.maxDelayMs below initialDelayMs', 'reconnect.maxDelayMs', (o) => { o.reconnect = { initialDelayMs: 1000, maxDelayMs: 500 } }],
    ['reconnect.maxDelayMs below the default initialDelayMs', 'reconnect.maxDelayMs', (o) => { o.reconnect = { maxDelayMs: 100 } }]
  ]
  for (const [scenario, path, change] of cases) assertRejectsOption(t, withOption(change), path, scenario)
})

t.test('refusals are plain Errors prefixed with the plugin name', async (t) => {
  t.throws(() => resolveOptions(withOption((o) => { o.ami.port = 0 })), { name: 'Error', message: /^fastify-asterisk-transfer: / })
})

t.test('metrics: off by default; true or an object turns them on with defaults', async (t) => {
  t.equal(resolveOptions(valid()).metrics, false)
  t.equal(resolveOptions({ ...valid(), metrics: false }).metrics, false)
  t.same(resolveOptions({ ...valid(), metrics: true }).metrics, { prefix: 'asterisk_transfer_', path: '/metrics' })
  t.same(resolveOptions({ ...valid(), metrics: { prefix: 'callcenter_' } }).metrics, { prefix: 'callcenter_', path: '/metrics' })
  t.same(resolveOptions({ ...valid(), metrics: { path: false } }).metrics, { prefix: 'asterisk_transfer_', path: false })
})

t.test('bad metrics options are refused with a message naming them', async (t) => {
  assertRejectsOption(t, withOption((o) => { o.metrics = 'yes' }), 'metrics', 'a string')
  assertRejectsOption(t, withOption((o) => { o.metrics = [] }), 'metrics', 'an array')
  assertRejectsOption(t, withOption((o) => { o.metrics = { prefix: '1st_' } }), 'metrics.prefix', 'a prefix Prometheus refuses')
  assertRejectsOption(t, withOption((o) => { o.metrics = { prefix: 'a-b' } }), 'metrics.prefix', 'a dash in the prefix')
  assertRejectsOption(t, withOption((o) => { o.metrics = { path: 'metrics' } }), 'metrics.path', 'a relative path')
  assertRejectsOption(t, withOption((o) => { o.metrics = { path: true } }), 'metrics.path', 'path true')
  assertRejectsOption(t, withOption((o) => { o.metrics = { prefx: 'x_' } }), 'metrics.prefx', 'a misspelt option')
})

t.test('transfer recall: on by default (20 s), off with false, its fallback must be a configured destination', async (t) => {
  t.same(resolveOptions(valid()).recall, { afterMs: 20_000, ringAgentMs: 15_000, context: 'fastify-transfer-recall' })
  t.equal(resolveOptions({ ...valid(), recall: false }).recall, false)
  const sales = { kind: 'queue' as const, context: 'from-internal', exten: '600' }
  t.same(resolveOptions({ ...valid(), destinations: { sales }, recall: { afterMs: 5000, fallback: 'sales' } }).recall,
    { afterMs: 5000, ringAgentMs: 15_000, fallback: 'sales', context: 'fastify-transfer-recall' })
  assertRejectsOption(t, { ...valid(), recall: { fallback: 'sales' } }, 'recall.fallback', 'a fallback that is no destination')
  assertRejectsOption(t, { ...valid(), recall: { afterMs: 10 } }, 'recall.afterMs', 'under a second')
})

t.test('busyTargets: refuse by default, allow on request, nothing else', async (t) => {
  t.equal(resolveOptions(valid()).busyTargets, 'refuse')
  t.equal(resolveOptions({ ...valid(), busyTargets: 'allow' }).busyTargets, 'allow')
  assertRejectsOption(t, withOption((options) => { options.busyTargets = 'sometimes' }), 'busyTargets', 'an unknown value')
})

t.test('redis: a URL, options or a client; anything else is refused by name; shared-state defaults', async (t) => {
  t.equal(resolveOptions(valid()).redis, undefined, 'no Redis: one process, nothing to configure')
  t.equal(resolveOptions({ ...valid(), redis: 'redis://127.0.0.1:6379/2' }).redis, 'redis://127.0.0.1:6379/2')
  t.same(resolveOptions({ ...valid(), redis: { host: 'cache', port: 6380 } }).redis, { host: 'cache', port: 6380 })
  for (const redis of ['http://cache:6379', '', 42, ['redis://a']]) {
    t.throws(() => resolveOptions({ ...valid(), redis: redis as never }), /option "redis" must be/, JSON.stringify(redis))
  }
  t.same(resolveOptions(valid()).sharedState, { keyPrefix: 'fastify-asterisk-transfer:', leaseMs: 10_000 })
  t.throws(() => resolveOptions({ ...valid(), sharedState: { leaseMs: 10 } }), /option "sharedState.leaseMs"/)
  t.same(resolveOptions(valid()).health, { livePath: '/health/live', readyPath: '/health/ready' })
  t.same(resolveOptions({ ...valid(), health: { readyPath: false } }).health, { livePath: '/health/live', readyPath: false })
})

t.test('redis through Sentinel or a cluster: accepted as ioredis takes them, each mistake named', async (t) => {
  const sentinel = { sentinels: [{ host: '10.0.0.1', port: 26379 }, { host: 'sentinel-b', port: 26380 }], name: 'transfers' }
  t.same(resolveOptions({ ...valid(), redis: sentinel }).redis, sentinel, 'ioredis sentinels + name')
  const cluster = { cluster: ['10.0.0.1:7000', { host: 'node-b', port: 7001 }], options: { scaleReads: 'master' as const } }
  t.same(resolveOptions({ ...valid(), redis: cluster }).redis, cluster, 'a cluster by its nodes')
  const wrong: Array<[unknown, RegExp]> = [
    [{ sentinels: [], name: 'transfers' }, /option "redis.sentinels" must be a non-empty list/],
    [{ sentinels: [{ host: '10.0.0.1', port: 99999 }], name: 'transfers' }, /option "redis.sentinels\[0\]" must be \{ host, port \}/],
    [{ sentinels: [{ host: '10.0.0.1', port: 26379 }] }, /option "redis.name" must be the master's name/],
    [{ sentinels: [{ host: '10.0.0.1', port: 26379 }], name: 'has space' }, /option "redis.name"/],
    [{ name: 'transfers' }, /option "redis.sentinels"/],
    [{ sentinels: [{ host: 'a', port: 1 }], name: 'm', host: 'cache' }, /sentinels or host\/port, not both/],
    [{ cluster: [] }, /option "redis.cluster" must be a non-empty list/],
    [{ cluster: ['10.0.0.1:7000', 'no-port'] }, /option "redis.cluster\[1\]" must be host:port/],
    [{ cluster: ['10.0.0.1:7000'], options: 'fast' }, /option "redis.options" must be ioredis cluster options/],
    [{ cluster: ['10.0.0.1:7000'], sentinels: [{ host: 'a', port: 1 }], name: 'm' }, /a cluster or sentinels, not both/]
  ]
  for (const [redis, message] of wrong) t.throws(() => resolveOptions({ ...valid(), redis: redis as never }), message, JSON.stringify(redis))
})
