// The example app without Asterisk (nothing listens where its config points: the plugin starts anyway
// and answers 503): its OpenAPI document at /docs/json, the agent console at / and the compiled client
// at /client/, and the console's own two routes.
import { execFile } from 'node:child_process'
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Ajv2020 } from 'ajv/dist/2020.js'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import Value from 'typebox/value'
import { buildApp, type BuildAppOptions } from '../../example-app/app.js'
import { ensureClientBuilt } from '../../example-app/client-build.js'
import { ClientNotBuiltError } from '../../example-app/console.js'
import { ExecuteTransferBody, Extension } from '../../src/routes/schemas.js'
import { agentToken, unreachableConfig } from './fixtures/config.js'

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string, version: string }

await ensureClientBuilt()

async function startApp (t: Test, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const app = await buildApp(unreachableConfig(), { logger: false, ...options })
  t.teardown(async () => { await app.close() })
  return app
}

interface Operation {
  operationId?: string
  summary?: string
  parameters?: Array<{ name: string, in: string, required?: boolean, schema: object }>
  requestBody?: { required?: boolean, content: Record<string, { schema: object }> }
  responses: Record<string, { description?: string, content?: Record<string, { schema: object }> }>
  security?: Array<Record<string, string[]>>
}

interface OpenApiDocument {
  openapi: string
  servers: Array<{ url: string }>
  info: { title: string, version: string }
  paths: Record<string, Record<string, Operation>>
  components: { securitySchemes: Record<string, { type: string, scheme?: string }> }
  security: Array<Record<string, string[]>>
}

async function openApiDocument (app: FastifyInstance): Promise<OpenApiDocument> {
  const response = await app.inject('/docs/json')
  if (response.statusCode !== 200) throw new Error(`/docs/json answered ${response.statusCode}: ${response.body}`)
  return response.json<OpenApiDocument>()
}

/** Every operation of the document, as `METHOD path`. */
function operationsOf (document: OpenApiDocument): Map<string, Operation> {
  const operations = new Map<string, Operation>()
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) operations.set(`${method.toUpperCase()} ${path}`, operation)
  }
  return operations
}

/** Every schema of an operation: parameters, request body, responses. */
function schemasOf (operation: Operation): object[] {
  return [
    ...(operation.parameters ?? []).map((parameter) => parameter.schema),
    ...Object.values(operation.requestBody?.content ?? {}).map((media) => media.schema),
    ...Object.values(operation.responses).flatMap((response) => Object.values(response.content ?? {}).map((media) => media.schema))
  ]
}

t.test('/docs/json is an OpenAPI 3 document of the plugin\'s routes, with bearer auth', async (t) => {
  const document = await openApiDocument(await startApp(t))
  t.match(document.openapi, /^3\.\d+\.\d+$/)
  t.match(document, { servers: [{ url: '/' }], info: { license: { identifier: 'MIT' } } }, 'where it is served, and under which licence')
  t.same(document.info, { ...document.info, title: pkg.name, version: pkg.version }, 'title and version from package.json')
  t.match(document.components.securitySchemes.bearerAuth, { type: 'http', scheme: 'bearer' })
  t.same(document.security, [{ bearerAuth: [] }], 'every route needs the token by default')

  const operations = operationsOf(document)
  t.same([...operations.keys()].sort(), [
    'GET /api/calls',
    'GET /api/transfers',
    'GET /api/transfers/available-agents',
    'GET /api/transfers/{id}',
    'GET /health',
    'POST /api/transfers/execute',
    'POST /api/transfers/{id}/cancel',
    'POST /api/transfers/{id}/complete',
    'POST /api/transfers/{id}/swap',
    'POST /api/transfers/{id}/three-way'
  ], 'the plugin\'s HTTP routes and /health; not the console\'s files or its own routes, not the docs')
  t.match(document.info, { description: /WebSocket at `GET \/api\/events`/ }, 'the feed, which @fastify/websocket hides, is named in the description')
  t.same(operations.get('GET /health')?.security, [], '/health is public')

  // OpenAPI's own rules (its JSON schema is not vendored here): every response has a description, and
  // every schema is JSON Schema 2020-12 (the dialect of OpenAPI 3.1) that Ajv compiles in strict mode.
  const ajv = new Ajv2020({ strict: true, allErrors: true })
  for (const [name, operation] of operations) {
    t.ok(Object.keys(operation.responses).length > 0, `${name} has responses`)
    for (const [status, response] of Object.entries(operation.responses)) {
      t.type(response.description, 'string', `${name} ${status} has a description`)
    }
    for (const schema of schemasOf(operation)) t.doesNotThrow(() => ajv.compile(schema), `${name}: a valid schema`)
  }
  t.match(operations.get('GET /api/transfers/{id}')?.parameters, [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }])
})

