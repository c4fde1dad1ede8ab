import { readFileSync } from 'node:fs'
import { parseEnv } from 'node:util'
import t from 'tap'
import { APP_VARIABLES, ConfigError, readConfig } from '../../example-app/config.js'

const base = {
  AMI_HOST: '127.0.0.1',
  AMI_USERNAME: 'transfer',
  AMI_PASSWORD: 'secret',
  ARI_URL: 'http://127.0.0.1:8088',
  ARI_USERNAME: 'transfer',
  ARI_PASSWORD: 'secret',
  AUTH_TOKENS: 'agent-101-token:101'
}

const problemsOf = (environment: NodeJS.ProcessEnv): string => {
  try {
    readConfig(environment)
  } catch (error) {
    if (error instanceof ConfigError) return error.message
    throw error
  }
  return ''
}

t.test('AGENT_EXTENSIONS: the agents, trimmed, each once, in order', async (t) => {
  t.same(readConfig({ ...base, AGENT_EXTENSIONS: ' 101, 102,101 ,sales-1' }).agents, ['101', '102', 'sales-1'])
})

t.test('without AGENT_EXTENSIONS (unset or empty) the plugin is left to ask Asterisk', async (t) => {
  t.equal(readConfig(base).agents, undefined)
  t.equal(readConfig({ ...base, AGENT_EXTENSIONS: '' }).agents, undefined)
})

t.test('what is not an extension is named, along with every other problem', async (t) => {
  const message = problemsOf({ ...base, AGENT_EXTENSIONS: '101,1 02,,103\nAction: Hangup', PORT: '70000' })
  t.match(message, /^Invalid configuration:/)
  t.match(message, /AGENT_EXTENSIONS: "1 02", "", "103\nAction: Hangup" not an extension/)
  t.match(message, /PORT must be a port number/)
})

t.test('REDIS_URL: passed on when set; unset or empty, the app keeps its state in memory', async (t) => {
  t.equal(readConfig({ ...base, REDIS_URL: 'redis://127.0.0.1:6390' }).redisUrl, 'redis://127.0.0.1:6390')
  t.equal(readConfig({ ...base, REDIS_URL: 'rediss://cache.internal:6380/2' }).redisUrl, 'rediss://cache.internal:6380/2')
  t.equal(readConfig(base).redisUrl, undefined)
  t.equal(readConfig({ ...base, REDIS_URL: '' }).redisUrl, undefined)
})

t.test('REDIS_SENTINELS + REDIS_SENTINEL_NAME, or REDIS_CLUSTER_NODES: parsed into what the plugin takes', async (t) => {
  const sentinel = readConfig({ ...base, REDIS_SENTINELS: '10.0.0.1:26379, sentinel-b:26380,[::1]:26381', REDIS_SENTINEL_NAME: 'transfers' })
  t.same(sentinel.redisSentinel, { sentinels: [{ host: '10.0.0.1', port: 26379 }, { host: 'sentinel-b', port: 26380 }, { host: '::1', port: 26381 }], name: 'transfers' })
  t.equal(sentinel.redisUrl, undefined)
  t.same(readConfig({ ...base, REDIS_CLUSTER_NODES: '10.0.0.1:7000,10.0.0.2:7001' }).redisCluster, [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7001 }])
  t.match(problemsOf({ ...base, REDIS_SENTINELS: '10.0.0.1:26379' }), /REDIS_SENTINEL_NAME is required with REDIS_SENTINELS/)
  t.match(problemsOf({ ...base, REDIS_SENTINEL_NAME: 'transfers' }), /REDIS_SENTINEL_NAME is set without REDIS_SENTINELS/)
  t.match(problemsOf({ ...base, REDIS_SENTINELS: '10.0.0.1, b:99999', REDIS_SENTINEL_NAME: 'm' }), /REDIS_SENTINELS: "10.0.0.1", "b:99999" not host:port/)
  t.match(problemsOf({ ...base, REDIS_CLUSTER_NODES: ',' }), /REDIS_CLUSTER_NODES must list host:port/)
  t.match(problemsOf({ ...base, REDIS_URL: 'redis://a:6379', REDIS_CLUSTER_NODES: 'b:7000' }), /REDIS_URL and REDIS_CLUSTER_NODES: set one of them/)
})

