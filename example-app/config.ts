/**
 * The example app's configuration, from the environment (and `.env`). Checked once at start: every
 * problem is reported together, by variable name, before anything connects.
 */
import Type, { type Static } from 'typebox'
import Value from 'typebox/value'
import { readAsteriskEnvironment } from '../src/cli/environment.js'
import { Destination, type DestinationMap } from '../src/domain/destination.js'
import { queueOnlyProblem } from '../src/options.js'
import type { Identity } from '../src/index.js'
import { parseHostPort } from '../src/store/redis-setting.js'
import type { ResolvedServer } from '../src/server-options.js'
import { parseAuthTokens } from './auth-tokens.js'

/**
 * The app's own variables. The Asterisk servers (ASTERISK_SERVERS, or AMI_*, ARI_* for one, and
 * TRANSFER_CONTEXT) are read by the command-line tool's reader: the same names, rules and defaults.
 */
const EnvSchema = Type.Object({
  PORT: Type.String({ pattern: '^[0-9]{1,5}$', default: '3000' }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  AUTH_TOKENS: Type.String({ minLength: 1 }),
  /** The agents, comma-separated; unset: every endpoint Asterisk knows, trunks and customers included. */
  AGENT_EXTENSIONS: Type.Optional(Type.String()),
  /** Shared state for several instances of the app; unset: everything in this process's memory. */
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  /** Or the master that Sentinel names: the sentinels (host:port,host:port,…) and the master's name. */
  REDIS_SENTINELS: Type.Optional(Type.String()),
  REDIS_SENTINEL_NAME: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' })),
  /** Or a Redis Cluster: some of its nodes (host:port,…); the others are found from them. */
  REDIS_CLUSTER_NODES: Type.Optional(Type.String()),
  /**
   * The named destinations (the plugin's `destinations`), as JSON: e.g.
   * {"support":{"kind":"queue","context":"from-queues","exten":"600","priority":10}}.
   */
  TRANSFER_DESTINATIONS: Type.Optional(Type.String()),
  /** `on` (the default): transfers of queue calls are written to Asterisk's queue_log (the plugin's `queueLog`). */
  QUEUE_LOG: Type.Union([Type.Literal('on'), Type.Literal('off')], { default: 'on' }),
  /** `on` (the default): a call recorded on the agent's leg stays recorded through a transfer (the plugin's `followRecordings`). */
  FOLLOW_RECORDINGS: Type.Union([Type.Literal('on'), Type.Literal('off')], { default: 'on' }),
  LOG_LEVEL: Type.Union([Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'), Type.Literal('debug'), Type.Literal('trace'), Type.Literal('silent')], { default: 'info' })
})

type Env = Static<typeof EnvSchema>

/** Every variable of the app's own, as `.env.example` must show it. */
export const APP_VARIABLES: readonly string[] = Object.keys(EnvSchema.properties)

export interface ExampleConfig {
  /** The plugin's `servers`: those of ASTERISK_SERVERS, or the one of AMI_* and ARI_* (named `default`). */
  servers: ResolvedServer[]
  /** TRANSFER_CONTEXT: every server's, unless its entry of ASTERISK_SERVERS gives its own. */
  transferContext: string
  port: number
  host: string
  logLevel: Env['LOG_LEVEL']
  tokens: Map<string, Identity>
  /** The call center's agent extensions, when given; otherwise the plugin asks Asterisk for its endpoints. */
  agents?: string[]
  /** Where the instances of the app share their state, when several run; otherwise in memory. */
  redisUrl?: string
  /** The same through Sentinel (REDIS_SENTINELS + REDIS_SENTINEL_NAME): the master it names, after each failover. */
  redisSentinel?: { sentinels: Array<{ host: string, port: number }>, name: string }
  /** The same on a Redis Cluster (REDIS_CLUSTER_NODES). */
  redisCluster?: Array<{ host: string, port: number }>
  /** TRANSFER_DESTINATIONS: queues, voicemail boxes... beyond the agents (none when unset). */
  destinations: DestinationMap
  /** QUEUE_LOG: whether transfers of queue calls are written to the queue_log. */
  queueLog: boolean
  /** FOLLOW_RECORDINGS: whether the customer is recorded when the agent's recorded leg leaves. */
  followRecordings: boolean
}

const Destinations = Type.Record(Type.String({ pattern: '^[0-9A-Za-z*#+_-]{1,32}$' }), Destination)

/** TRANSFER_DESTINATIONS, parsed and checked as the plugin checks `destinations`: every problem named by its path. */
function transferDestinations (value: string, problems: string[]): DestinationMap {
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch (error) {
    problems.push(`TRANSFER_DESTINATIONS is not JSON (${(error as Error).message}); e.g. {"support":{"kind":"queue","context":"from-queues","exten":"600","priority":10}}`)
    return {}
  }
  const errors = [...Value.Errors(Destinations, parsed)].map((error) => {
    const missing = (error.params as { requiredProperties?: string[] }).requiredProperties?.[0]
    const path = [...error.instancePath.split('/').filter(Boolean), ...(missing === undefined ? [] : [missing])].join('.')
    return `TRANSFER_DESTINATIONS${path === '' ? '' : `: "${path}"`} ${missing === undefined ? error.message : 'is required'}`
  })
  if (errors.length > 0) {
    problems.push(...errors)
    return {}
  }
  const destinations = parsed as DestinationMap
  const queueOnly = queueOnlyProblem(destinations)
  if (queueOnly !== undefined) problems.push(`TRANSFER_DESTINATIONS: "${queueOnly.path}" ${queueOnly.message}`)
  return destinations
}

function addresses (name: string, value: string, problems: string[]): Array<{ host: string, port: number }> {
  const items = value.split(',').map((item) => item.trim()).filter((item) => item !== '')
  const parsed = items.map((item) => parseHostPort(item))
  const invalid = items.filter((_, index) => parsed[index] === undefined)
  if (items.length === 0) problems.push(`${name} must list host:port,host:port,…`)
  if (invalid.length > 0) problems.push(`${name}: ${invalid.map((item) => `"${item}"`).join(', ')} not host:port`)
  return parsed.filter((address) => address !== undefined)
}

/** REDIS_URL, REDIS_SENTINELS (+ REDIS_SENTINEL_NAME) or REDIS_CLUSTER_NODES: one of them, or none. */
function readRedis (env: Env, config: ExampleConfig, problems: string[]): void {
  const given = (['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'] as const).filter((name) => env[name] !== undefined)
  if (given.length > 1) problems.push(`${given.join(' and ')}: set one of them (one Redis, Sentinel, or a cluster)`)
  if (env.REDIS_URL !== undefined) config.redisUrl = env.REDIS_URL
  if (env.REDIS_SENTINELS !== undefined) {
    const sentinels = addresses('REDIS_SENTINELS', env.REDIS_SENTINELS, problems)
    if (env.REDIS_SENTINEL_NAME === undefined) problems.push('REDIS_SENTINEL_NAME is required with REDIS_SENTINELS (the master\'s name: sentinel monitor <name> …)')
    else config.redisSentinel = { sentinels, name: env.REDIS_SENTINEL_NAME }
  } else if (env.REDIS_SENTINEL_NAME !== undefined) {
    problems.push('REDIS_SENTINEL_NAME is set without REDIS_SENTINELS')
  }
  if (env.REDIS_CLUSTER_NODES !== undefined) config.redisCluster = addresses('REDIS_CLUSTER_NODES', env.REDIS_CLUSTER_NODES, problems)
}

/** The routes' extension pattern: what is not an extension here could not be transferred to either. */
const EXTENSION = /^[0-9A-Za-z*#+_-]{1,32}$/

function agentExtensions (value: string, problems: string[]): string[] {
  const extensions = value.split(',').map((item) => item.trim())
  const invalid = extensions.filter((extension) => !EXTENSION.test(extension))
  if (invalid.length > 0) {
    problems.push(`AGENT_EXTENSIONS: ${invalid.map((item) => `"${item}"`).join(', ')} not an extension (1 to 32 of digits, letters, * # + _ -)`)
  }
  return [...new Set(extensions)]
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

function port (name: string, value: string, problems: string[]): number {
  const number = Number(value)
  if (number < 1 || number > 65535) problems.push(`${name} must be a port number (1-65535), got "${value}"`)
  return number
}

export function readConfig (environment: NodeJS.ProcessEnv): ExampleConfig {
  const asterisk = readAsteriskEnvironment(environment)
  const known = Object.fromEntries(Object.keys(EnvSchema.properties).flatMap((key) =>
    environment[key] === undefined || environment[key] === '' ? [] : [[key, environment[key]]]))
  const env = Value.Default(EnvSchema, known) as Env
  const missing = [...asterisk.missing]
  const invalid = [...asterisk.invalid]
  for (const error of Value.Errors(EnvSchema, env)) {
    const name = error.instancePath.replace(/^\//, '')
    if (name === '') missing.push(...((error.params as { requiredProperties?: string[] }).requiredProperties ?? []))
    else invalid.push(`${name} ${error.message}`)
  }
  const problems = [...(missing.length > 0 ? [`missing required variables: ${missing.join(', ')}`] : []), ...invalid]
  if (problems.length > 0) throw new ConfigError(`Invalid configuration:\n  - ${problems.join('\n  - ')}`)
  const config: ExampleConfig = {
    servers: asterisk.servers,
    transferContext: asterisk.transferContext,
    port: port('PORT', env.PORT, problems),
    host: env.HOST,
    logLevel: env.LOG_LEVEL,
    tokens: new Map(),
    destinations: env.TRANSFER_DESTINATIONS === undefined ? {} : transferDestinations(env.TRANSFER_DESTINATIONS, problems),
    queueLog: env.QUEUE_LOG === 'on',
    followRecordings: env.FOLLOW_RECORDINGS === 'on'
  }
  if (env.AGENT_EXTENSIONS !== undefined) config.agents = agentExtensions(env.AGENT_EXTENSIONS, problems)
  readRedis(env, config, problems)
  try {
    config.tokens = parseAuthTokens(env.AUTH_TOKENS)
  } catch (error) {
    problems.push((error as Error).message)
  }
  if (problems.length > 0) throw new ConfigError(`Invalid configuration:\n  - ${problems.join('\n  - ')}`)
  return config
}
