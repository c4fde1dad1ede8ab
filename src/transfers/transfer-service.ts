/**
 * What a transfer does, as the routes, the host app and the command-line tool see it: start one, act
 * on a consultation, look transfers and calls up. A facade: the work is done by the engine of the
 * Asterisk server the call is on (`transfer-engine.ts`), over what spans servers: the ledger of
 * transfers and their shared store (`transfer-ledger.ts`), the policy, and, with several instances of
 * the host app, cluster ownership (`cluster-ownership.ts`). `docs/architecture.md` draws the whole.
 */
import type { EventEmitter } from 'node:events'
import { AgentDirectory } from '../agents/agent-directory.js'
import { silentLogger } from '../support/logger.js'
import type { Pbx } from '../asterisk/pbx.js'
import { DEFAULT_SERVER } from '../domain/server.js'
import { TransferNotFoundError, TransferStateError } from '../errors.js'
import type { Identity } from '../identity.js'
import type { RemoteCommand } from '../store/command-bus.js'
import { MemoryTransferStore } from '../store/memory-transfer-store.js'
import { systemClock } from '../support/clock.js'
import { ClusterOwnership } from './cluster-ownership.js'
import { ALLOWED, type ConsultationAction } from './consultation-actions.js'
import { DEFAULT_DEADLINES, poolOf, type LocatedCall, type PoolServer, type TransferNotices, type TransferRequest, type TransferServiceOptions } from './service-options.js'
import { acrossThePool } from './cross-server-check.js'
import { TransferEngine, type EngineOptions } from './transfer-engine.js'
import { PoolEngines } from './pool-engines.js'
import type { Transfer } from '../domain/transfer.js'
import type { TransferEvents } from './transfer-events.js'
import { TransferLedger } from './transfer-ledger.js'
import { TransferPolicy } from './transfer-policy.js'
import { serverOf } from './transfer-registry.js'

export type { CallLookup, LocatedCall, Peers, PoolServer, RecallRouting, TransferDeadlines, TransferNotices, TransferRequest, TransferServiceOptions } from './service-options.js'
export { DEFAULT_DEADLINES } from './service-options.js'

/** Far beyond any call center's simultaneous transfers; a bound on memory, not a business rule. */
const DEFAULT_MAX_ACTIVE = 10_000

const ACTIONS: ReadonlySet<string> = new Set(Object.keys(ALLOWED))

export class TransferService {
  readonly #ledger: TransferLedger
  /** One engine per Asterisk server, by the server's name. */
  readonly #engines: ReadonlyMap<string, TransferEngine>
  readonly #pool: PoolEngines
  readonly #ownership: ClusterOwnership | undefined

