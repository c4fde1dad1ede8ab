// Hostile requests for every route of the plugin, with the answer each must get: wrong types, missing
// fields, huge and odd strings, CR/LF and `Action:` injection, `/regex/` channels, prototype keys, bad
// ids, bad `since`, bad tokens. Shared by the unit test (fake PBX) and the real-PBX test, so both run
// the same corpus. Identities are the transfer host's tokens: `token-<extension>`, `token-super`.
import type { FastifyRequest, InjectOptions, LightMyRequestResponse } from 'fastify'
import type { Identity } from '../../src/identity.js'

export interface HostileRequest {
  name: string
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH'
  /** Under the plugin's prefix, e.g. `/transfers/execute`. */
  path: string
  /** `undefined`: agent 101's bearer token. */
  authorization?: string | null
  headers?: Record<string, string>
  /** An object is sent as JSON; a string as it is, with the content type in `headers` or JSON's. */
  payload?: unknown
  statusCode: number
  code: string
}

/** For the fake-PBX tests, the transfer host's tokens: `token-<extension>` is that agent, `token-super` a supervisor. */
export async function tokenIdentity (request: FastifyRequest): Promise<Identity | null> {
  const header = request.headers.authorization
  const token = header === undefined ? (request.query as { token?: unknown }).token : /^Bearer (.*)$/.exec(header)?.[1]
  if (typeof token !== 'string') return null
  if (token === 'token-super') return { extension: '100', role: 'supervisor' }
  const extension = /^token-(10[1-7])$/.exec(token)?.[1]
  return extension === undefined ? null : { extension, role: 'agent' }
}

/** The bearer token of agent 101, who is on a call in the tests that use this corpus. */
export const AGENT_101 = 'Bearer token-101'

const execute = (name: string, payload: unknown, statusCode = 400, code = 'XFER_INVALID_INPUT'): HostileRequest =>
  ({ name: `execute: ${name}`, method: 'POST', path: '/transfers/execute', payload, statusCode, code })
const blind = (targetExtension: unknown, more: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ targetExtension, transferType: 'blind', ...more })

const INJECTIONS = [
  '103\r\nAction: Hangup\r\nChannel: /.*/',
  '103\nAction: Hangup',
  '103\r\n\r\nAction: Originate\r\nChannel: Local/999@from-internal',
  '103\rAction: Redirect',
  '103\u0000',
  '\u0000',
  '103\u0085Action: Hangup'
]
const REGEXES = ['/.*/', '/PJSIP\\/.*/', '/^PJSIP/', '/']
const ODD_STRINGS = [
  '',
  ' ',
  '10 3',
  '103\t',
  '\u0007103',
  '１０３', // fullwidth digits
  '103\u200b', // zero-width space
  '\u202e301', // right-to-left override
  '103😀',
  'ö',
  '\ud800', // a lone surrogate
  '103@from-internal',
  '103,1',
  '${EXTEN}',
  '$(SHELL(id))',
  '103;1',
  '../103',
  '%0d%0aAction: Hangup',
  'x'.repeat(33),
  'x'.repeat(100_000)
]
const WRONG_TYPES: unknown[] = [103, 0, -1, 1e308, true, null, [], ['103'], {}, { $ne: '' }, { toString: '103' }]

