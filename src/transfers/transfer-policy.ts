/**
 * Whether a transfer may happen, before anything is asked of Asterisk: the caller's rights over the
 * call, where the target leads (agent, named destination, or free dialing), and the host app's own
 * business rules (`authorizeTransfer`). Every decision is logged with who, what and why.
 */
import type { Logger } from '../support/logger.js'
import type { AgentDirectory } from '../agents/agent-directory.js'
import { ForbiddenError, TargetBusyError, TargetUnavailableError, TransferDeniedError, UnknownTargetError } from '../errors.js'
import type { Identity } from '../identity.js'
import { resolveTarget, type TargetRules } from './destinations.js'
import { mayActFor } from './permissions.js'
import { type DialTarget } from '../domain/destination.js'
import type { TransferType } from '../domain/transfer.js'

export interface AuthorizationContext {
  identity: Identity
  /** The extension whose call would be transferred. */
  extension: string
  targetExtension: string
  transferType: TransferType
  /** Where the target leads: an agent, a named destination, or free dialing. */
  target: DialTarget
}

export type AuthorizationDecision = boolean | { allowed: boolean, reason?: string }

/** Supplied by the host app: business rules (allowed ranges, no external numbers for some roles, hours...). */
export type AuthorizeTransfer = (context: AuthorizationContext) => AuthorizationDecision | Promise<AuthorizationDecision>

export interface AdmissionRequest {
  /** Absent for the host app's own calls through `fastify.asteriskTransfers`, which are trusted. */
  identity?: Identity
  extension: string
  targetExtension: string
  transferType: TransferType
}

/** An agent's presence when it is known for sure (undefined while it is not). */
export type AgentPresence = (extension: string) => { state: string, reason?: string } | undefined

/**
 * What to do with a transfer to an agent who is on a call: `refuse` (409 XFER_TARGET_BUSY, the
 * default: the agent list shows who is free, and a second call in a talking agent's ear is rarely
 * what a call center wants), or `allow` it and let the PBX decide (call waiting rings; a busy phone
 * fails the dial, and transfer recall brings the customer back).
 */
export type BusyTargets = 'refuse' | 'allow'

/** Presence states of an agent who is on a call. */
const BUSY_STATES: ReadonlySet<string> = new Set(['ringing', 'on_call', 'on_hold', 'in_consultation'])

export class TransferPolicy {
  readonly #directory: Pick<AgentDirectory, 'find'>
  readonly #rules: TargetRules
  readonly #authorize: AuthorizeTransfer | undefined
  readonly #log: Logger
  readonly #presence: AgentPresence
  readonly #busyTargets: BusyTargets

  constructor (directory: Pick<AgentDirectory, 'find'>, rules: TargetRules, authorize: AuthorizeTransfer | undefined, log: Logger, presence: AgentPresence = () => undefined, busyTargets: BusyTargets = 'refuse') {
    this.#directory = directory
    this.#rules = rules
    this.#authorize = authorize
    this.#log = log
    this.#presence = presence
    this.#busyTargets = busyTargets
  }

  /** The dial target of an allowed transfer; throws 403 or 422 otherwise. */
  async admit (request: AdmissionRequest): Promise<DialTarget> {
    const { identity, extension, targetExtension, transferType } = request
    const what = { who: identity?.extension ?? 'host app', role: identity?.role, extension, targetExtension, transferType }
    if (identity !== undefined) this.assertMayAct(identity, extension)
    const isAgent = (await this.#directory.find(targetExtension)) !== undefined
    const target = resolveTarget(targetExtension, isAgent, this.#rules)
    if (target === undefined) {
      this.#log.info({ ...what, allowed: false, why: 'not an agent nor a configured destination' }, 'transfer decision')
      throw new UnknownTargetError(targetExtension, this.#rules.transferContext)
    }
    // An offline agent's Dial fails at once, and the dialplan then hangs the customer up: refuse first.
    const presence = target.kind === 'agent' ? this.#presence(target.exten) : undefined
    if (presence?.state === 'offline') {
      this.#log.info({ ...what, target, allowed: false, why: `target offline: ${presence.reason ?? 'not registered'}` }, 'transfer decision')
      throw new TargetUnavailableError(targetExtension, presence.reason ?? 'offline')
    }
    if (presence !== undefined && this.#busyTargets === 'refuse' && BUSY_STATES.has(presence.state)) {
      const why = presence.reason ?? presence.state.replace('_', ' ')
      this.#log.info({ ...what, target, allowed: false, why: `target busy: ${why}` }, 'transfer decision')
      throw new TargetBusyError(targetExtension, why)
    }
    if (identity !== undefined && this.#authorize !== undefined) {
      const decision = await this.#authorize({ identity, extension, targetExtension, transferType, target })
      const { allowed, reason } = typeof decision === 'boolean' ? { allowed: decision, reason: undefined } : decision
      this.#log.info({ ...what, target, allowed, why: reason ?? (allowed ? 'authorizeTransfer allowed it' : 'authorizeTransfer denied it') }, 'transfer decision')
      if (!allowed) throw new TransferDeniedError(reason ?? 'not allowed by the call center\'s rules')
    } else {
      this.#log.info({ ...what, target, allowed: true, why: identity === undefined ? 'host app call' : 'no business rule configured' }, 'transfer decision')
    }
    return target
  }

  /**
   * Where an already admitted transfer dials (one found again after a restart): its named destination,
   * or the extension in the transfer context.
   */
  targetFor (target: string): DialTarget {
    return resolveTarget(target, true, this.#rules) as DialTarget
  }

  assertMayAct (identity: Identity, extension: string): void {
    if (mayActFor(identity, extension)) return
    this.#log.info({ who: identity.extension, role: identity.role, extension, allowed: false, why: 'not the agent\'s own call' }, 'transfer decision')
    throw new ForbiddenError(identity.extension, extension)
  }
}