t.test('a REDIS_URL that is not a redis:// or rediss:// URL is named', async (t) => {
  t.match(problemsOf({ ...base, REDIS_URL: 'http://127.0.0.1:6379' }), /REDIS_URL must match pattern/)
})

const pbx1 = {
  name: 'pbx1',
  ami: { host: '10.0.0.1', port: 5038, username: 'transfer', password: 'one' },
  ari: { url: 'http://10.0.0.1:8088', username: 'transfer', password: 'one' }
}
const pbx2 = { ...pbx1, name: 'pbx2', ami: { ...pbx1.ami, host: '10.0.0.2' }, ari: { ...pbx1.ari, url: 'http://10.0.0.2:8088' }, transferContext: 'agents-2' }
const { AMI_HOST: _h, AMI_USERNAME: _u, AMI_PASSWORD: _p, ARI_URL: _a, ARI_USERNAME: _au, ARI_PASSWORD: _ap, ...appOnly } = base

t.test('the single server of AMI_* and ARI_*: the plugin\'s servers, a pool of one named default', async (t) => {
  const config = readConfig(base)
  t.same(config.servers, [{
    name: 'default',
    ami: { host: '127.0.0.1', port: 5038, username: 'transfer', password: 'secret' },
    ari: { url: 'http://127.0.0.1:8088', username: 'transfer', password: 'secret' },
    transferContext: 'from-internal'
  }])
  t.equal(config.transferContext, 'from-internal')
})

t.test('ASTERISK_SERVERS: the pool, without AMI_* or ARI_*; TRANSFER_CONTEXT is the default of each', async (t) => {
  const config = readConfig({ ...appOnly, ASTERISK_SERVERS: JSON.stringify([pbx1, pbx2]), TRANSFER_CONTEXT: 'agents' })
  t.same(config.servers, [{ ...pbx1, transferContext: 'agents' }, pbx2])
  t.equal(config.transferContext, 'agents')
})

t.test('ASTERISK_SERVERS problems are listed with every other problem, by index and field', async (t) => {
  const message = problemsOf({ ...appOnly, ASTERISK_SERVERS: JSON.stringify([pbx1, { ...pbx2, name: 'pbx1', ami: { ...pbx2.ami, port: 0 } }]), PORT: '70000' })
  t.match(message, /^Invalid configuration:/)
  t.match(message, /\n {2}- ASTERISK_SERVERS\[1\]\.ami\.port must be >= 1/)
  t.match(message, /\n {2}- ASTERISK_SERVERS\[1\]\.name "pbx1" is already the name of ASTERISK_SERVERS\[0\]/)
  t.notMatch(message, /missing/, 'AMI_* and ARI_* are not asked for')
  t.match(problemsOf({ ...appOnly, ASTERISK_SERVERS: '[{"name":"pbx1",' }), /ASTERISK_SERVERS is not valid JSON/)
  t.match(problemsOf({ ...appOnly, ASTERISK_SERVERS: JSON.stringify([pbx1]), PORT: '70000' }), /PORT must be a port number/, 'the app\'s own checks still run')
})

t.test('ASTERISK_SERVERS beside AMI_* or ARI_*: refused, saying so', async (t) => {
  t.match(problemsOf({ ...base, ASTERISK_SERVERS: JSON.stringify([pbx1]) }), /ASTERISK_SERVERS and AMI_HOST, AMI_USERNAME, AMI_PASSWORD, ARI_URL, ARI_USERNAME, ARI_PASSWORD are both set/)
})

t.test('neither: every missing variable named, the app\'s with the single server\'s', async (t) => {
  t.match(problemsOf({}), /missing required variables: AMI_HOST, AMI_USERNAME, AMI_PASSWORD, ARI_URL, ARI_USERNAME, ARI_PASSWORD, AUTH_TOKENS/)
})

