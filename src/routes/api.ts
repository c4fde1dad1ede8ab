/**
 * The plugin's HTTP surface in one encapsulated context: its own error shape, identity before anything
 * else, the transfer routes and the event feed. The host app's own routes are untouched by any of it.
 */
import type { FastifyPluginAsync } from 'fastify'
import type { AgentService } from '../agents/agent-service.js'
import type { EventLog } from '../feed/event-log.js'
import { eventFeedRoutes } from '../feed/websocket-feed.js'
import type { Authenticate } from '../identity.js'
import type { DestinationMap } from '../transfers/destinations.js'
import type { TransferService } from '../transfers/transfer-service.js'
import { requireIdentity } from './authentication.js'
import { transferErrorHandler } from './error-handler.js'
import { transferRoutes } from './transfer-routes.js'

export interface ApiRoutesOptions {
  transfers: TransferService
  agents: AgentService
  eventLog: EventLog
  authenticate: Authenticate
  feed?: { heartbeatIntervalMs?: number, maxBufferedBytes?: number }
  destinations?: DestinationMap
}

export const apiRoutes: FastifyPluginAsync<ApiRoutesOptions> = async (api, { transfers, agents, eventLog, authenticate, feed = {}, destinations = {} }) => {
  api.setErrorHandler(transferErrorHandler)
  requireIdentity(api, authenticate)
  await api.register(transferRoutes, { transfers, agents, destinations })
  await api.register(eventFeedRoutes, { eventLog, ...feed })
}
