/**
 * One HTTP request to the plugin's API: the bearer token, JSON both ways, one retry when no answer came
 * (with the same Idempotency-Key, so the server can tell the retry from a new request), and the
 * server's error shape turned into a TransferClientError.
 */
import { BAD_RESPONSE_CODE, NETWORK_ERROR_CODE, TransferClientError } from './errors.js'

export type FetchFunction = typeof globalThis.fetch

export interface HttpOptions {
  /** `baseUrl` + `prefix`, without a trailing slash. */
  apiUrl: string
  token: () => Promise<string>
  fetch: FetchFunction
  /** How long one attempt may take, answer body included. */
  timeoutMs: number
}

export interface RequestOptions {
  /** Sent as JSON. */
  body?: unknown
  /** Sent as `Idempotency-Key`, the same on the retry. */
  idempotencyKey?: string
}

export type Requester = <T>(method: 'GET' | 'POST', path: string, options?: RequestOptions) => Promise<T>

/** What came back: read in full, so a connection cut in the middle of the body counts as no answer. */
interface Answer {
  status: number
  ok: boolean
  text: string
}

export function createRequester ({ apiUrl, token, fetch, timeoutMs }: HttpOptions): Requester {
  /** One try, with its own deadline; throws when no complete answer came. */
  const attempt = async (url: string, init: RequestInit): Promise<Answer> => {
    const abort = new AbortController()
    const timer = setTimeout(() => { abort.abort(new Error(`no answer within ${timeoutMs} ms`)) }, timeoutMs)
    try {
      const response = await fetch(url, { ...init, signal: abort.signal })
      return { status: response.status, ok: response.ok, text: await response.text() }
    } finally {
      clearTimeout(timer)
    }
  }

  return async <T>(method: 'GET' | 'POST', path: string, { body, idempotencyKey }: RequestOptions = {}): Promise<T> => {
    const headers: Record<string, string> = { accept: 'application/json', authorization: `Bearer ${await token()}` }
    if (body !== undefined) headers['content-type'] = 'application/json'
    if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey
    const init: RequestInit = { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }
    let answer: Answer
    try {
      answer = await attempt(`${apiUrl}${path}`, init)
    } catch {
      try {
        answer = await attempt(`${apiUrl}${path}`, init)
      } catch (error) {
        throw new TransferClientError(`${method} ${path}: no answer from the server (${describe(error)})`, { code: NETWORK_ERROR_CODE, cause: error })
      }
    }
    return readAnswer<T>(method, path, answer)
  }
}

function readAnswer<T> (method: string, path: string, { status, ok, text }: Answer): T {
  const body = parseJson(text)
  if (ok && body !== undefined) return body as T
  if (!ok && isErrorShape(body)) throw serverError(body, status)
  throw new TransferClientError(`${method} ${path}: unexpected answer, HTTP ${status}`, { code: BAD_RESPONSE_CODE, statusCode: status })
}

interface ErrorShape {
  code: string
  message?: unknown
  transferId?: unknown
}

function isErrorShape (body: unknown): body is ErrorShape {
  return typeof body === 'object' && body !== null && typeof (body as { code?: unknown }).code === 'string'
}

function serverError ({ code, message, transferId }: ErrorShape, statusCode: number): TransferClientError {
  return new TransferClientError(typeof message === 'string' ? message : code, {
    code,
    statusCode,
    ...(typeof transferId === 'string' ? { transferId } : {})
  })
}

function parseJson (text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

function describe (error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  // fetch's own message is a bare "fetch failed"; the reason is in its cause.
  return error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message
}
