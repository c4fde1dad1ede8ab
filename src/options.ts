/**
 * The plugin's options: their schema, defaults and the check at registration. A wrong option fails
 * `register` with a message naming the option, never a confusing error at the first call.
 */
import Type, { type Static } from 'typebox'
import Value from 'typebox/value'
import type { Authenticate } from './identity.js'

const Host = Type.String({ minLength: 1 })
const Port = Type.Integer({ minimum: 1, maximum: 65535 })
const Secret = Type.String()
const Millis = Type.Integer({ minimum: 1, maximum: 600_000 })

/** The part of the options that is data (checked by schema); the hooks are checked separately. */
export const PluginDataOptions = Type.Object({
  ami: Type.Object({ host: Host, port: Port, username: Type.String({ minLength: 1 }), password: Secret }),
  ari: Type.Object({ url: Type.String({ pattern: '^https?://[^\\s]+$' }), username: Type.String({ minLength: 1 }), password: Secret }),
  prefix: Type.String({ pattern: '^(/[A-Za-z0-9._~-]+)*$', default: '/api' }),
  transferContext: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,79}$', default: 'from-internal' }),
  channelTechnology: Type.String({ pattern: '^[A-Za-z0-9_]{1,16}$', default: 'PJSIP' }),
  actionTimeoutMs: Type.Optional(Millis),
  /** How long an attended transfer may take to show its Hold and dial; defaults to actionTimeoutMs. */
  consultationTimeoutMs: Type.Optional(Millis),
  reconnect: Type.Object({
    initialDelayMs: Type.Integer({ minimum: 10, default: 500 }),
    maxDelayMs: Type.Integer({ minimum: 10, default: 10_000 })
  }, { default: {} }),
  amiPingIntervalMs: Type.Integer({ minimum: 0, default: 15_000 }),
  feed: Type.Object({
    /** Events kept for clients that reconnect with `?since=`. */
    capacity: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1000 }),
    heartbeatIntervalMs: Type.Integer({ minimum: 10, default: 30_000 }),
    /** Unsent bytes a socket may hold before it is closed as a slow consumer (close code 4008). */
    maxBufferedBytes: Type.Integer({ minimum: 1024, default: 1024 * 1024 })
  }, { default: {} })
})

export interface FastifyAsteriskTransferOptions extends Partial<Omit<Static<typeof PluginDataOptions>, 'ami' | 'ari' | 'reconnect' | 'feed'>> {
  ami: Static<typeof PluginDataOptions>['ami']
  ari: Static<typeof PluginDataOptions>['ari']
  reconnect?: Partial<Static<typeof PluginDataOptions>['reconnect']>
  feed?: Partial<Static<typeof PluginDataOptions>['feed']>
  authenticate: Authenticate
}

export type ResolvedOptions = Static<typeof PluginDataOptions> & {
  actionTimeoutMs: number
  consultationTimeoutMs: number
  authenticate: Authenticate
}

const DEFAULT_ACTION_TIMEOUT_MS = 5000

export function resolveOptions (options: FastifyAsteriskTransferOptions): ResolvedOptions {
  const { authenticate, ...data } = options as FastifyAsteriskTransferOptions & Record<string, unknown>
  const withDefaults = Value.Default(PluginDataOptions, Value.Clone(data)) as Static<typeof PluginDataOptions>
  const [problem] = Value.Errors(PluginDataOptions, withDefaults)
  if (problem !== undefined) {
    // A missing property is reported at its parent: name the property itself.
    const missing = (problem.params as { requiredProperties?: string[] }).requiredProperties?.[0]
    const path = [...problem.instancePath.split('/').filter(Boolean), ...(missing === undefined ? [] : [missing])]
    const where = path.join('.') || 'options'
    throw new Error(`fastify-asterisk-transfer: option "${where}" ${missing === undefined ? problem.message : 'is required'}`)
  }
  if (typeof authenticate !== 'function') {
    throw new Error('fastify-asterisk-transfer: option "authenticate" must be a function (request) => { extension, role } | null')
  }
  if (withDefaults.reconnect.maxDelayMs < withDefaults.reconnect.initialDelayMs) {
    throw new Error('fastify-asterisk-transfer: option "reconnect.maxDelayMs" must be >= reconnect.initialDelayMs')
  }
  const actionTimeoutMs = withDefaults.actionTimeoutMs ?? DEFAULT_ACTION_TIMEOUT_MS
  return {
    ...withDefaults,
    actionTimeoutMs,
    consultationTimeoutMs: withDefaults.consultationTimeoutMs ?? actionTimeoutMs,
    authenticate
  }
}
