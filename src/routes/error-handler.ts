/**
 * One error shape for every route: `{ statusCode, code, error, message }`, with a stable `code`.
 * Scoped to the plugin's routes, so the host app's own error handling is untouched.
 */
import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'

interface Answer { statusCode: number, code: string | undefined, message: string }

/**
 * Fastify's own refusals of a body it could not parse, under the plugin's codes: clients switch on
 * `XFER_*` only, whatever Fastify version parsed the body. Fastify's messages are kept.
 */
const PARSE_ERRORS: Readonly<Record<string, { statusCode: number, code: string }>> = {
  // Also a body with a `__proto__` or `constructor.prototype` key, which the JSON parser refuses.
  FST_ERR_CTP_INVALID_JSON_BODY: { statusCode: 400, code: 'XFER_INVALID_INPUT' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { statusCode: 400, code: 'XFER_INVALID_INPUT' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { statusCode: 400, code: 'XFER_INVALID_INPUT' },
  FST_ERR_CTP_BODY_TOO_LARGE: { statusCode: 413, code: 'XFER_PAYLOAD_TOO_LARGE' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { statusCode: 415, code: 'XFER_UNSUPPORTED_MEDIA_TYPE' },
  FST_ERR_CTP_INVALID_TYPE: { statusCode: 415, code: 'XFER_UNSUPPORTED_MEDIA_TYPE' }
}

function answerFor (error: FastifyError): Answer {
  if (error.validation !== undefined) return { statusCode: 400, code: 'XFER_INVALID_INPUT', message: error.message }
  const parse = error.code === undefined ? undefined : PARSE_ERRORS[error.code]
  if (parse !== undefined) return { ...parse, message: error.message }
  const statusCode = error.statusCode ?? 500
  // A 4xx without a code (a host hook, a library): still the client's mistake, never "internal".
  const code = error.code ?? (statusCode >= 400 && statusCode < 500 ? 'XFER_INVALID_INPUT' : undefined)
  return { statusCode, code, message: error.message }
}

export function transferErrorHandler (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const answer = answerFor(error)
  const { statusCode } = answer
  const code = answer.code ?? 'XFER_INTERNAL'
  if (statusCode >= 500) request.log.error({ err: error }, 'transfer request failed')
  else request.log.info({ code, reason: answer.message }, 'transfer request refused')
  const message = statusCode >= 500 && answer.code === undefined ? 'Internal error' : answer.message
  const { transferId } = error as FastifyError & { transferId?: unknown }
  void reply.code(statusCode).send({
    statusCode,
    code,
    error: STATUS_CODES[statusCode] ?? 'Error',
    message,
    ...(typeof transferId === 'string' ? { transferId } : {})
  })
}
