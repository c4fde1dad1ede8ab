import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import t, { type Test } from 'tap'
import { DEFAULT_SERVER } from '../src/domain/server.js'
import { resolveOptions, type FastifyAsteriskTransferOptions } from '../src/options.js'
import asteriskTransfer from '../src/index.js'
import { FakeAmiServer } from './helpers/fake-ami-server.js'

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
  const escaped = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
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
  t.same(resolved.servers[0]?.ami, valid().ami)
  t.same(resolved.servers[0]?.ari, valid().ari)
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

t.test('queue destinations: a priority and a queue name, for kind queue only; queueLog off by default', async (t) => {
  const support = { kind: 'queue' as const, context: 'from-queues', exten: '600', priority: 10, queue: 'support' }
  t.same(resolveOptions({ ...valid(), destinations: { support } }).destinations, { support })
  assertRejectsOption(t, { ...valid(), destinations: { support: { ...support, priority: 1.5 } } }, 'destinations.support.priority', 'a priority that is no integer')
  assertRejectsOption(t, { ...valid(), destinations: { box: { kind: 'voicemail', context: 'vm', priority: 5 } } }, 'destinations.box.priority', 'a priority for a voicemail box')
  assertRejectsOption(t, { ...valid(), destinations: { box: { kind: 'voicemail', context: 'vm', queue: 'sales' } } }, 'destinations.box.queue', 'a queue name for a voicemail box')
  t.equal(resolveOptions(valid()).queueLog, false)
  t.equal(resolveOptions({ ...valid(), queueLog: true }).queueLog, true)
  assertRejectsOption(t, { ...valid(), queueLog: 'yes' as never }, 'queueLog', 'not a boolean')
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

const pbx1 = {
  name: 'pbx1',
  ami: { host: '10.0.0.1', port: 5038, username: 'transfer', password: 'one' },
  ari: { url: 'http://10.0.0.1:8088', username: 'transfer', password: 'one' }
}
const pbx2 = {
  name: 'pbx2',
  ami: { host: '10.0.0.2', port: 15038, username: 'xfer', password: 'two' },
  ari: { url: 'https://10.0.0.2:8089', username: 'xfer', password: 'two' },
  transferContext: 'agents-2'
}

/** Options with `servers` instead of ami + ari; typed loosely on purpose, to pass wrong values. */
function withServers (servers: unknown, more: Record<string, unknown> = {}): FastifyAsteriskTransferOptions {
  return { servers, authenticate, ...more } as unknown as FastifyAsteriskTransferOptions
}

t.test('servers: the pool in the order given, each with its own transferContext or the top-level one', async (t) => {
  const resolved = resolveOptions(withServers([pbx1, pbx2], { transferContext: 'agents' }))
  t.same(resolved.servers, [{ ...pbx1, transferContext: 'agents' }, pbx2])
  t.equal(resolved.transferContext, 'agents', 'the top-level one stays: the default of every server')
  t.same(resolveOptions(withServers([pbx1])).servers, [{ ...pbx1, transferContext: 'from-internal' }], 'a pool of one, named as given')
})

t.test('the single ami + ari: a pool of one named default, with the top-level transferContext', async (t) => {
  t.same(resolveOptions(valid()).servers, [{ name: DEFAULT_SERVER, ami: valid().ami, ari: valid().ari, transferContext: 'from-internal' }])
  t.equal(resolveOptions({ ...valid(), transferContext: 'agents' }).servers[0]?.transferContext, 'agents')
})

t.test('the single server\'s extra fields are still accepted, and go no further than the options', async (t) => {
  const resolved = resolveOptions(withOption((o) => { o.ami.events = 'all'; o.ari.logger = 'x' }))
  t.same(resolved.servers[0]?.ami, valid().ami)
  t.same(resolved.servers[0]?.ari, valid().ari)
})

t.test('the caller\'s servers are not modified', async (t) => {
  const options = withServers([pbx1, { ...pbx2, transferContext: undefined }])
  const before = structuredClone(options.servers)
  resolveOptions(options)
  t.same(options.servers, before)
})

t.test('server names: short identifiers, nothing that could end a key\'s server part', async (t) => {
  for (const name of ['a', 'pbx-1', 'pbx_2', 'paris2', `p${'x'.repeat(31)}`]) {
    t.equal(resolveOptions(withServers([{ ...pbx1, name }])).servers[0]?.name, name, name)
  }
  for (const name of ['', 'Pbx1', '1pbx', '-pbx', 'pbx:1', 'pbx 1', 'pbx.1', 'pbx1\n', `p${'x'.repeat(32)}`, 7]) {
    t.throws(() => resolveOptions(withServers([pbx2, { ...pbx1, name }])),
      { message: /option "servers\[1\]\.name" must be a lowercase letter, then up to 31 lowercase letters, digits, _ or -|option "servers\[1\]\.name" must be string/ }, JSON.stringify(name))
  }
})

t.test('each bad server is refused naming its index and field', async (t) => {
  const cases: Array<[string, string, unknown]> = [
    ['ami.port 0', 'servers[1].ami.port', [pbx1, { ...pbx2, ami: { ...pbx2.ami, port: 0 } }]],
    ['ami.port a string', 'servers[0].ami.port', [{ ...pbx1, ami: { ...pbx1.ami, port: '5038' } }]],
    ['no ami.host', 'servers[1].ami.host', [pbx1, { ...pbx2, ami: { ...pbx2.ami, host: undefined } }]],
    ['no ari', 'servers[0].ari', [{ name: 'pbx1', ami: pbx1.ami }]],
    ['no name', 'servers[1].name', [pbx1, { ami: pbx2.ami, ari: pbx2.ari }]],
    ['ari.url without scheme', 'servers[1].ari.url', [pbx1, { ...pbx2, ari: { ...pbx2.ari, url: 'pbx2:8088' } }]],
    ['empty ari.username', 'servers[0].ari.username', [{ ...pbx1, ari: { ...pbx1.ari, username: '' } }]],
    ['transferContext with a comma', 'servers[1].transferContext', [pbx1, { ...pbx2, transferContext: 'agents,103' }]],
    ['a misspelt field of a server', 'servers[1].transfer_context', [pbx1, { ...pbx2, transfer_context: 'x' }]],
    ['a misspelt field of ami', 'servers[0].ami.user', [{ ...pbx1, ami: { ...pbx1.ami, user: 'x' } }]],
    ['an entry that is no object', 'servers[1]', [pbx1, 'pbx2']],
    ['a name given twice', 'servers[2].name', [pbx1, pbx2, { ...pbx2, name: 'pbx1' }]],
    ['no server at all', 'servers', []],
    ['not a list', 'servers', { pbx1 }]
  ]
  for (const [scenario, path, servers] of cases) assertRejectsOption(t, withServers(servers), path, scenario)
})

t.test('the words of a server\'s refusals say what to fix', async (t) => {
  const message = (servers: unknown): string => {
    try {
      resolveOptions(withServers(servers))
    } catch (error) {
      return (error as Error).message
    }
    return ''
  }
  t.equal(message([pbx1, { ...pbx2, ami: { ...pbx2.ami, port: 0 } }]), 'fastify-asterisk-transfer: option "servers[1].ami.port" must be >= 1')
  t.equal(message([pbx1, pbx2, { ...pbx2, name: 'pbx1' }]), 'fastify-asterisk-transfer: option "servers[2].name" "pbx1" is already the name of servers[0]: names are unique in the pool')
  t.equal(message([{ ...pbx1, ami: { ...pbx1.ami, user: 'x' } }]), 'fastify-asterisk-transfer: option "servers[0].ami.user" is not a field of ami (host, port, username, password)')
  t.equal(message([{ ...pbx1, transfer_context: 'x' }]), 'fastify-asterisk-transfer: option "servers[0].transfer_context" is not a field of a server (name, ami, ari, transferContext)')
  t.equal(message([{ name: 'pbx1', ami: pbx1.ami }]), 'fastify-asterisk-transfer: option "servers[0].ari" is required')
  t.equal(message([]), 'fastify-asterisk-transfer: option "servers" must list at least one server')
})

t.test('servers and the single ami/ari exclude each other; one of them is required', async (t) => {
  t.throws(() => resolveOptions({ ...valid(), servers: [pbx1] }), { message: /option "servers" cannot be given with "ami" and "ari"/ })
  t.throws(() => resolveOptions(withServers([pbx1], { ari: pbx1.ari })), { message: /option "servers" cannot be given with "ari"/ })
  t.throws(() => resolveOptions({ authenticate }), { message: /option "ami" is required \(with "ari"\), or "servers"/ })
  assertRejectsOption(t, withOption((o) => { delete o.ari }), 'ari', 'ami without ari')
})

/** An HTTP server answering 401 to everything (ARI refusing the credentials), counting requests. */
async function refusingAri (): Promise<{ server: Server, url: string, requests: () => number }> {
  let requests = 0
  const server = createServer((request, response) => { requests++; response.writeHead(401).end() })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests: () => requests }
}

t.test('a bad server fails the registration before any server is connected', async (t) => {
  const ami = await FakeAmiServer.start({ username: 'admin', secret: 'secret' })
  const ari = await refusingAri()
  t.teardown(async () => {
    await ami.close()
    await new Promise((resolve) => ari.server.close(resolve))
  })
  // Refused credentials on a reachable server: the plugin does connect, and the fakes see it.
  const reachable = { name: 'pbx1', ami: { host: '127.0.0.1', port: ami.port, username: 'admin', password: 'wrong' }, ari: { url: ari.url, username: 'x', password: 'x' } }
  const register = async (servers: unknown[]): Promise<void> => {
    const app = Fastify({ logger: false })
    try {
      await app.register(asteriskTransfer, withServers(servers, { actionTimeoutMs: 1000, reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000 } }))
      await app.ready()
    } finally {
      await app.close().catch(() => {})
    }
  }
  await t.rejects(register([reachable, { ...reachable, name: 'pbx2', ami: { ...reachable.ami, port: 70000 } }]), { message: /option "servers\[1\]\.ami\.port"/ })
  t.equal(ami.connectionCount, 0, 'no AMI connection to the first server, valid as it is')
  t.equal(ari.requests(), 0, 'no ARI request either')
  await t.rejects(register([reachable]), { code: 'XFER_AMI_LOGIN_FAILED' }, 'the same server, alone: connected, and its login refused')
  t.equal(ami.connectionCount, 1, 'so the fake AMI does see a connection when one is made')
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
