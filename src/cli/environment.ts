/**
 * Where the command-line tool finds Asterisk: the same variables as the example app (AMI_*, ARI_*,
 * TRANSFER_CONTEXT), from the environment and a `.env` file. Pure: the caller passes the environment
 * and the file's text, so every rule here is unit-tested without touching process.env.
 *
 * The example app's `readConfig` cannot be imported from here: it lives outside `src/` (the published
 * package ships only `dist/`, built from `src/`) and it also requires HTTP settings (AUTH_TOKENS, PORT)
 * that mean nothing to this tool. So the connection part is kept here, with the same names, patterns
 * and defaults, checked by the same kind of TypeBox schema.
 */
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseEnv } from 'node:util'
import Type, { type Static } from 'typebox'
import Value from 'typebox/value'

export const ConnectionEnv = Type.Object({
  AMI_HOST: Type.String({ minLength: 1 }),
  AMI_PORT: Type.String({ pattern: '^[0-9]{1,5}$', default: '5038' }),
  AMI_USERNAME: Type.String({ minLength: 1 }),
  AMI_PASSWORD: Type.String({ minLength: 1 }),
  ARI_URL: Type.String({ pattern: '^https?://\\S+$' }),
  ARI_USERNAME: Type.String({ minLength: 1 }),
  ARI_PASSWORD: Type.String({ minLength: 1 }),
  TRANSFER_CONTEXT: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,79}$', default: 'from-internal' })
})

type Env = Static<typeof ConnectionEnv>

export interface ConnectionSettings {
  ami: { host: string, port: number, username: string, password: string }
  ari: { url: string, username: string, password: string }
  transferContext: string
  /** Technology of the agents' phones: the plugin's default, as the example app has no variable for it. */
  channelTechnology: string
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

/** The connection settings, or a ConfigError listing every missing or malformed variable. */
export function readConnectionSettings (environment: NodeJS.ProcessEnv): ConnectionSettings {
  // An empty variable counts as unset, so `AMI_PORT=` falls back to the default like the example app.
  const known = Object.fromEntries(Object.keys(ConnectionEnv.properties).flatMap((key) =>
    environment[key] === undefined || environment[key] === '' ? [] : [[key, environment[key]]]))
  const env = Value.Default(ConnectionEnv, known) as Env
  const problems = [...Value.Errors(ConnectionEnv, env)].map((error) => {
    const name = error.instancePath.replace(/^\//, '')
    const missing = (error.params as { requiredProperties?: string[] }).requiredProperties ?? []
    return name === '' ? `missing ${missing.join(', ')}` : `${name} ${error.message}`
  })
  const port = Number(env.AMI_PORT)
  if (problems.length === 0 && (port < 1 || port > 65535)) problems.push(`AMI_PORT must be a port number (1-65535), got "${env.AMI_PORT}"`)
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`)
  return {
    ami: { host: env.AMI_HOST, port, username: env.AMI_USERNAME, password: env.AMI_PASSWORD },
    ari: { url: env.ARI_URL.replace(/\/+$/, ''), username: env.ARI_USERNAME, password: env.ARI_PASSWORD },
    transferContext: env.TRANSFER_CONTEXT,
    channelTechnology: 'PJSIP'
  }
}
