/**
 * The agent console: a static page (`public/`) that uses the typed client, served as the compiled ES
 * modules of `dist/client` under `/client/`. The server only serves files; everything the page shows
 * comes from the plugin's routes and event feed, with the agent's own token.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyPluginAsync } from 'fastify'
import type { Authenticate, Identity } from '../src/index.js'

/** A login the console offers in a list: only for the bundled test bed, whose tokens are made up. */
export interface DemoLogin {
  token: string
  extension: string
  role: Identity['role']
}

export interface ConsoleOptions {
  /** The host's identity check: the page asks `/console/me` who its token is before it goes on. */
  authenticate: Authenticate
  /** The compiled client (`npm run build`). Default: the package's `dist/client`. */
  clientDir?: string
  /** Logins listed on the sign-in form; none unless the app runs on the bundled test bed. */
  demoLogins?: DemoLogin[]
}

export const publicDir = fileURLToPath(new URL('./public/', import.meta.url))
export const defaultClientDir = fileURLToPath(new URL('../dist/client/', import.meta.url))

export class ClientNotBuiltError extends Error {
  override name = 'ClientNotBuiltError'
  constructor (clientDir: string) {
    super(`The agent console needs the compiled client in ${clientDir}, which has no index.js: run \`npm run build\` (npm ci runs it).`)
  }
}

/**
 * The page may only talk to its own origin (fetch and the feed's WebSocket) and run its own files.
 * Only the console's responses get it: Swagger UI at /docs has its own needs.
 */
const CONTENT_SECURITY_POLICY = "default-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

export const agentConsole: FastifyPluginAsync<ConsoleOptions> = async (app, { authenticate, clientDir = defaultClientDir, demoLogins = [] }) => {
  if (!existsSync(`${clientDir}/index.js`)) throw new ClientNotBuiltError(clientDir)

  // wildcard: false serves the files present at start, one route each, and nothing else.
  await app.register(fastifyStatic, {
    root: publicDir,
    prefix: '/',
    wildcard: false,
    setHeaders: (reply) => { reply.header('content-security-policy', CONTENT_SECURITY_POLICY) }
  })
  await app.register(fastifyStatic, {
    root: clientDir,
    prefix: '/client/',
    wildcard: false,
    decorateReply: false,
    // The browser needs the modules, not their declarations or maps (which point at src/).
    globIgnore: ['**/*.d.ts', '**/*.map']
  })

  // The page's own questions, not the plugin's API: hidden from /docs.
  app.get('/console/demo-logins', { schema: { hide: true } }, async () => ({ logins: demoLogins }))
  app.get('/console/me', { schema: { hide: true } }, async (request, reply) => {
    const identity = await authenticate(request)
    if (identity === null || identity === undefined) return await reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: 'unknown token' })
    return { extension: identity.extension, role: identity.role }
  })
}
