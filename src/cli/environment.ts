/**
 * Where the command-line tool finds Asterisk: the same variables as the example app, from the
 * environment and a `.env` file. One server is AMI_*, ARI_* (and TRANSFER_CONTEXT); a pool is
 * ASTERISK_SERVERS, a JSON array of the plugin's `servers` entries, checked by the plugin's own rules
 * (`server-options.ts`). Pure: the caller passes the environment and the file's text, so every rule
 * here is unit-tested without touching process.env.
 *
 * The example app's `readConfig` cannot be imported from here: it lives outside `src/` (the published
 * package ships only `dist/`, built from `src/`) and it also requires HTTP settings (AUTH_TOKENS, PORT)
 * that mean nothing to this tool. So the example app reads the Asterisk part here
 * (`readAsteriskEnvironment`), and adds its own variables.
 */
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseEnv } from 'node:util'
import Type, { type Static } from 'typebox'
import Value from 'typebox/value'
import { PROGRAM, UsageError } from './arguments.js'
import {
  resolveServers, serverListProblems, singleServerPool, TRANSFER_CONTEXT_PATTERN,
  type ResolvedServer, type ServerOption
} from '../server-options.js'

/** The pool, as a JSON array of `{ name, ami, ari, transferContext? }`; when set, it is the only source. */
export const SERVERS_VARIABLE = 'ASTERISK_SERVERS'

/** The single server's variables: what a pool of one needs without ASTERISK_SERVERS. */
const SingleServerEnv = Type.Object({
  AMI_HOST: Type.String({ minLength: 1 }),
  AMI_PORT: Type.String({ pattern: '^[0-9]{1,5}$', default: '5038' }),
  AMI_USERNAME: Type.String({ minLength: 1 }),
  AMI_PASSWORD: Type.String({ minLength: 1 }),
  ARI_URL: Type.String({ pattern: '^https?://\\S+$' }),
  ARI_USERNAME: Type.String({ minLength: 1 }),
  ARI_PASSWORD: Type.String({ minLength: 1 })
})
type SingleServerEnv = Static<typeof SingleServerEnv>

const TransferContextEnv = Type.Object({
  TRANSFER_CONTEXT: Type.String({ pattern: TRANSFER_CONTEXT_PATTERN, default: 'from-internal' })
})

/** Every variable read here, in the order problems are listed. */
export const ASTERISK_VARIABLES = [...Object.keys(SingleServerEnv.properties), SERVERS_VARIABLE, 'TRANSFER_CONTEXT']

/** What the environment says of the servers: the pool, or what is wrong with it. */
export interface AsteriskEnvironment {
  /** Each with its transfer context settled; empty when there are problems. */
  servers: ResolvedServer[]
  /** TRANSFER_CONTEXT: every server's, unless an entry of ASTERISK_SERVERS gives its own. */
  transferContext: string
  /** Required variables that are unset (or empty). */
  missing: string[]
  /** Every other problem, one line each, naming its variable (and the server's index and field). */
  invalid: string[]
  /** Read from ASTERISK_SERVERS: whether each entry gives its own transferContext (absent for AMI_* and ARI_*). */
  ownContexts?: boolean[]
}

export interface ConnectionSettings {
  /** The server's name in the pool (`default` for the single server of AMI_* and ARI_*). */
  name: string
  ami: { host: string, port: number, username: string, password: string }
  ari: { url: string, username: string, password: string }
  transferContext: string
  /** Technology of the agents' phones: the plugin's default, as the example app has no variable for it. */
  channelTechnology: string
  /** Its index in ASTERISK_SERVERS (absent for the single server of AMI_* and ARI_*): what hints name. */
  entry?: number
  /** Whether that entry gives its own transferContext. */
  ownContext?: boolean
}

/** A configuration problem: the tool cannot start. The message names every variable at fault. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

/**
 * The environment the tool runs with: the variables of the env file under those of the process, as
 * `node --env-file` and dotenv do (what is exported in the shell wins over what a file says).
 */