t.test('every operation has a stable operationId, for client generators', async (t) => {
  const operations = operationsOf(await openApiDocument(await startApp(t)))
  t.same(Object.fromEntries([...operations].map(([name, operation]) => [name, operation.operationId])), {
    'GET /api/calls': 'listCalls',
    'GET /api/transfers': 'listTransfers',
    'GET /api/transfers/available-agents': 'listAvailableAgents',
    'GET /api/transfers/{id}': 'getTransfer',
    'GET /health': 'getHealth',
    'POST /api/transfers/execute': 'executeTransfer',
    'POST /api/transfers/{id}/cancel': 'cancelTransfer',
    'POST /api/transfers/{id}/complete': 'completeTransfer',
    'POST /api/transfers/{id}/swap': 'swapTransfer',
    'POST /api/transfers/{id}/three-way': 'threeWayTransfer'
  })
})

const redocly = join(createRequire(import.meta.url).resolve('@redocly/cli/package.json'), '..', 'bin', 'cli.js')

interface LintReport {
  totals: { errors: number, warnings: number, ignored: number }
  problems: Array<{ ruleId: string, severity: string, message: string, location: Array<{ pointer: string }> }>
}

t.test('Redocly\'s recommended rules find no error and no warning in /docs/json', async (t) => {
  const document = await openApiDocument(await startApp(t))
  const dir = await mkdtemp(join(tmpdir(), 'openapi-lint-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  await writeFile(join(dir, 'openapi.json'), JSON.stringify(document, null, 2))
  await copyFile(new URL('../../example-app/openapi.lint-ignore.yaml', import.meta.url), join(dir, '.redocly.lint-ignore.yaml'))
  // Offline: no telemetry, no update check. A failed lint exits 1 with its report on stdout all the same.
  const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', REDOCLY_CLI_TELEMETRY: 'off' }
  const run = promisify(execFile)(process.execPath, [redocly, 'lint', 'openapi.json', '--extends', 'recommended', '--format', 'json'], { cwd: dir, env })
  const { stdout } = await run.catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }))
  const report = JSON.parse(stdout) as LintReport
  const problems = report.problems.map(({ ruleId, severity, message, location }) => `${severity} ${ruleId} at ${location[0]?.pointer ?? '?'}: ${message}`)
  t.same(problems, [], 'no problem')
  t.same(report.totals, { errors: 0, warnings: 0, ignored: 1 }, 'only the exception the ignore file explains (/health has no 4xx)')
})

t.test('the execute body in /docs/json is the TypeBox schema: same shape, same verdicts', async (t) => {
  const document = await openApiDocument(await startApp(t))
  const execute = document.paths['/api/transfers/execute']?.post
  t.equal(execute?.summary, 'Transfer the call of an extension (blind: Redirect; attended: Atxfer)')
  t.equal(execute?.requestBody?.required, true)
  const schema = execute?.requestBody?.content['application/json']?.schema as Record<string, unknown>
  t.match(schema, {
    type: 'object',
    required: ['targetExtension', 'transferType'],
    additionalProperties: false,
    properties: {
      extension: Extension,
      targetExtension: Extension,
      transferType: { anyOf: [{ type: 'string' }, { type: 'string' }] }
    }
  })
  t.match(execute?.responses['200']?.content?.['application/json']?.schema, { type: 'object', required: ['id', 'type', 'status'] })
  t.match(execute?.responses['4XX']?.content?.['application/json']?.schema, { required: ['statusCode', 'code', 'error', 'message'] })

  const check = new Ajv2020({ strict: true }).compile(schema)
  const bodies = [
    { targetExtension: '102', transferType: 'blind' },
    { extension: '101', targetExtension: 'sales', transferType: 'attended' },
    { targetExtension: '102', transferType: 'warm' },
    { targetExtension: '10\r\n2', transferType: 'blind' },
    { targetExtension: '', transferType: 'blind' },
    { transferType: 'blind' },
    { targetExtension: '102', transferType: 'blind', channel: 'PJSIP/101-00000001' }
  ]
  for (const body of bodies) t.equal(check(body), Value.Check(ExecuteTransferBody, body), `same verdict for ${JSON.stringify(body)}`)
  t.same(bodies.map((body) => check(body)), [true, true, false, false, false, false, false])
})