  /**
   * `servers`: one Asterisk (its `Pbx`, with `calls`, `recall` and `server` from the options), or the
   * servers of a pool, each with its own.
   */
  constructor (servers: Pbx | readonly PoolServer[], options: TransferServiceOptions) {
    const pool = poolOf(servers, options)
    const clock = options.clock ?? systemClock
    const log = options.logger ?? silentLogger
    this.#ledger = new TransferLedger({
      store: options.store ?? new MemoryTransferStore('local'),
      deadlines: { ...DEFAULT_DEADLINES, ...options.deadlines },
      maxActive: options.maxActive ?? DEFAULT_MAX_ACTIVE,
      clock,
      logger: log
    })
    const policy = options.policy ?? new TransferPolicy(
      new AgentDirectory([], pool[0].pbx, options.channelTechnology),
      { destinations: {}, transferContext: options.transferContext, allowFreeDialing: true },
      undefined,
      silentLogger
    )
    const settleTimeoutMs = options.settleTimeoutMs ?? Math.max(options.consultationTimeoutMs, 5000)
    this.#engines = new Map(pool.map((server) => [server.name, new TransferEngine(server.pbx, { ledger: this.#ledger, policy }, {
      server: server.name,
      transferContext: server.transferContext ?? options.transferContext,
      technology: options.channelTechnology,
      consultationTimeoutMs: options.consultationTimeoutMs,
      settleTimeoutMs,
      reconcileIntervalMs: options.reconcileIntervalMs ?? 0,
      atxferQuietMs: options.atxferQuietMs,
      recall: server.recall,
      calls: server.calls,
      distributed: options.peers !== undefined,
      queueLog: options.queueLog === true,
      followRecordings: options.followRecordings === true,
      ...(pool.length > 1 ? this.#acrossOptions(server.name, options) : {}),
      clock,
      logger: log
    })]))
    this.#pool = new PoolEngines(this.#engines, options.agentServer)
    this.#ledger.follow({
      entering: (transfer, record) => this.#engineOf(transfer.record)?.entering(transfer, record) ?? record,
      deadline: (transfer, state) => { this.#engineOf(transfer.record)?.deadline(transfer, state) },
      identify: (record) => this.#engineOf(record)?.identify(record) ?? record
    })
    this.#ownership = options.peers === undefined
      ? undefined
      : new ClusterOwnership({
        ledger: this.#ledger,
        policy,
        engines: {
          connected: () => [...this.#engines.values()].some((engine) => engine.health.connected()),
          reconcileTakenOver: async (transfer) => { await this.#engineOf(transfer.record)?.reconciler.reconcileOne(transfer, false) }
        }
      }, { peers: options.peers, remoteTimeoutMs: settleTimeoutMs + options.consultationTimeoutMs, clock }, log)
  }

  /** Every change of a transfer this instance follows, by event name (the feed and the host app listen). */
  get events (): TransferEvents {
    return this.#ledger.events
  }

  /** What the service notices besides a transfer's changes (metrics). */
  get notices (): EventEmitter<TransferNotices> {
    return this.#ledger.notices
  }

  /** Starts following Asterisk's events (transfers in progress and the phones' own transfers). */
  start (): void {
    for (const engine of this.#engines.values()) engine.start()
    this.#ownership?.start()
  }

  /**
   * Stops following Asterisk. The transfers in progress are handed back (their leases released), so
   * that another instance takes them over at once rather than after a lease.
   */
  async stop (): Promise<void> {
    for (const engine of this.#engines.values()) engine.stop()
    this.#ownership?.stop()
    await this.#ledger.handBack()
  }

  /** A transfer this instance follows, or finished here recently. */
  getHere (id: string): Transfer | undefined {
    return this.#ledger.get(id)
  }

  /** A transfer, whichever instance owns it. */
  async findAnywhere (id: string): Promise<Transfer | undefined> {
    const local = this.#ledger.get(id)
    if (local !== undefined) return local
    return (await this.#ledger.shared(async () => await this.#ledger.store.get(id)))?.stored.record
  }

  /** Every transfer in progress, whichever instance owns it. */
  async listAnywhere (): Promise<Transfer[]> {
    if (this.#ownership === undefined) return this.#ledger.activeRecords()
    return await this.#ledger.shared(async () => await this.#ledger.store.active())
  }

  /** The transfers in progress this instance follows. */
  activeHere (): Transfer[] {
    return this.#ledger.activeRecords()
  }

  /** The transfer in progress that involves this channel of a server (default: the only one), if any. */
  activeHereOnChannel (channel: string, server = this.#onlyServer()): Transfer | undefined {
    return this.#ledger.activeOn(server, channel)[0]?.record
  }

  /** The agent's active, two-party call: its channel and the real party bridged with it (and its server, in a pool of several). */
  async getChannelForExtension (extension: string): Promise<LocatedCall> {
    const engine = await this.#pool.ofAgent(extension)
    const located = await engine.locator.agentCall(extension)
    return this.#engines.size > 1 ? { ...located, server: engine.server } : located
  }

  async execute (request: TransferRequest): Promise<Transfer> {
    const engine = await this.#pool.ofAgent(request.extension)
    return await engine.starter.execute(request, await this.#pool.targetAcross(engine, request.targetExtension))
  }

  /**
   * Completes an attended transfer once the target answered: the agent leaves, the customer stays
   * with the target. Before the answer it is refused (cancel, or wait for `target_answered`).
   */
  async complete (id: string, identity?: Identity): Promise<Transfer> {
    return await this.#act('complete', id, identity)
  }

  /** Cancels an attended transfer: the consultation ends, the agent is back with the customer. */
  async cancel (id: string, identity?: Identity): Promise<Transfer> {
    return await this.#act('cancel', id, identity)
  }

  /** Swaps the agent between the customer and the target, once the target answered (`consultation-controls.ts`). */
  async swap (id: string, identity?: Identity): Promise<Transfer> {
    return await this.#act('swap', id, identity)
  }

  /** Brings customer, agent and target into one call, once the target answered. */
  async threeWay (id: string, identity?: Identity): Promise<Transfer> {
    return await this.#act('three_way', id, identity)
  }

  /** Answers a request another instance sent for a transfer this one owns. */
  async handleRemote (command: RemoteCommand): Promise<Transfer> {
    if (!ACTIONS.has(command.action)) throw new TransferStateError(command.transferId, `unknown action ${command.action}`)
    return await this.#act(command.action as ConsultationAction, command.transferId, command.identity)
  }

  /** Records every transfer this instance owns in the shared store again (after Redis came back). */
  recordAll (): void {
    this.#ownership?.recordAll()
  }

  /** Renews this instance's leases and takes over the transfers whose owner is gone. */
  async keepLeases (): Promise<void> {
    await this.#ownership?.keepLeases()
  }

  /** Checks every transfer in progress against its PBX and applies what it shows. */
  async reconcileAll (why: 'reconnect' | 'timer' = 'timer'): Promise<void> {
    await Promise.all([...this.#engines.values()].map(async (engine) => { await engine.reconciler.reconcileAll(why) }))
  }

  /** Follows again the consultations a previous run of the host app left on agents' channels. */
  async restore (): Promise<Transfer[]> {
    const restored: Transfer[] = []
    for (const engine of this.#engines.values()) restored.push(...await engine.restorer.restore())
    return restored
  }

  /** A transfer this instance does not follow is acted on by its owner, or taken over first. */
  async #act (action: ConsultationAction, id: string, identity: Identity | undefined): Promise<Transfer> {
    if (this.#ledger.get(id) === undefined && this.#ownership !== undefined) {
      const remote = await this.#ownership.elsewhere(id, identity, ALLOWED[action], action)
      if (remote !== undefined) return remote
    }
    const record = this.#ledger.get(id)
    const engine = record === undefined ? undefined : this.#engineOf(record)
    if (record === undefined || engine === undefined) throw new TransferNotFoundError(id)
    this.#pool.checkCrossed(record, action)
    return await engine.actions.act(action, id, identity)
  }

  #engineOf (record: Transfer): TransferEngine | undefined {
    return this.#engines.get(serverOf(record))
  }

  /** What an engine of a pool of several needs of the others: their view of a call, their agents. */
  #acrossOptions (server: string, options: TransferServiceOptions): Pick<EngineOptions, 'checkAcross' | 'reconnected' | 'serverOf'> {
    const { agentServer } = options
    return {
      checkAcross: acrossThePool(server, (name) => this.#engines.get(name)?.checked, options),
      reconnected: () => { this.#reconcileCrossedInto(server) },
      ...(agentServer === undefined ? {} : { serverOf: async (extension: string) => await agentServer(extension) })
    }
  }

  /** A server came back: the transfers of the others that crossed into it are checked against it. */
  #reconcileCrossedInto (server: string): void {
    const there = this.#engines.get(server)?.checked
    if (there === undefined) return
    for (const engine of this.#engines.values()) {
      if (engine.server !== server) engine.reconciler.reconcileCrossed(there).catch(this.#ledger.reportFailure('reconciling transfers across servers'))
    }
  }

  #onlyServer (): string {
    return this.#engines.keys().next().value ?? DEFAULT_SERVER
  }
}
