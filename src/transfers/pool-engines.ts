/**
 * Which engine of the pool a request goes to, and which servers it needs: the agent's server (where the
 * call is), and for a transfer to an agent of another server, that one too. A server that cannot be
 * seen (both links down) answers 503 at once, naming it, rather than sending a customer into a trunk
 * whose far end is gone, or waiting for an action's timeout.
 */
import { AsteriskUnavailableError, NoActiveChannelError } from '../errors.js'
import type { Transfer } from '../domain/transfer.js'
import type { ConsultationAction } from './consultation-actions.js'
import type { TransferEngine } from './transfer-engine.js'

type AgentServer = ((extension: string) => Promise<string | undefined> | string | undefined) | undefined

function unreachable (server: string, role: string): Error {
  return new AsteriskUnavailableError(`server ${server} (AMI and ARI unreachable), the ${role}'s server`)
}

export class PoolEngines {
  readonly #engines: ReadonlyMap<string, TransferEngine>
  readonly #agentServer: AgentServer
  /** The server each agent's call was last found on (one entry per agent). */
  readonly #lastEngineOf = new Map<string, TransferEngine>()

  constructor (engines: ReadonlyMap<string, TransferEngine>, agentServer: AgentServer) {
    this.#engines = engines
    this.#agentServer = agentServer
  }

  /**
   * The engine of the server an agent's call is on: the one whose call monitor knows a call of the
   * agent's; else the server the agent belongs to (`agentServer`: where its endpoint lives).
   */
  async ofAgent (extension: string): Promise<TransferEngine> {
    const engine = this.#engines.size === 1
      ? this.#engines.values().next().value
      : this.#knowingCallOf(extension) ?? this.#engines.get(await this.#agentServer?.(extension) ?? '')
    if (engine === undefined) throw new NoActiveChannelError(extension)
    if (!engine.health.reachable()) throw unreachable(engine.server, 'agent')
    return engine
  }

  /**
   * Asked on every request of a pool: the server that had the agent's call last time first (an agent's
   * calls are on its own server), then each server, one O(1) question each (`CallLocator.knowsCallOf`).
   */
  #knowingCallOf (extension: string): TransferEngine | undefined {
    const last = this.#lastEngineOf.get(extension)
    if (last?.locator.knowsCallOf(extension) === true) return last
    for (const engine of this.#engines.values()) {
      if (engine !== last && engine.locator.knowsCallOf(extension)) {
        this.#lastEngineOf.set(extension, engine)
        return engine
      }
    }
    return undefined
  }

  /** The target's server when it is another one of the pool (a transfer across), checked reachable. */
  async targetAcross (engine: TransferEngine, targetExtension: string): Promise<string | undefined> {
    if (this.#engines.size === 1) return undefined
    const server = await this.#agentServer?.(targetExtension)
    if (server === undefined || server === engine.server) return undefined
    if (this.#engines.get(server)?.health.reachable() === false) throw unreachable(server, 'target')
    return server
  }

  /**
   * An action on a transfer that crossed into another server needs that server, but a cancel: it
   * brings the customer back to the agent on the agent's own server, whatever became of the other.
   */
  checkCrossed (record: Transfer, action: ConsultationAction): void {
    const server = record.across?.server
    if (server === undefined || action === 'cancel') return
    if (this.#engines.get(server)?.health.reachable() === false) throw unreachable(server, 'target')
  }
}
