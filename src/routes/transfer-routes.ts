/**
 * `POST /transfers/execute` and `GET /transfers/available-agents`. Thin: validate (by schema), resolve
 * who asks, call the service, shape the answer.
 */
import { TypeBoxValidatorCompiler, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { AgentService } from '../agents/agent-service.js'
import type { Authenticate } from '../identity.js'
import type { TransferService } from '../transfers/transfer-service.js'
import { identityOf, requireIdentity } from './authentication.js'
import { transferErrorHandler } from './error-handler.js'
import { AvailableAgentsResponse, ExecuteTransferBody, Transfer, errorResponses } from './schemas.js'

export interface TransferRoutesOptions {
  transfers: TransferService
  agents: AgentService
  authenticate: Authenticate
}

export const transferRoutes: FastifyPluginAsyncTypebox<TransferRoutesOptions> = async (fastify, { transfers, agents, authenticate }) => {
  fastify.setErrorHandler(transferErrorHandler)
  // TypeBox's own checker, not the host's Ajv: bodies are validated strictly (no coercion, no silently
  // dropped properties) whatever options the host app gave Ajv.
  fastify.setValidatorCompiler(TypeBoxValidatorCompiler)
  requireIdentity(fastify, authenticate)

  fastify.post('/transfers/execute', {
    schema: {
      summary: 'Transfer the call of an extension (blind: Redirect; attended: Atxfer)',
      body: ExecuteTransferBody,
      response: { 200: Transfer, ...errorResponses }
    }
  }, async (request) => {
    const identity = identityOf(request)
    const { extension = identity.extension, targetExtension, transferType } = request.body
    const transfer = await transfers.execute({ extension, targetExtension, transferType, requestedBy: identity.extension })
    request.log.info({ transferId: transfer.id, extension, targetExtension, transferType, status: transfer.status }, 'transfer executed')
    return transfer
  })

  fastify.get('/transfers/available-agents', {
    schema: {
      summary: 'Agents that can receive a transfer now (registered, not on a call), minus the caller',
      response: { 200: AvailableAgentsResponse, ...errorResponses }
    }
  }, async (request) => {
    return { agents: await agents.available(identityOf(request).extension) }
  })
}
