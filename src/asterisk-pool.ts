/**
 * The Asterisk servers the plugin drives, seen as one: connected together, their calls and agents
 * listed together (each naming its server once there are several), their links and readiness summed
 * up. A pool of one behaves exactly as a single Asterisk: nothing is renamed or added to what clients
 * see. Built on `asterisk-server.ts` (what belongs to one server).
 */
import type { FastifyBaseLogger } from 'fastify'
import { AgentService } from './agents/agent-service.js'
import type { AgentEntry, AvailableAgent } from './agents/available-agents.js'
import type { Agent } from './agents/agent-directory.js'
import type { AgentStatus } from './domain/agent-state.js'
import { PoolAgents, presenceAcross } from './agents/pool-agents.js'
import { connectAsteriskServer, type AsteriskServer } from './asterisk-server.js'
import type { Call } from './domain/call.js'
import type { ResolvedOptions } from './options.js'

export interface PoolReadiness {
  ami: boolean
  ari: boolean
  calls: boolean
  /** With several servers: each server's links and calls, and the servers that are down. */
  servers?: Record<string, { ami: boolean, ari: boolean, calls: boolean }>
  down?: string[]
}

/** Who can take a transfer, across the pool (`GET /transfers/available-agents`). */
export interface AgentLister {
  all: () => Promise<AgentEntry[]>
  available: (caller?: string) => Promise<AvailableAgent[]>
}

export class AsteriskPool {
  readonly servers: readonly [AsteriskServer, ...AsteriskServer[]]
  readonly agents: AgentLister
  readonly #pooled: PoolAgents | undefined

  constructor (servers: readonly [AsteriskServer, ...AsteriskServer[]], technology: string, log: FastifyBaseLogger) {
    this.servers = servers
    const perServer = servers.map((server) => ({ server, agents: new AgentService(server.pbx, technology, server.directory, server.agentStatus) }))
    this.#pooled = servers.length === 1
      ? undefined
      : new PoolAgents(perServer.map(({ server, agents }) => ({ server: server.name, all: async () => await agents.all(), find: async (extension) => await server.directory.find(extension) })), log)
    this.agents = this.#pooled ?? (perServer[0] as { agents: AgentService }).agents
  }

  get several (): boolean {
    return this.servers.length > 1
  }

  /** The agent, on whichever server has it (several: refused with XFER_AMBIGUOUS_AGENT). */
  async findAgent (extension: string): Promise<Agent | undefined> {
    return this.#pooled === undefined ? await this.servers[0].directory.find(extension) : await this.#pooled.find(extension)
  }

  /** The server an agent belongs to (where its endpoint lives); undefined when none, or several. */
  async serverOfAgent (extension: string): Promise<string | undefined> {
    return this.#pooled === undefined ? this.servers[0].name : await this.#pooled.serverOf(extension)
  }

  /** The agent's state from its own server, when the states are built (undefined: unknown yet). */
  presenceOf (extension: string): AgentStatus | undefined {
    const built = this.servers.filter((server) => server.agentStatus.inSync)
    return presenceAcross(built.map(({ agentStatus }) => ({ follows: agentStatus.follows(extension), status: agentStatus.statusOf(extension) })))
  }

  /** Every agent's call, on every server (named with its server when there are several). */
  allCalls (): Call[] {
    return this.servers.flatMap((server) => this.#named(server, server.monitor.allCalls()))
  }

  callsOf (extension: string): Call[] {
    return this.servers.flatMap((server) => this.#named(server, server.monitor.callsOf(extension)))
  }

  get inSync (): boolean {
    return this.servers.every((server) => server.monitor.inSync)
  }

  /** Up when every server's link is (a pool of one: its links). */
  connectionState (): { ami: boolean, ari: boolean } {
    const states = this.servers.map((server) => server.pbx.connectionState())
    return { ami: states.every((state) => state.ami), ari: states.every((state) => state.ari) }
  }

  /**
   * Ready while at least one server is fully up (AMI, ARI, calls in step): its agents can transfer.
   * The servers that are down are listed; a pool of one answers as a single Asterisk.
   */
  readiness (): PoolReadiness {
    const each = this.servers.map((server) => ({ name: server.name, ...server.pbx.connectionState(), calls: server.monitor.inSync }))
    const [only] = each
    if (each.length === 1 && only !== undefined) return { ami: only.ami, ari: only.ari, calls: only.calls }
    const up = each.filter((server) => server.ami && server.ari && server.calls)
    return {
      ami: up.length > 0,
      ari: up.length > 0,
      calls: up.length > 0,
      servers: Object.fromEntries(each.map(({ name, ami, ari, calls }) => [name, { ami, ari, calls }])),
      down: each.filter((server) => !up.includes(server)).map((server) => server.name)
    }
  }

  #named (server: AsteriskServer, calls: Call[]): Call[] {
    return this.several ? calls.map((call) => ({ ...call, server: server.name })) : calls
  }
}

/**
 * Connects every server of the pool. Refused AMI credentials on one fail the registration (the others
 * are closed again); an unreachable server does not: it is retried in the background.
 */
export async function connectPool (options: ResolvedOptions, log: FastifyBaseLogger): Promise<readonly [AsteriskServer, ...AsteriskServer[]]> {
  const several = options.servers.length > 1
  const results = await Promise.allSettled(options.servers.map(async (server) => await connectAsteriskServer(server, options, several ? log.child({ server: server.name }) : log)))
  const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected')
  const connected = results.flatMap((result) => result.status === 'fulfilled' ? [result.value] : [])
  if (failed !== undefined) {
    await Promise.all(connected.map(async (server) => { await server.close() }))
    throw failed.reason
  }
  const [first, ...rest] = connected
  if (first === undefined) throw new Error('fastify-asterisk-transfer: no Asterisk server configured')
  return [first, ...rest]
}
