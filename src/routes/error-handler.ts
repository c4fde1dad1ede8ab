/**
 * One error shape for every route: `{ statusCode, code, error, message }`, with a stable `code`.
 * Scoped to the plugin's routes, so the host app's own error handling is untouched.
 */
import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'

export function transferErrorHandler (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const isValidation = error.validation !== undefined
  const statusCode = isValidation ? 400 : (error.statusCode ?? 500)
  const code = isValidation ? 'XFER_INVALID_INPUT' : (error.code ?? 'XFER_INTERNAL')
  if (statusCode >= 500) request.log.error({ err: error }, 'transfer request failed')
  else request.log.info({ code, reason: error.message }, 'transfer request refused')
  const message = statusCode >= 500 && error.code === undefined ? 'Internal error' : error.message
  const { transferId } = error as FastifyError & { transferId?: unknown }
  void reply.code(statusCode).send({
    statusCode,
    code,
    error: STATUS_CODES[statusCode] ?? 'Error',
    message,
    ...(typeof transferId === 'string' ? { transferId } : {})
  })
}
