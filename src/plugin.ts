/**
 * The plugin: checks the options, opens AMI and ARI, builds the services, decorates the instance with
 * `asteriskTransfers` and mounts the routes under `prefix`. Everything it opens is closed in `onClose`.
 */
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { AgentService } from './agents/agent-service.js'
import type { AvailableAgent } from './agents/available-agents.js'
import { AmiClient } from './asterisk/ami-client.js'
import { AriClient } from './asterisk/ari-client.js'
import { AsteriskPbx } from './asterisk/pbx.js'
import { AmiLoginError } from './errors.js'
import { resolveOptions, type FastifyAsteriskTransferOptions, type ResolvedOptions } from './options.js'
import { transferRoutes } from './routes/transfer-routes.js'
import type { TransferEventMap, TransferEventName, TransferSummary } from './transfers/transfer-events.js'
import { TransferService, type LocatedCall, type TransferRequest } from './transfers/transfer-service.js'

/** What the host app gets as `fastify.asteriskTransfers`. */
export interface AsteriskTransfers {
  transfer (request: TransferRequest): Promise<TransferSummary>
  getChannelForExtension (extension: string): Promise<LocatedCall>
  availableAgents (caller?: string): Promise<AvailableAgent[]>
  /** Subscribes to transfer events; returns the function that unsubscribes. */
  on<K extends TransferEventName> (type: K, handler: (event: TransferEventMap[K]) => void): () => void
  connectionState (): { ami: boolean, ari: boolean }
}

declare module 'fastify' {
  interface FastifyInstance {
    asteriskTransfers: AsteriskTransfers
  }
}

function createClients (fastify: FastifyInstance, options: ResolvedOptions): { ami: AmiClient, ari: AriClient } {
  const log = fastify.log.child({ plugin: 'fastify-asterisk-transfer' })
  const ami = new AmiClient({
    ...options.ami,
    actionTimeoutMs: options.actionTimeoutMs,
    reconnect: options.reconnect,
    pingIntervalMs: options.amiPingIntervalMs,
    logger: log.child({ component: 'ami' })
  })
  const ari = new AriClient({
    ...options.ari,
    requestTimeoutMs: options.actionTimeoutMs,
    reconnect: options.reconnect,
    logger: log.child({ component: 'ari' })
  })
  return { ami, ari }
}

/**
 * An unreachable Asterisk must not stop the host app from starting (routes answer 503 and the clients
 * keep retrying), but refused AMI credentials are a configuration error and fail the registration.
 */
async function connectAtStartup (fastify: FastifyInstance, ami: AmiClient, ari: AriClient): Promise<void> {
  const [amiResult, ariResult] = await Promise.allSettled([ami.start(), ari.start()])
  if (amiResult.status === 'rejected' && amiResult.reason instanceof AmiLoginError) {
    await ami.close()
    ari.close()
    throw amiResult.reason
  }
  for (const result of [amiResult, ariResult]) {
    if (result.status === 'rejected') fastify.log.warn({ err: result.reason }, 'Asterisk not reachable at startup; retrying in the background')
  }
}

async function asteriskTransferPlugin (fastify: FastifyInstance, rawOptions: FastifyAsteriskTransferOptions): Promise<void> {
  const options = resolveOptions(rawOptions)
  const { ami, ari } = createClients(fastify, options)
  await connectAtStartup(fastify, ami, ari)
  fastify.addHook('onClose', async () => {
    ari.close()
    await ami.close()
  })

  const pbx = new AsteriskPbx(ami, ari)
  const transfers = new TransferService(pbx, {
    transferContext: options.transferContext,
    channelTechnology: options.channelTechnology,
    consultationTimeoutMs: options.consultationTimeoutMs
  })
  const agents = new AgentService(pbx, options.channelTechnology)

  fastify.decorate('asteriskTransfers', {
    transfer: async (request) => await transfers.execute(request),
    getChannelForExtension: async (extension) => await transfers.getChannelForExtension(extension),
    availableAgents: async (caller) => await agents.available(caller),
    on (type, handler) {
      transfers.events.on(type, handler as never)
      return () => { transfers.events.off(type, handler as never) }
    },
    connectionState: () => pbx.connectionState()
  } satisfies AsteriskTransfers)

  await fastify.register(transferRoutes, { prefix: options.prefix, transfers, agents, authenticate: options.authenticate })
}

export const fastifyAsteriskTransfer = fp(asteriskTransferPlugin, {
  name: 'fastify-asterisk-transfer',
  fastify: '5.x'
})
