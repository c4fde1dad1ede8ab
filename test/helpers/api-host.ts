// The plugin's routes context (apiRoutes) mounted on a fake PBX, for route-level unit tests.
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import type { Test } from 'tap'
import { AgentDirectory } from '../../src/agents/agent-directory.js'
import { AgentService } from '../../src/agents/agent-service.js'
import { CallMonitor } from '../../src/calls/call-monitor.js'
import { EventLog } from '../../src/domain/event-log.js'
import type { Identity } from '../../src/identity.js'
import { apiRoutes, type ApiRoutesOptions } from '../../src/routes/api.js'
import { TransferService } from '../../src/transfers/transfer-service.js'
import type { FakePbx } from './fake-pbx.js'

/** `Authorization: Bearer <extension>` is an agent with that extension. */
export async function bearerExtension (request: FastifyRequest): Promise<Identity | null> {
  const match = /^Bearer (\w+)$/.exec(request.headers.authorization ?? '')
  return match?.[1] === undefined ? null : { extension: match[1], role: 'agent' }
}

/** Mounts the routes under /api on `pbx`; `options` overrides any part. Closed at the test's end. */
export async function mountApi (t: Test, pbx: FakePbx, options: Partial<ApiRoutesOptions> = {}, server: FastifyServerOptions = {}): Promise<{ app: FastifyInstance, transfers: TransferService }> {
  const api = await buildApi(pbx, options, server)
  t.teardown(api.close)
  return api
}

/** The same routes outside a test (benchmarks): the caller closes them. */
export async function buildApi (pbx: FakePbx, options: Partial<ApiRoutesOptions> = {}, server: FastifyServerOptions = {}): Promise<{ app: FastifyInstance, transfers: TransferService, close: () => Promise<void> }> {
  const transfers = options.transfers ?? new TransferService(pbx, { transferContext: 'from-internal', channelTechnology: 'PJSIP', consultationTimeoutMs: 1000 })
  transfers.start()
  const app = Fastify(server)
  await app.register(apiRoutes, {
    prefix: '/api',
    transfers,
    // Not started: these tests look at the transfer actions, not at GET /calls.
    monitor: new CallMonitor(pbx),
    agents: new AgentService(pbx, 'PJSIP', new AgentDirectory([], pbx, 'PJSIP')),
    eventLog: new EventLog(),
    authenticate: bearerExtension,
    ...options
  })
  await app.ready()
  const close = async (): Promise<void> => {
    await transfers.stop()
    await app.close()
  }
  return { app, transfers, close }
}