function executeCorpus (): HostileRequest[] {
  return [
    execute('empty object', {}),
    execute('no targetExtension', { transferType: 'blind' }),
    execute('no transferType', { targetExtension: '103' }),
    execute('transferType in capitals', blind('103', { transferType: 'Blind' })),
    execute('transferType __proto__', blind('103', { transferType: '__proto__' })),
    execute('transferType toString', blind('103', { transferType: 'toString' })),
    execute('transferType warm', blind('103', { transferType: 'warm' })),
    ...WRONG_TYPES.map((value) => execute(`targetExtension ${JSON.stringify(value)}`, blind(value))),
    ...WRONG_TYPES.map((value) => execute(`extension ${JSON.stringify(value)}`, blind('103', { extension: value }))),
    ...WRONG_TYPES.map((value) => execute(`transferType ${JSON.stringify(value)}`, { targetExtension: '103', transferType: value })),
    ...[...INJECTIONS, ...REGEXES, ...ODD_STRINGS].flatMap((text) => [
      execute(`targetExtension ${JSON.stringify(text.slice(0, 40))}`, blind(text)),
      execute(`extension ${JSON.stringify(text.slice(0, 40))}`, blind('103', { extension: text })),
      execute(`attended to ${JSON.stringify(text.slice(0, 40))}`, { targetExtension: text, transferType: 'attended' })
    ]),
    execute('an extra channel field', blind('103', { channel: 'PJSIP/102-00000001' })),
    execute('an extra context field', blind('103', { context: 'default' })),
    execute('an extra Action field', blind('103', { Action: 'Hangup' })),
    execute('a constructor key', blind('103', { constructor: { name: 'x' } })),
    execute('a __proto__ key (raw JSON)', '{"__proto__":{"isAdmin":true},"targetExtension":"103","transferType":"blind"}'),
    execute('a constructor.prototype key (raw JSON)', '{"constructor":{"prototype":{"x":1}},"targetExtension":"103","transferType":"blind"}'),
    execute('a nested __proto__ (raw JSON)', '{"targetExtension":{"__proto__":{"length":3}},"transferType":"blind"}'),
    execute('a duplicate key, the last one injecting', '{"targetExtension":"103","transferType":"blind","targetExtension":"103\\r\\nAction: Hangup"}'),
    execute('JSON nested 5000 deep', `{"targetExtension":${'['.repeat(5000)}${']'.repeat(5000)},"transferType":"blind"}`),
    execute('invalid JSON', '{"targetExtension":"103",'),
    execute('JSON null', 'null'),
    execute('a JSON array', '[{"targetExtension":"103","transferType":"blind"}]'),
    execute('a JSON string', '"103"'),
    execute('a JSON number', '103'),
    execute('an empty body', ''),
    execute('invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])),
    execute('a body over the server\'s limit', `{"targetExtension":"${'1'.repeat(1_100_000)}","transferType":"blind"}`, 413, 'XFER_PAYLOAD_TOO_LARGE'),
    { ...execute('a form body', 'targetExtension=103&transferType=blind', 415, 'XFER_UNSUPPORTED_MEDIA_TYPE'), headers: { 'content-type': 'application/x-www-form-urlencoded' } },
    // Fastify parses text/plain as a string, which is no object.
    { ...execute('a text body', '{"targetExtension":"103","transferType":"blind"}'), headers: { 'content-type': 'text/plain' } },
    { ...execute('JSON as UTF-16', Buffer.from('{"targetExtension":"103","transferType":"blind"}', 'utf16le')), headers: { 'content-type': 'application/json; charset=utf-16' } },
    { ...execute('a multipart body', '--x\r\n\r\n103\r\n--x--', 415, 'XFER_UNSUPPORTED_MEDIA_TYPE'), headers: { 'content-type': 'multipart/form-data; boundary=x' } },
    { ...execute('an Idempotency-Key of 256 characters', blind('103')), headers: { 'idempotency-key': 'k'.repeat(256) } },
    { ...execute('an Idempotency-Key with a non-ASCII character', blind('103')), headers: { 'idempotency-key': 'clé' } },
    { ...execute('an Idempotency-Key with a tab', blind('103')), headers: { 'idempotency-key': 'a\tb' } },
    // Valid in shape, refused by the rules: nothing may reach Asterisk either.
    execute('another agent\'s call', blind('103', { extension: '102' }), 403, 'XFER_FORBIDDEN'),
    execute('a target that is no agent', blind('999'), 422, 'XFER_UNKNOWN_TARGET'),
    execute('to the caller itself', blind('101'), 422, 'XFER_TARGET_IS_SOURCE')
  ]
}

const BAD_IDS = [
  'not-an-id',
  '1234',
  'ABCDEF00-0000-0000-0000-000000000000',
  '00000000-0000-0000-0000-0000000000000',
  '00000000-0000-0000-0000-00000000000g',
  '__proto__',
  'constructor',
  '%00',
  '%0d%0aAction:%20Hangup',
  '..%2F..%2Fetc%2Fpasswd',
  '%2F.*%2F',
  '%EF%BC%90' + '0'.repeat(35), // a fullwidth zero first
  encodeURIComponent('😀'.repeat(9))
]
const UNKNOWN_ID = '00000000-0000-0000-0000-000000000000'

function idCorpus (): HostileRequest[] {
  const routes: Array<[HostileRequest['method'], (id: string) => string]> = [
    ['GET', (id) => `/transfers/${id}`],
    ['POST', (id) => `/transfers/${id}/complete`],
    ['POST', (id) => `/transfers/${id}/cancel`],
    ['POST', (id) => `/transfers/${id}/swap`],
    ['POST', (id) => `/transfers/${id}/three-way`]
  ]
  return routes.flatMap(([method, path]) => [
    ...BAD_IDS.map((id): HostileRequest => ({ name: `${method} ${path(':id')}: id ${id.slice(0, 30)}`, method, path: path(id), statusCode: 400, code: 'XFER_INVALID_INPUT' })),
    { name: `${method} ${path(':id')}: an unknown id`, method, path: path(UNKNOWN_ID), statusCode: 404, code: 'XFER_TRANSFER_NOT_FOUND' },
    // Over the router's maxParamLength (100) the path matches no route but the plugin's catch-all.
    { name: `${method} ${path(':id')}: an id of 200 characters`, method, path: path('a'.repeat(200)), statusCode: 404, code: 'XFER_ROUTE_NOT_FOUND' },
    // Decided by Fastify's router before any route runs: its own code, in the same shape.
    { name: `${method} ${path(':id')}: broken percent-encoding`, method, path: path('%E0%A4%A'), statusCode: 400, code: 'FST_ERR_BAD_URL' }
  ])
}

const BAD_TOKENS: Array<string | null> = [
  null,
  '',
  'Bearer',
  'Bearer ',
  'Bearer token-999',
  'Bearer TOKEN-101',
  'Bearer token-101 extra',
  'bearer  token-101x',
  'Basic dHJhbnNmZXI6dHJhbnNmZXItc2VjcmV0',
  `Bearer ${'a'.repeat(8000)}`,
  'Bearer token-101\u00a0',
  'Bearer __proto__',
  'Bearer constructor',
  'Bearer toString'
]

/** Every route, including the feed's (as plain HTTP), with each bad token: 401 before anything else. */
function tokenCorpus (): HostileRequest[] {
  const routes: Array<[HostileRequest['method'], string, unknown]> = [
    ['POST', '/transfers/execute', blind('103')],
    ['POST', `/transfers/${UNKNOWN_ID}/complete`, undefined],
    ['POST', `/transfers/${UNKNOWN_ID}/cancel`, undefined],
    ['POST', `/transfers/${UNKNOWN_ID}/swap`, undefined],
    ['POST', `/transfers/${UNKNOWN_ID}/three-way`, undefined],
    ['GET', '/transfers', undefined],
    ['GET', `/transfers/${UNKNOWN_ID}`, undefined],
    ['GET', '/transfers/available-agents', undefined],
    ['GET', '/calls', undefined],
    ['GET', '/events', undefined],
    ['GET', '/events?token=token-999', undefined]
  ]
  return routes.flatMap(([method, path, payload]) => BAD_TOKENS.map((token): HostileRequest => ({
    name: `${method} ${path}: token ${JSON.stringify(token)?.slice(0, 30) ?? 'none'}`,
    method,
    path,
    authorization: token,
    payload,
    statusCode: 401,
    code: 'XFER_UNAUTHENTICATED'
  })))
}

function queryCorpus (): HostileRequest[] {
  const agents = (query: string): HostileRequest =>
    ({ name: `available-agents ?${query.slice(0, 30)}`, method: 'GET', path: `/transfers/available-agents?${query}`, statusCode: 400, code: 'XFER_INVALID_INPUT' })
  const events = (query: string, statusCode = 400, code = 'XFER_INVALID_INPUT'): HostileRequest =>
    ({ name: `events ?${query.slice(0, 30)}`, method: 'GET', path: `/events?${query}`, statusCode, code })
  return [
    ...['all=yes', 'all=TRUE', 'all=1', 'all=', 'all=true&all=false', 'all=%00', 'all=true%0d%0aAction:%20Hangup'].map(agents),
    ...['since=abc', 'since=-1', 'since=1.5', 'since=1e3', 'since=', 'since=0x10', 'since=1234567890123456', 'since=1&since=2',
      'since=%00', 'since=1%0d%0a', `since=${'9'.repeat(5000)}`, 'since=__proto__', 'since=%EF%BC%91'].map((query) => events(query)),
    // A valid query that is no WebSocket upgrade: the feed says what it wants.
    events('since=1', 426, 'XFER_UPGRADE_REQUIRED'),
    { name: 'events without upgrade', method: 'GET', path: '/events', statusCode: 426, code: 'XFER_UPGRADE_REQUIRED' }
  ]
}

function routeCorpus (): HostileRequest[] {
  const missing = (method: HostileRequest['method'], path: string): HostileRequest =>
    ({ name: `${method} ${path.slice(0, 40)}`, method, path, statusCode: 404, code: 'XFER_ROUTE_NOT_FOUND' })
  return [
    missing('DELETE', `/transfers/${UNKNOWN_ID}`),
    missing('PUT', '/transfers/execute'),
    missing('PATCH', '/calls'),
    missing('POST', '/calls'),
    missing('POST', '/events'),
    missing('GET', '/transfers/execute/now'),
    missing('GET', '/admin'),
    missing('GET', `/${'x'.repeat(4000)}`),
    missing('GET', '/__proto__'),
    missing('GET', '/constructor/prototype')
  ]
}

/** The whole corpus: about 370 requests. */
export function hostileCorpus (): HostileRequest[] {
  return [...executeCorpus(), ...idCorpus(), ...tokenCorpus(), ...queryCorpus(), ...routeCorpus()]
}

/** The request as `inject` takes it, under `prefix`. */
export function injectOptions (request: HostileRequest, prefix = '/api'): InjectOptions {
  const authorization = request.authorization === undefined ? AGENT_101 : request.authorization
  const raw = typeof request.payload === 'string' || Buffer.isBuffer(request.payload)
  const headers: Record<string, string> = {
    ...(authorization === null ? {} : { authorization }),
    ...(raw ? { 'content-type': 'application/json' } : {}),
    ...request.headers
  }
  return {
    method: request.method,
    url: `${prefix}${request.path}`,
    headers,
    ...(request.payload === undefined ? {} : { payload: request.payload as string })
  }
}

/** What is wrong with the answer, or undefined when it is the expected refusal in the plugin's shape. */
export function refusalProblem (request: HostileRequest, response: LightMyRequestResponse): string | undefined {
  let body: Record<string, unknown>
  try {
    body = response.json()
  } catch {
    return `${response.statusCode} with a body that is not JSON: ${response.body.slice(0, 80)}`
  }
  const keys = Object.keys(body).sort().join(',')
  if (keys !== 'code,error,message,statusCode') return `body keys ${keys}`
  if (response.statusCode !== request.statusCode || body.code !== request.code || body.statusCode !== response.statusCode) {
    return `answered ${response.statusCode} ${String(body.code)} (${String(body.message).slice(0, 80)}), expected ${request.statusCode} ${request.code}`
  }
  if (typeof body.message !== 'string' || typeof body.error !== 'string') return 'message and error must be strings'
  return undefined
}
