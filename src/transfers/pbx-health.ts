/**
 * What one engine knows of its Asterisk's health: whether both links are up, when they were last lost,
 * and whether Asterisk restarted meanwhile (its start time changed across a reconnect). A transfer
 * created before such a restart had its calls on the Asterisk that died (`restart-verdict.ts`).
 */
import type { Logger } from '../support/logger.js'
import type { Pbx } from '../asterisk/pbx.js'
import type { Clock } from '../support/clock.js'
import { predatesRestart, restarted } from './restart-verdict.js'

/** How often, and how far apart, Asterisk's start time is asked before giving up. */
const STARTED_AT_ATTEMPTS = 4
const STARTED_AT_RETRY_MS = 500

export class PbxHealth {
  readonly #pbx: Pbx
  readonly #clock: Clock
  readonly #log: Logger
  /** Asterisk's start time as last seen: another one after a reconnect means it restarted. */
  #startedAt: string | undefined
  /**
   * When the link was last lost before a restart of Asterisk was found: a transfer created before it had
   * its calls on the Asterisk that died. Kept, because the pass that found the restart may not settle
   * every transfer (a look at the PBX failed, an action was in flight), and a later pass or deadline must
   * still say asterisk_restarted rather than call_ended.
   */
  #restartedBefore: number | undefined
  /** When the link to Asterisk was last lost. */
  #linkLostAt: number | undefined
  #wasConnected = true

  constructor (pbx: Pbx, clock: Clock, logger: Logger) {
    this.#pbx = pbx
    this.#clock = clock
    this.#log = logger
  }

  /** Learns the current state and Asterisk's start time (the reference for the next reconnect). */
  start (): void {
    this.#wasConnected = this.connected()
    this.#readStartedAt().then((startedAt) => { this.#startedAt ??= startedAt }, () => {})
  }

  /** Both AMI and ARI are up. */
  connected (): boolean {
    const { ami, ari } = this.#pbx.connectionState()
    return ami && ari
  }

  /** At least one link is up: the server can be asked something (AMI down: ARI answers lookups). */
  reachable (): boolean {
    const { ami, ari } = this.#pbx.connectionState()
    return ami || ari
  }

  /** Follows a change of the links; true when they just came back (a reconnect: reconcile). */
  linksChanged (state: { ami: boolean, ari: boolean }): boolean {
    const connected = state.ami && state.ari
    const cameBack = connected && !this.#wasConnected
    if (!connected && this.#wasConnected) this.#linkLostAt = this.#clock.now()
    this.#wasConnected = connected
    return cameBack
  }

  /** After a reconnect: whether Asterisk restarted since its start time was last read. */
  async restartedSinceLastSeen (): Promise<boolean> {
    const startedAt = await this.#readStartedAt()
    if (startedAt === undefined) return false
    const verdict = restarted(this.#startedAt, startedAt)
    this.#startedAt = startedAt
    if (verdict) this.#restartedBefore = this.#linkLostAt ?? this.#clock.now()
    return verdict
  }

  /** Whether a transfer created at `createdAt` began on an Asterisk that has restarted since. */
  predatesRestart (createdAt: string): boolean {
    return predatesRestart(createdAt, this.#restartedBefore)
  }

  /**
   * Asterisk's start time (AMI CoreStatus), asked a few times: just after a reconnect an Asterisk still
   * starting may not answer yet, and without it a restart would be taken for calls that ended.
   */
  async #readStartedAt (): Promise<string | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#pbx.startedAt()
      } catch (error) {
        if (attempt >= STARTED_AT_ATTEMPTS) {
          this.#log.warn({ err: error }, 'Asterisk\'s start time could not be read: a restart may be reported as calls ended')
          return undefined
        }
        await this.#clock.sleep(STARTED_AT_RETRY_MS)
      }
    }
  }
}
