/**
 * Finds, on one Asterisk, the attended transfers a previous run of the host app left in progress (a
 * consultation while it restarted) and follows them again under their ids, so they can still be
 * completed or cancelled. Asterisk is the source of truth: the transfer's record waits on the agent's
 * channel (`channel-record.ts`), and the bridges say where the consultation stands
 * (`restore-topology.ts`). Only the channels of agents who may be in a consultation are asked.
 */
import { extensionOf, isLocalTo } from '../asterisk/channel-name.js'
import type { Logger } from '../support/logger.js'
import type { Pbx } from '../asterisk/pbx.js'
import type { Call } from '../domain/call.js'
import type { Transfer } from '../domain/transfer.js'
import { freshTracking } from '../domain/tracking.js'
import type { ActiveTransfer } from './active-transfer.js'
import type { CallLocator } from './call-locator.js'
import { bridgeMates } from './call-topology.js'
import { CHANNEL_RECORD_VARIABLE, decodeChannelRecord, type ChannelRecord } from './channel-record.js'
import { foundOnBridges, loneConsultationHalves, mayBeInConsultation, ownersOfHalves, swappedAwayFrom, type FoundConsultation } from './restore-topology.js'
import type { TransferLedger } from './transfer-ledger.js'
import type { TransferPolicy } from './transfer-policy.js'

export interface RestorerParts {
  pbx: Pbx
  ledger: TransferLedger
  locator: CallLocator
  policy: TransferPolicy
  /** Applies what the PBX shows of a transfer found again. */
  reconcileOne: (transfer: ActiveTransfer) => Promise<void>
}

export class ConsultationRestorer {
  readonly #server: string
  readonly #technology: string
  readonly #parts: RestorerParts
  readonly #log: Logger

  constructor (server: string, technology: string, parts: RestorerParts, logger: Logger) {
    this.#server = server
    this.#technology = technology
    this.#parts = parts
    this.#log = logger
  }

  async restore (): Promise<Transfer[]> {
    const memory = this.#parts.locator.memory
    if (memory === undefined) return []
    const calls = memory.allCalls?.() ?? []
    const restored: Transfer[] = []
    for (const call of calls) {
      // In a consultation the agent's channel shares a bridge with a Local half; in a three-way, with
      // two others. (Not its hold state: a monitor built from ARI after a restart does not know who is
      // on hold.)
      if (!mayBeInConsultation(memory.snapshotOf(call.extension), call.channel) || this.#followed(call.channel)) continue
      const saved = await this.#recordOn(call.channel)
      if (saved === undefined || this.#parts.ledger.get(saved.id) !== undefined) continue
      const transfer = await this.#rebuild(call.channel, saved)
      if (transfer !== undefined) restored.push(transfer)
    }
    return [...restored, ...await this.#restoreSwappedAway(calls)]
  }

  /**
   * A consultation the agent swapped away from (back with the customer, the target held) looks like an
   * ordinary call from the agent's side; what gives it away is the consultation's near half, alone in
   * its bridge while it waits for the agent. Only when such a half exists are agents' channels asked,
   * and only those of agents talking with one other party.
   */
  async #restoreSwappedAway (calls: readonly Call[]): Promise<Transfer[]> {
    const memory = this.#parts.locator.memory
    const everything = memory?.snapshot?.()
    if (memory === undefined || everything === undefined) return []
    const waiting = loneConsultationHalves(everything)
    if (waiting.length === 0) return []
    const candidates = new Map<string, Array<{ channel: string, saved: ChannelRecord }>>()
    for (const call of calls) {
      if (this.#followed(call.channel)) continue
      const mates = bridgeMates(memory.snapshotOf(call.extension), call.channel)
      if (mates.length !== 1) continue
      const saved = await this.#recordOn(call.channel)
      if (saved === undefined || saved.peer !== mates[0]?.name || this.#parts.ledger.get(saved.id) !== undefined) continue
      const { exten, context } = this.#parts.policy.targetFor(saved.destination ?? saved.targetExtension)
      for (const half of waiting.filter((name) => isLocalTo(name, exten, context))) {
        candidates.set(half, [...(candidates.get(half) ?? []), { channel: call.channel, saved }])
      }
    }
    const { owned, contested } = ownersOfHalves(candidates)
    for (const [half, owners] of contested) {
      this.#log.warn({ half, agents: owners.map((owner) => owner.channel) }, 'a held consultation several agents\' records could own: not followed again')
    }
    const restored: Transfer[] = []
    for (const [half, owner] of owned) {
      const transfer = await this.#rebuild(owner.channel, owner.saved, swappedAwayFrom(everything, half))
      if (transfer !== undefined) restored.push(transfer)
    }
    return restored
  }

  async #rebuild (agentChannel: string, saved: ChannelRecord, known?: FoundConsultation): Promise<Transfer | undefined> {
    const { ledger, locator, policy, reconcileOne } = this.#parts
    if (extensionOf(agentChannel, this.#technology) !== saved.extension) return undefined
    const { snapshot } = await locator.aroundTransfer({ channels: { agent: agentChannel, peer: saved.peer } })
    const found = known ?? foundOnBridges(snapshot, agentChannel, saved.peer)
    if (found === undefined) return undefined
    const target = policy.targetFor(saved.destination ?? saved.targetExtension)
    const { peer, ...fields } = saved
    const record: Transfer = {
      ...fields,
      type: 'attended',
      status: found.status,
      origin: 'plugin',
      server: this.#server,
      channels: { agent: agentChannel, peer, ...found.channels },
      // The queue is the destination's: its name and the priority it gives, as when it started.
      ...(target.queue === undefined ? {} : { queue: target.queue }),
      updatedAt: new Date().toISOString()
    }
    if (found.status === 'three_way') record.talkingTo = 'both'
    if (found.talkingTo !== undefined) record.talkingTo = found.talkingTo
    // Another instance of the host app may follow it already: then its call is taken.
    const claimed = await ledger.claim(record, target, freshTracking())
    if (!claimed.ok) return undefined
    const transfer = ledger.open(record, target)
    await reconcileOne(transfer)
    this.#log.info({ transferId: record.id, agent: agentChannel, status: record.status }, 'consultation found on the agent\'s channel after a restart; followed again')
    return transfer.record
  }

  #followed (channel: string): boolean {
    return this.#parts.ledger.activeOn(this.#server, channel).length > 0
  }

  async #recordOn (channel: string): Promise<ChannelRecord | undefined> {
    return decodeChannelRecord(await this.#parts.pbx.getVariable(channel, CHANNEL_RECORD_VARIABLE).catch(() => ''))
  }
}
