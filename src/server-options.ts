/**
 * The Asterisk servers of the pool: the `servers` option (or the single `ami` + `ari`, a pool of one
 * named `default`), their schema and their check. The example app and the command-line tool read the
 * same list from ASTERISK_SERVERS and check it here, so a server's name and fields follow one rule
 * wherever they are given. Pure: problems come back as data, each named by its path
 * (`servers[1].ami.port`); the callers word the error (an option, a variable).
 */
import Type, { type Static, type TSchema } from 'typebox'
import Value from 'typebox/value'
import { DEFAULT_SERVER } from './domain/server.js'

/**
 * A server's name: short, lowercase, safe in a log line, a metric label and a key. Never a ':', which
 * separates the server from the channel in the keys that span servers (`domain/server.ts`).
 */
export const SERVER_NAME_PATTERN = '^[a-z][a-z0-9_-]{0,31}$'
const NAME_RULE = 'a lowercase letter, then up to 31 lowercase letters, digits, _ or -'

export const AmiConnection = Type.Object({
  host: Type.String({ minLength: 1 }),
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
  username: Type.String({ minLength: 1 }),
  password: Type.String()
})
export type AmiConnection = Static<typeof AmiConnection>

export const AriConnection = Type.Object({
  url: Type.String({ pattern: '^https?://[^\\s]+$' }),
  username: Type.String({ minLength: 1 }),
  password: Type.String()
})
export type AriConnection = Static<typeof AriConnection>

/** A dialplan context's name: also sent to AMI, so nothing that could end a line or a value. */
export const TRANSFER_CONTEXT_PATTERN = '^[A-Za-z0-9_.-]{1,79}$'
const TransferContext = Type.String({ pattern: TRANSFER_CONTEXT_PATTERN })

const SERVER_SHAPE = '{ name, ami, ari, transferContext? }'
/** The fields of what may hold an unknown one, for the message that names it. */
const FIELDS: Record<string, string> = { ami: 'host, port, username, password', ari: 'url, username, password' }
const SERVER_FIELDS = 'name, ami, ari, transferContext'

/**
 * One server of the pool. Its fields only, at every level: in a list written by hand (ASTERISK_SERVERS)
 * a misspelt field (`transfer_context`) would otherwise be ignored without a word.
 */
export const ServerOption = Type.Object({
  name: Type.String({ pattern: SERVER_NAME_PATTERN }),
  ami: Type.Object(AmiConnection.properties, { additionalProperties: false }),
  ari: Type.Object(AriConnection.properties, { additionalProperties: false }),
  /** Where this server dials transfer targets; default: the top-level `transferContext`. */
  transferContext: Type.Optional(TransferContext)
}, { additionalProperties: false })
export type ServerOption = Static<typeof ServerOption>

const ServerList = Type.Array(ServerOption)

/** The single server of the options before pools (`ami` + `ari`): checked as it always was. */
const SingleServer = Type.Object({ ami: AmiConnection, ari: AriConnection })

/** A server as the plugin uses it: what it was given, with its transfer context settled. */
export interface ResolvedServer {
  name: string
  ami: AmiConnection
  ari: AriConnection
  transferContext: string
}

/** What is wrong, and where: `path` is the field (`servers[1].ami.port`), `message` what is wrong with it. */
export interface ServerProblem {
  path: string
  message: string
}

/** The first segment is the root (`servers`); an index is written `[1]`, a field `.port`. */
function pathOf (root: string, segments: readonly string[]): string {
  return segments.reduce((path, segment) => /^[0-9]+$/.test(segment) ? `${path}[${segment}]` : path === '' ? segment : `${path}.${segment}`, root)
}

