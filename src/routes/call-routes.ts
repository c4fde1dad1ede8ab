/** `GET /calls`: the caller's own live calls (all of them for a supervisor), from the call monitor. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { CallMonitor } from '../calls/call-monitor.js'
import { withTransfer, type TransferOnChannel } from '../calls/call-view.js'
import { identityOf } from '../authentication.js'
import { CallList } from '../domain/call.js'
import { errorResponses } from './schemas.js'

export interface CallRoutesOptions {
  monitor: Pick<CallMonitor, 'allCalls' | 'callsOf'>
  transferOn: TransferOnChannel
}

export const callRoutes: FastifyPluginAsyncTypebox<CallRoutesOptions> = async (fastify, { monitor, transferOn }) => {
  fastify.get('/calls', {
    schema: { operationId: 'listCalls', summary: 'Live calls: the caller\'s own, or every agent\'s for a supervisor', response: { 200: CallList, ...errorResponses } }
  }, async (request) => {
    const identity = identityOf(request)
    const calls = identity.role === 'supervisor' ? monitor.allCalls() : monitor.callsOf(identity.extension)
    return { calls: calls.map((call) => withTransfer(call, transferOn)) }
  })
}
