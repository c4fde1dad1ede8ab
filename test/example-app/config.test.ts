import t from 'tap'
import { ConfigError, readConfig } from '../../example-app/config.js'

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