t.test('Swagger UI is at /docs', async (t) => {
  const app = await startApp(t)
  const page = await app.inject('/docs/')
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /^text\/html/)
  t.match(page.body, /swagger/i)
})

t.test('/ serves the agent console: HTML, its script and style, under a strict content security policy', async (t) => {
  const app = await startApp(t)
  const page = await app.inject('/')
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /^text\/html/)
  t.match(page.headers['content-security-policy'], /default-src 'self'/)
  t.match(page.body, /<title>Agent console/)
  t.match(page.body, /<script type="module" src="\/console\.js"><\/script>/)
  t.match(page.body, /<ol id="event-log"[^>]* aria-live="polite"/)

  const script = await app.inject('/console.js')
  t.equal(script.statusCode, 200)
  t.match(script.headers['content-type'], /^(application|text)\/javascript/)
  t.match(script.body, /import \{ createTransferClient, TransferClientError \} from '\.\/client\/index\.js'/, 'the page uses the typed client')
  const style = await app.inject('/console.css')
  t.equal(style.statusCode, 200)
  t.match(style.headers['content-type'], /^text\/css/)
})

t.test('/client/ serves the compiled client as JavaScript modules, and nothing else of dist/', async (t) => {
  const app = await startApp(t)
  const index = await app.inject('/client/index.js')
  t.equal(index.statusCode, 200)
  t.match(index.headers['content-type'], /^(application|text)\/javascript/)
  t.match(index.body, /export \{ createTransferClient \} from '\.\/transfer-client\.js'/)

  // Every module the entry reaches is served too: the browser loads them by their relative URLs.
  const seen = new Set<string>()
  const pending = ['index.js']
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file)) continue
    seen.add(file)
    const response = await app.inject(`/client/${file}`)
    t.equal(response.statusCode, 200, `/client/${file} is served`)
    for (const [, imported] of response.body.matchAll(/from '\.\/([\w-]+\.js)'/g)) if (imported !== undefined) pending.push(imported)
  }
  t.ok(seen.has('transfer-client.js') && seen.has('feed.js') && seen.has('http.js'))

  for (const path of ['/client/index.d.ts', '/client/index.js.map', '/index.js', '/client/../index.js', '/plugin.js']) {
    t.equal((await app.inject(path)).statusCode, 404, `${path} is not served`)
  }
})

t.test('the console asks who its token is, and lists demo logins only when given some', async (t) => {
  const app = await startApp(t)
  t.equal((await app.inject('/console/me')).statusCode, 401)
  t.equal((await app.inject({ url: '/console/me', headers: { authorization: 'Bearer not-a-token' } })).statusCode, 401)
  const me = await app.inject({ url: '/console/me', headers: { authorization: `Bearer ${agentToken('101')}` } })
  t.same(me.json(), { extension: '101', role: 'agent' })
  t.same((await app.inject('/console/demo-logins')).json(), { logins: [] }, 'no token is listed unless the demo says so')

  const demo = await startApp(t, { console: { demoLogins: [{ token: agentToken('102'), extension: '102', role: 'agent' }] } })
  t.same((await demo.inject('/console/demo-logins')).json(), { logins: [{ token: agentToken('102'), extension: '102', role: 'agent' }] })
})

t.test('the plugin is up without Asterisk: its routes answer 503', async (t) => {
  const app = await startApp(t)
  const response = await app.inject({
    method: 'POST',
    url: '/api/transfers/execute',
    headers: { authorization: `Bearer ${agentToken('101')}` },
    payload: { targetExtension: '102', transferType: 'blind' }
  })
  t.equal(response.statusCode, 503)
  t.equal(response.json().code, 'XFER_ASTERISK_UNAVAILABLE')
})

t.test('without the compiled client the app does not start, and says how to build it', async (t) => {
  const starting = buildApp(unreachableConfig(), { logger: false, console: { clientDir: '/nonexistent/dist/client' } })
  await t.rejects(starting, ClientNotBuiltError)
  await t.rejects(starting, { message: /\/nonexistent\/dist\/client.*npm run build/ })
})
