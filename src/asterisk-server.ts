/**
 * Everything the plugin holds for one Asterisk server: its AMI and ARI clients, the `Pbx` adapter over
 * them, the call monitor, the agent directory and the agents' states, and the keeper of the recall
 * dialplan. Built once per server; what spans servers (the shared state, the transfer ledger and
 * ownership, the policy, the feed, metrics) is built once, in `plugin.ts`. Channel names and uniqueids
 * mean something only within one server (see `domain/server.ts`).
 */
import type { FastifyBaseLogger } from 'fastify'
import { AgentDirectory, agentsOfServer } from './agents/agent-directory.js'
import { AgentStatusService } from './agents/agent-status.js'
import { AmiClient } from './asterisk/ami-client.js'
import { PBX_EVENT_NAMES } from './asterisk/ami-events.js'
import { AriClient } from './asterisk/ari-client.js'
import { AsteriskPbx } from './asterisk/pbx.js'
import { CallMonitor } from './calls/call-monitor.js'
import { AmiLoginError } from './errors.js'
import type { ResolvedOptions } from './options.js'
import type { ResolvedServer } from './server-options.js'
import { recallDialplan, recallEntry } from './transfers/recall-dialplan.js'
import { RecallInstaller } from './transfers/recall-installer.js'
import type { RecallRouting } from './transfers/transfer-service.js'

export interface AsteriskServer {
  readonly name: string
  /** The context its transfer targets are dialed in. */
  readonly transferContext: string
  readonly ami: AmiClient
  readonly ari: AriClient
  readonly pbx: AsteriskPbx
  readonly monitor: CallMonitor
  readonly directory: AgentDirectory
  readonly agentStatus: AgentStatusService
  /** Where blind transfers with recall go on this server; undefined when recall is off. */
  readonly recall: RecallRouting | undefined
  /** Builds what follows the server (the calls, the recall dialplan); retries in the background on failure. */
  follow: () => Promise<void>
  /** Stops following the server's calls and agents (before the transfers are handed back). */
  stopFollowing: () => void
  /** Closes the connections (last). */
  close: () => Promise<void>
}

/** Connects to one server; refused AMI credentials fail here, an unreachable Asterisk does not. */
export async function connectAsteriskServer (server: ResolvedServer, options: ResolvedOptions, log: FastifyBaseLogger): Promise<AsteriskServer> {
  const { name } = server
  const ami = new AmiClient({
    ...server.ami,
    actionTimeoutMs: options.actionTimeoutMs,
    reconnect: options.reconnect,
    pingIntervalMs: options.amiPingIntervalMs,
    // Its one listener is the PBX adapter: the events it does not map are not worth parsing.
    events: PBX_EVENT_NAMES,
    logger: log.child({ component: 'ami' })
  })
  const ari = new AriClient({
    ...server.ari,
    requestTimeoutMs: options.actionTimeoutMs,
    reconnect: options.reconnect,
    pingIntervalMs: options.ariPingIntervalMs,
    logger: log.child({ component: 'ari' })
  })
  await connectAtStartup(ami, ari, log)
  const pbx = new AsteriskPbx(ami, ari, log.child({ component: 'pbx' }))
  // In a pool of several, each server's directory holds its share of the host's list (its endpoints otherwise).
  const pooled = options.servers.length > 1
  const directory = new AgentDirectory(pooled ? agentsOfServer(options.agents, name, options.servers[0]?.name === name) : options.agents, pbx, options.channelTechnology)
  const monitor = new CallMonitor(pbx, { technology: options.channelTechnology, logger: log.child({ component: 'calls' }) })
  const agentStatus = new AgentStatusService(pbx, monitor, directory, { technology: options.channelTechnology, logger: log.child({ component: 'agents' }) })
  const installer = recallInstallerFor(pbx, server.transferContext, options, log.child({ component: 'recall' }))
  return {
    name,
    transferContext: server.transferContext,
    ami,
    ari,
    pbx,
    monitor,
    directory,
    agentStatus,
    recall: installer === undefined || options.recall === false
      ? undefined
      : {
          context: options.recall.context,
          ...(options.recall.fallback === undefined ? {} : { fallback: options.recall.fallback }),
          ensure: async () => await installer.ensure(),
          linesInFront: () => installer.linesInFront(),
          refusedInFront: (error: Error) => { installer.refusedInFront(error) }
        },
    async follow () {
      await installer?.start()
      // Without a first snapshot (ARI down) the monitor retries in the background; lookups use ARI meanwhile.
      await monitor.start().catch((error: unknown) => { log.warn({ err: error }, 'call monitor not built at startup; retrying') })
    },
    stopFollowing () {
      agentStatus.stop()
      installer?.stop()
      monitor.stop()
    },
    async close () {
      ari.close()
      await ami.close()
    }
  }
}

/**
 * An unreachable Asterisk must not stop the host app from starting (routes answer 503 and the clients
 * keep retrying), but refused AMI credentials are a configuration error and fail the registration.
 */
async function connectAtStartup (ami: AmiClient, ari: AriClient, log: FastifyBaseLogger): Promise<void> {
  const [amiResult, ariResult] = await Promise.allSettled([ami.start(), ari.start()])
  if (amiResult.status === 'rejected' && amiResult.reason instanceof AmiLoginError) {
    await ami.close()
    ari.close()
    throw amiResult.reason
  }
  for (const result of [amiResult, ariResult]) {
    if (result.status === 'rejected') log.warn({ err: result.reason }, 'Asterisk not reachable at startup; retrying in the background')
  }
}

/** The recall dialplan's keeper, unless recall is off. */
function recallInstallerFor (pbx: AsteriskPbx, transferContext: string, options: ResolvedOptions, log: FastifyBaseLogger): RecallInstaller | undefined {
  if (options.recall === false) return undefined
  const { context, afterMs, ringAgentMs, fallback } = options.recall
  const destination = fallback === undefined ? undefined : options.destinations[fallback]
  const lines = recallDialplan({
    context,
    transferContext,
    technology: options.channelTechnology,
    afterMs,
    ringAgentMs,
    ...(destination === undefined || fallback === undefined
      ? {}
      : { fallback: { context: destination.context, exten: destination.exten ?? fallback, ...(destination.priority === undefined ? {} : { priority: destination.priority }) } })
  })
  return new RecallInstaller(pbx, lines, log, recallEntry({ context, transferContext }, lines))
}
