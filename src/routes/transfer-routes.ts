/**
 * The transfer routes. Thin: validate (by schema), resolve who asks, call the service, shape the answer.
 */
import { TypeBoxValidatorCompiler, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { AgentService } from '../agents/agent-service.js'
import { TransferNotFoundError } from '../errors.js'
import type { Identity } from '../identity.js'
import { canSeeTransfer } from '../transfers/transfer-visibility.js'
import type { TransferService } from '../transfers/transfer-service.js'
import { identityOf } from '../authentication.js'
import { AvailableAgentsQuery, AvailableAgentsResponse, ExecuteTransferBody, Transfer as TransferSchema, TransferId, TransferList, errorResponses } from './schemas.js'
import type { DestinationMap } from '../domain/destination.js'
import type { Transfer } from '../domain/transfer.js'

export interface TransferRoutesOptions {
  transfers: TransferService
  agents: Pick<AgentService, 'all' | 'available'>
  /** Named destinations listed next to the agents (name, kind, label). */
  destinations?: DestinationMap
}

/**
 * The routes that act on calls: a repeated `Idempotency-Key` gets the first answer again
 * (routes/idempotency.ts), and each identity has a budget of them (routes/rate-limit.ts).
 */
const TRANSFER_ACTION = { idempotent: true, rateLimited: true } as const

export const transferRoutes: FastifyPluginAsyncTypebox<TransferRoutesOptions> = async (fastify, { transfers, agents, destinations = {} }) => {
  const destinationList = Object.entries(destinations).map(([name, { kind, label }]) => ({ name, kind, ...(label === undefined ? {} : { label }) }))

  // TypeBox's own checker, not the host's Ajv: bodies are validated strictly (no coercion, no silently
  // dropped properties) whatever options the host app gave Ajv.
  fastify.setValidatorCompiler(TypeBoxValidatorCompiler)

  /** The transfer, whichever instance owns it, if this identity may see it; otherwise it does not exist for them. */
  const visibleTransfer = async (identity: Identity, id: string): Promise<Transfer> => {
    const transfer = await transfers.findAnywhere(id)
    if (transfer === undefined || !canSeeTransfer(identity, transfer)) throw new TransferNotFoundError(id)
    return transfer
  }

  fastify.post('/transfers/execute', {
    config: TRANSFER_ACTION,
    schema: {
      operationId: 'executeTransfer',
      summary: 'Transfer the call of an extension (blind: Redirect; attended: Atxfer)',
      body: ExecuteTransferBody,
      response: { 200: TransferSchema, ...errorResponses }
    }
  }, async (request) => {
    const identity = identityOf(request)
    const { extension = identity.extension, targetExtension, transferType, note } = request.body
    const transfer = await transfers.execute({ extension, targetExtension, transferType, requestedBy: identity.extension, identity, ...(note === undefined ? {} : { note }) })
    request.log.info({ transferId: transfer.id, extension, targetExtension, transferType, status: transfer.status }, 'transfer executed')
    return transfer
  })

  fastify.get('/transfers', {
    schema: {
      operationId: 'listTransfers',
      summary: 'Transfers in progress that the caller may see (its own; all for supervisors)',
      response: { 200: TransferList, ...errorResponses }
    }
  }, async (request) => {
    const identity = identityOf(request)
    return { transfers: (await transfers.listAnywhere()).filter((transfer) => canSeeTransfer(identity, transfer)) }
  })

  fastify.get('/transfers/:id', {
    schema: { operationId: 'getTransfer', summary: 'One transfer, in progress or recently finished', params: TransferId, response: { 200: TransferSchema, ...errorResponses } }
  }, async (request) => await visibleTransfer(identityOf(request), request.params.id))

  /** What can be done to one attended transfer in progress: each with the same rights, retries, limit and answer. */
  const consultationActions: Array<{ action: string, operationId: string, summary: string, run: (id: string, identity: Identity) => Promise<Transfer> }> = [
    {
      action: 'complete',
      operationId: 'completeTransfer',
      summary: 'Complete an attended transfer: the agent leaves, the customer stays with the target',
      run: async (id, identity) => await transfers.complete(id, identity)
    },
    {
      action: 'cancel',
      operationId: 'cancelTransfer',
      summary: 'Cancel an attended transfer: the consultation ends, the agent is back with the customer',
      run: async (id, identity) => await transfers.cancel(id, identity)
    },
    {
      action: 'swap',
      operationId: 'swapTransfer',
      summary: 'Swap during an attended transfer: the agent goes over to the customer while the target waits, or back to the target ' +
        '(once the target answered; answers when the bridges show it, with talkingTo)',
      run: async (id, identity) => await transfers.swap(id, identity)
    },
    {
      action: 'three-way',
      operationId: 'threeWayTransfer',
      summary: 'Three-way during an attended transfer: customer, agent and target in one call (once the target answered); ' +
        'then complete (the agent leaves) or cancel (the target is dropped)',
      run: async (id, identity) => await transfers.threeWay(id, identity)
    }
  ]
  for (const { action, operationId, summary, run } of consultationActions) {
    fastify.post(`/transfers/:id/${action}`, {
      config: TRANSFER_ACTION,
      schema: { operationId, summary, params: TransferId, response: { 200: TransferSchema, ...errorResponses } }
    }, async (request) => {
      const identity = identityOf(request)
      return await run((await visibleTransfer(identity, request.params.id)).id, identity)
    })
  }

  fastify.get('/transfers/available-agents', {
    schema: {
      operationId: 'listAvailableAgents',
      summary: 'Agents that can receive a transfer now (registered, idle, not paused), minus the caller, and the named destinations; ' +
        'with all=true every agent with its state and why it cannot take one',
      querystring: AvailableAgentsQuery,
      response: { 200: AvailableAgentsResponse, ...errorResponses }
    }
  }, async (request) => {
    const list = request.query.all === 'true' ? await agents.all() : await agents.available(identityOf(request).extension)
    return { agents: list, destinations: destinationList }
  })
}