export function mergeEnvFile (processEnv: NodeJS.ProcessEnv, fileText: string | undefined): NodeJS.ProcessEnv {
  if (fileText === undefined) return processEnv
  return { ...parseEnv(fileText), ...processEnv }
}

/**
 * The process environment plus an env file: the one named by `--env-file` (which must exist), else
 * `.env` in the working directory when there is one, like the example app.
 */
export function loadEnvironment (processEnv: NodeJS.ProcessEnv, envFile: string | undefined, cwd: string): NodeJS.ProcessEnv {
  const path = resolve(cwd, envFile ?? '.env')
  if (envFile === undefined && !existsSync(path)) return processEnv
  try {
    return mergeEnvFile(processEnv, readFileSync(path, 'utf8'))
  } catch (error) {
    throw new ConfigError(`cannot read env file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
}

/** The variables that are set: an empty one counts as unset, so `AMI_PORT=` falls back to the default. */
function setVariables (environment: NodeJS.ProcessEnv, names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.flatMap((name) => {
    const value = environment[name]
    return value === undefined || value === '' ? [] : [[name, value]]
  }))
}

/** Schema problems: the required variables missing, and a line for each malformed one. */
function schemaProblems (schema: typeof SingleServerEnv | typeof TransferContextEnv, value: unknown): { missing: string[], invalid: string[] } {
  const missing: string[] = []
  const invalid: string[] = []
  for (const error of Value.Errors(schema, value)) {
    const name = error.instancePath.replace(/^\//, '')
    if (name === '') missing.push(...((error.params as { requiredProperties?: string[] }).requiredProperties ?? []))
    else invalid.push(`${name} ${error.message}`)
  }
  return { missing, invalid }
}

/**
 * JSON.parse's reason without the text it quotes (`Unexpected token 'x', "[{"ami…" is not valid JSON`):
 * the text holds passwords, and the message is printed.
 */
function jsonReason (error: unknown): string {
  return (error as Error).message.replace(/, ".*is not valid JSON$/s, '')
}

/** ARI's base URL as ari-client wants it: without a trailing slash (it appends `/ari/...`). */
function withoutTrailingSlash (server: ResolvedServer): ResolvedServer {
  return { ...server, ari: { ...server.ari, url: server.ari.url.replace(/\/+$/, '') } }
}

function poolFromJson (text: string, singles: readonly string[], transferContext: string): { servers: ResolvedServer[], invalid: string[], ownContexts?: boolean[] } {
  const invalid: string[] = []
  if (singles.length > 0) {
    invalid.push(`${SERVERS_VARIABLE} and ${singles.join(', ')} are both set: with ${SERVERS_VARIABLE} (the pool) the single server's AMI_* and ARI_* variables are not used; unset them, or put that server in ${SERVERS_VARIABLE}`)
  }
  let list: unknown
  try {
    list = JSON.parse(text)
  } catch (error) {
    return { servers: [], invalid: [...invalid, `${SERVERS_VARIABLE} is not valid JSON (${jsonReason(error)})`] }
  }
  invalid.push(...serverListProblems(list, SERVERS_VARIABLE).map(({ path, message }) => `${path} ${message}`))
  if (invalid.length > 0) return { servers: [], invalid }
  const entries = list as ServerOption[]
  return { servers: resolveServers(entries, transferContext), invalid, ownContexts: entries.map((entry) => entry.transferContext !== undefined) }
}

function singleServer (known: Record<string, string>, transferContext: string): { servers: ResolvedServer[], missing: string[], invalid: string[] } {
  const env = Value.Default(SingleServerEnv, setVariables(known, Object.keys(SingleServerEnv.properties))) as SingleServerEnv
  const { missing, invalid } = schemaProblems(SingleServerEnv, env)
  const port = Number(env.AMI_PORT)
  if (!invalid.some((line) => line.startsWith('AMI_PORT')) && (port < 1 || port > 65535)) invalid.push(`AMI_PORT must be a port number (1-65535), got "${env.AMI_PORT}"`)
  if (missing.length > 0 || invalid.length > 0) return { servers: [], missing, invalid }
  const ami = { host: env.AMI_HOST, port, username: env.AMI_USERNAME, password: env.AMI_PASSWORD }
  const ari = { url: env.ARI_URL, username: env.ARI_USERNAME, password: env.ARI_PASSWORD }
  return { servers: singleServerPool(ami, ari, transferContext), missing, invalid }
}

/**
 * The servers the environment describes: ASTERISK_SERVERS when it is set (then AMI_* and ARI_* must
 * not be), else the single server of AMI_* and ARI_*, a pool of one named `default`. Every problem is
 * collected, none thrown: the caller lists them with its own.
 */
export function readAsteriskEnvironment (environment: NodeJS.ProcessEnv): AsteriskEnvironment {
  const known = setVariables(environment, ASTERISK_VARIABLES)
  const context = Value.Default(TransferContextEnv, { TRANSFER_CONTEXT: known.TRANSFER_CONTEXT }) as Static<typeof TransferContextEnv>
  const contextProblems = schemaProblems(TransferContextEnv, context).invalid
  const transferContext = context.TRANSFER_CONTEXT
  const servers = known[SERVERS_VARIABLE]
  const read: { servers: ResolvedServer[], missing: string[], invalid: string[], ownContexts?: boolean[] } = servers === undefined
    ? singleServer(known, transferContext)
    : { missing: [], ...poolFromJson(servers, Object.keys(SingleServerEnv.properties).filter((name) => name in known), transferContext) }
  const invalid = [...read.invalid, ...contextProblems]
  const ok = invalid.length === 0 && read.missing.length === 0
  return {
    servers: ok ? read.servers.map(withoutTrailingSlash) : [],
    transferContext,
    missing: read.missing,
    invalid,
    ...(read.ownContexts !== undefined && ok ? { ownContexts: read.ownContexts } : {})
  }
}

/** The connection settings of every server of the pool, in order, or a ConfigError listing every problem. */
export function readPool (environment: NodeJS.ProcessEnv): ConnectionSettings[] {
  const { servers, missing, invalid, ownContexts } = readAsteriskEnvironment(environment)
  const problems = [...(missing.length > 0 ? [`missing ${missing.join(', ')}`] : []), ...invalid]
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`)
  // Read from ASTERISK_SERVERS, each server remembers its entry: hints name it, not AMI_* and ARI_*.
  return servers.map((server, entry) => ({
    ...server,
    channelTechnology: 'PJSIP',
    ...(ownContexts === undefined ? {} : { entry, ownContext: ownContexts[entry] === true })
  }))
}

function namesOf (pool: readonly ConnectionSettings[]): string {
  return pool.map((server) => server.name).join(', ')
}

/** The servers `check` looks at: the one --server names, else every server of the pool. */
export function serversToCheck (pool: readonly ConnectionSettings[], name: string | undefined): ConnectionSettings[] {
  if (name === undefined) return [...pool]
  const server = pool.find((candidate) => candidate.name === name)
  if (server === undefined) throw new UsageError(`--server ${name}: no such server (${namesOf(pool)})`, `the names are those of ${SERVERS_VARIABLE}; without it the one server is named default`)
  return [server]
}

/**
 * The server a transfer is asked on: the one --server names, or the only one. With several and no
 * --server the tool does not guess: each server knows only its own calls.
 */
export function serverForTransfer (pool: readonly ConnectionSettings[], name: string | undefined): ConnectionSettings {
  const [only, ...others] = pool
  if (name === undefined && only !== undefined && others.length === 0) return only
  if (name === undefined) {
    throw new UsageError(`${SERVERS_VARIABLE} names ${pool.length} servers (${namesOf(pool)}): --server <name> says which one --from's call is on`, `see ${PROGRAM} transfer --help`)
  }
  return serversToCheck(pool, name)[0] as ConnectionSettings
}