/** The words for one schema error (none for the second report TypeBox gives of an unknown field). */
function problemsOfError (root: string, error: { instancePath: string, keyword: string, message: string, params: unknown }): ServerProblem[] {
  const segments = error.instancePath.split('/').filter(Boolean)
  const params = error.params as { requiredProperties?: string[], additionalProperties?: string[] }
  const at = (...more: string[]): string => pathOf(root, [...segments, ...more])
  switch (error.keyword) {
    case 'required':
      return (params.requiredProperties ?? []).map((field) => ({ path: at(field), message: 'is required' }))
    case 'additionalProperties': {
      // The owner is `ami`, `ari`, or an entry of the list (its index).
      const owner = segments.at(-1) ?? ''
      const what = FIELDS[owner] === undefined ? `a server (${SERVER_FIELDS})` : `${owner} (${FIELDS[owner]})`
      return (params.additionalProperties ?? []).map((field) => ({ path: at(field), message: `is not a field of ${what}` }))
    }
    // The same unknown field, seen from the `false` schema of additionalProperties: said above.
    case 'boolean':
      return []
  }
  const field = segments.at(-1)
  if (error.keyword === 'pattern' && field === 'name') return [{ path: at(), message: `must be ${NAME_RULE}` }]
  if (error.keyword === 'pattern' && field === 'url') return [{ path: at(), message: 'must be an http:// or https:// URL (the base URL, e.g. http://pbx:8088)' }]
  if (error.keyword === 'type' && /^[0-9]+$/.test(field ?? '')) return [{ path: at(), message: `must be a server: ${SERVER_SHAPE}` }]
  return [{ path: at(), message: error.message }]
}

function schemaProblems (schema: TSchema, value: unknown, root: string): ServerProblem[] {
  return [...Value.Errors(schema, value)].flatMap((error) => problemsOfError(root, error))
}

/**
 * Every problem of a list of servers given as `root` (`servers`, `ASTERISK_SERVERS`): not a list, an
 * empty one, a bad entry (by its index and field), a name given twice. None: the list is a pool.
 */
export function serverListProblems (value: unknown, root: string): ServerProblem[] {
  if (!Array.isArray(value)) return [{ path: root, message: `must be a list of servers: [${SERVER_SHAPE}, ...]` }]
  if (value.length === 0) return [{ path: root, message: 'must list at least one server' }]
  const problems = schemaProblems(ServerList, value, root)
  const firstIndex = new Map<string, number>()
  value.forEach((entry: unknown, index) => {
    const name = (entry as { name?: unknown } | null)?.name
    if (typeof name !== 'string') return
    const first = firstIndex.get(name)
    if (first === undefined) firstIndex.set(name, index)
    else problems.push({ path: `${root}[${index}].name`, message: `${JSON.stringify(name)} is already the name of ${root}[${first}]: names are unique in the pool` })
  })
  return problems
}

/** Every problem of the single server (`ami` and `ari`, at the top level of the options). */
export function singleServerProblems (value: { ami?: unknown, ari?: unknown }): ServerProblem[] {
  return schemaProblems(SingleServer, value, '')
}

/** A checked list, each server with its transfer context (its own, else `transferContext`). */
export function resolveServers (servers: readonly ServerOption[], transferContext: string): ResolvedServer[] {
  return servers.map((server) => ({
    name: server.name,
    ami: connectionOf(server.ami),
    ari: connectionOf(server.ari),
    transferContext: server.transferContext ?? transferContext
  }))
}

/** The single server, checked: a pool of one named `default`. */
export function singleServerPool (ami: AmiConnection, ari: AriConnection, transferContext: string): ResolvedServer[] {
  return [{ name: DEFAULT_SERVER, ami: connectionOf(ami), ari: connectionOf(ari), transferContext }]
}

/**
 * The connection fields and nothing else: the single server's `ami`/`ari` were never refused for an
 * extra field, and what they carry besides must not reach the clients built from them.
 */
function connectionOf<T extends AmiConnection | AriConnection> (given: T): T {
  return ('host' in given
    ? { host: given.host, port: given.port, username: given.username, password: given.password }
    : { url: given.url, username: given.username, password: given.password }) as T
}