t.test('.env.example: as it is, one server; its ASTERISK_SERVERS example, uncommented in place of AMI_* and ARI_*, a pool', async (t) => {
  const text = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8')
  t.same(readConfig(parseEnv(text)).servers.map((server) => server.name), ['default'])
  const pool = text.split('\n').find((line) => line.startsWith('#ASTERISK_SERVERS='))
  t.ok(pool, 'the example is there')
  const single = /^(AMI|ARI)_/
  const uncommented = text.split('\n').filter((line) => !single.test(line)).map((line) => line === pool ? line.slice(1) : line).join('\n')
  t.same(readConfig(parseEnv(uncommented)).servers.map((server) => server.name), ['pbx1', 'pbx2'])
  t.match(problemsOf(parseEnv(`${text}\n${pool?.slice(1) ?? ''}`)), /ASTERISK_SERVERS and AMI_HOST.* are both set/, 'uncommented beside AMI_* and ARI_*: said')
})

t.test('.env.example shows every variable of the app; its Redis examples, uncommented, give one Redis, Sentinel or a cluster', async (t) => {
  const text = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8')
  const shown = new Set(text.split('\n').map((line) => /^#?([A-Z][A-Z0-9_]*)=/.exec(line)?.[1]).filter((name) => name !== undefined))
  t.same(APP_VARIABLES.filter((name) => !shown.has(name)), [], 'none missing')
  const uncommented = (...names: string[]): string => text.split('\n').map((line) => names.some((name) => line.startsWith(`#${name}=`)) ? line.slice(1) : line).join('\n')
  t.match(readConfig(parseEnv(uncommented('REDIS_URL'))), { redisUrl: 'redis://127.0.0.1:6379' })
  t.match(readConfig(parseEnv(uncommented('REDIS_SENTINELS', 'REDIS_SENTINEL_NAME'))), { redisSentinel: { name: 'transfers', sentinels: [{ host: '10.0.0.11', port: 26379 }, {}, {}] } })
  t.match(readConfig(parseEnv(uncommented('REDIS_CLUSTER_NODES'))), { redisCluster: [{ host: '10.0.0.21', port: 6379 }, {}, {}] })
})

t.test('TRANSFER_DESTINATIONS: the destinations as JSON, checked as the plugin checks them; none when unset', async (t) => {
  const support = { kind: 'queue', context: 'from-queues', exten: '600', priority: 10 }
  t.same(readConfig({ ...base, TRANSFER_DESTINATIONS: JSON.stringify({ support }) }).destinations, { support })
  t.same(readConfig(base).destinations, {})
  t.match(problemsOf({ ...base, TRANSFER_DESTINATIONS: '{support:1}' }), /TRANSFER_DESTINATIONS is not JSON/)
  t.match(problemsOf({ ...base, TRANSFER_DESTINATIONS: JSON.stringify({ support: { ...support, kind: 'lobby' } }) }), /TRANSFER_DESTINATIONS: "support.kind"/)
  t.match(problemsOf({ ...base, TRANSFER_DESTINATIONS: JSON.stringify({ support: { kind: 'queue' } }) }), /TRANSFER_DESTINATIONS: "support.context" is required/)
  t.match(problemsOf({ ...base, TRANSFER_DESTINATIONS: JSON.stringify({ box: { kind: 'voicemail', context: 'vm', priority: 3 } }) }),
    /TRANSFER_DESTINATIONS: "box.priority" is only for destinations of kind "queue"/)
  t.match(problemsOf({ ...base, TRANSFER_DESTINATIONS: '{"support":{"kind":"queue","context":"q","priority":"high"}}', PORT: '70000' }), /PORT must be a port number[\s\S]*TRANSFER_DESTINATIONS: "support.priority"/, 'reported with the other problems')
})

t.test('FOLLOW_RECORDINGS: on by default, off on request, nothing else', async (t) => {
  t.equal(readConfig(base).followRecordings, true)
  t.equal(readConfig({ ...base, FOLLOW_RECORDINGS: 'off' }).followRecordings, false)
  t.match(problemsOf({ ...base, FOLLOW_RECORDINGS: 'yes' }), /FOLLOW_RECORDINGS/)
})

t.test('QUEUE_LOG: on by default, off on request, nothing else', async (t) => {
  t.equal(readConfig(base).queueLog, true)
  t.equal(readConfig({ ...base, QUEUE_LOG: 'off' }).queueLog, false)
  t.match(problemsOf({ ...base, QUEUE_LOG: 'yes' }), /QUEUE_LOG/)
})
