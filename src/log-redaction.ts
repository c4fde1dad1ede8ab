/**
 * Keeps credentials out of log lines. Browsers cannot set headers on a WebSocket, so the feed's token
 * travels as `?token=` and Fastify's `incoming request` line logs the URL with it. The plugin uses the
 * request serializer on its own routes; a host app passes `logRedaction` to its Fastify logger so that
 * every other line (its own routes, 404s, headers if it logs them) is covered too.
 */
import type { FastifyRequest } from 'fastify'

export const REDACTED = '[REDACTED]'

/** Query parameters that carry credentials, compared without case. */
const SECRET_PARAMETERS = new Set(['token', 'access_token', 'id_token', 'refresh_token', 'api_key', 'apikey', 'password', 'passwd', 'secret', 'auth', 'authorization'])

/** `scheme://user:password@`: the credentials part of an absolute URL. */
const USER_INFO = /^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i

function parameterName (raw: string): string {
  try {
    return decodeURIComponent(raw.replaceAll('+', ' ')).toLowerCase()
  } catch {
    return raw.toLowerCase()
  }
}

/**
 * The URL with the values of credential parameters (`token`, `access_token`, `password`...) and any
 * `user:password@` replaced by `[REDACTED]`; everything else is kept as written, so the line still
 * says which route was asked with which other parameters.
 */
export function redactUrl (url: string): string {
  const withoutUser = url.replace(USER_INFO, `$1${REDACTED}@`)
  const queryStart = withoutUser.indexOf('?')
  if (queryStart === -1) return withoutUser
  const hashStart = withoutUser.indexOf('#', queryStart)
  const end = hashStart === -1 ? withoutUser.length : hashStart
  const query = withoutUser.slice(queryStart + 1, end).split(/([&;])/).map((part) => {
    const equals = part.indexOf('=')
    const name = equals === -1 ? part : part.slice(0, equals)
    return SECRET_PARAMETERS.has(parameterName(name)) ? `${name}=${REDACTED}` : part
  }).join('')
  return `${withoutUser.slice(0, queryStart + 1)}${query}${withoutUser.slice(end)}`
}

/**
 * Fastify's own `req` serializer (the `incoming request` line), with the URL redacted. Whatever else a
 * host logs under `req` (a raw request, a plain object) is reduced to the same fields.
 */
export function serializeRequest (request: Partial<FastifyRequest> | undefined): Record<string, unknown> {
  return {
    method: request?.method,
    url: typeof request?.url === 'string' ? redactUrl(request.url) : undefined,
    version: request?.headers?.['accept-version'],
    host: request?.host,
    remoteAddress: request?.ip,
    remotePort: request?.socket?.remotePort
  }
}

/** Header paths censored in case a host logs headers (`request.log.info({ headers: request.headers })`). */
export const REDACTED_LOG_PATHS = [
  'headers.authorization',
  'headers["proxy-authorization"]',
  'headers.cookie'
]

/** `?name=value` (or `&`, `;`) anywhere in a text, e.g. Fastify's "Route GET:/x?token=... not found". */
const PARAMETER_IN_TEXT = /([?&;])([^=&;#?\s"']+)=([^&;#\s"']*)/g
const USER_INFO_IN_TEXT = /\b([a-z][a-z0-9+.-]*:\/\/)[^/?#@\s"']*@/gi

/** A free text (a log message) with the URLs in it redacted as `redactUrl` does. */
export function redactText (text: string): string {
  if (!text.includes('=') && !text.includes('@')) return text
  return text
    .replace(USER_INFO_IN_TEXT, `$1${REDACTED}@`)
    .replace(PARAMETER_IN_TEXT, (whole, separator: string, name: string) =>
      SECRET_PARAMETERS.has(parameterName(name)) ? `${separator}${name}=${REDACTED}` : whole)
}

/**
 * pino's hook on every log call: the messages are redacted too, since Fastify's default 404 handler
 * writes the full URL into its message, where no serializer or path reaches.
 */
function redactMessages (this: unknown, args: unknown[], method: (...args: unknown[]) => void): void {
  method.apply(this, args.map((arg) => typeof arg === 'string' ? redactText(arg) : arg))
}

/**
 * Spread into the host's Fastify logger options:
 * `Fastify({ logger: { level: 'info', ...logRedaction } })`.
 */
export const logRedaction = {
  serializers: { req: serializeRequest },
  redact: { paths: REDACTED_LOG_PATHS, censor: REDACTED },
  hooks: { logMethod: redactMessages }
}
