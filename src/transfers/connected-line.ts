/**
 * The target sees the customer. After a transfer the target's phone should show the customer's caller
 * ID (its connected line), not the agent's. Asterisk does it by itself for a Redirect (the target rings
 * with the customer's number) and, for an attended transfer, with a connected line update at
 * completion: on Asterisk 22 it did in every case tried, direct and through a queue member's Local
 * pair. This is the check behind it, for the set-ups where it does not (a dialplan or a channel in
 * between that keeps or sets another): the target's connected line is read once, and set to the
 * customer's when it shows another number (AMI Setvar of CONNECTEDLINE, which updates the phone too).
 * Nothing here may fail a transfer: a check that cannot be made is logged.
 */
import { localCounterpart } from '../asterisk/channel-name.js'
import type { Pbx } from '../asterisk/pbx.js'
import type { Transfer } from '../domain/transfer.js'
import type { Clock } from '../support/clock.js'
import type { Logger } from '../support/logger.js'

/**
 * How long after the answer (blind) or the completion (attended) the target's connected line is read:
 * Asterisk's own update comes with the channels' move, and a Local pair may still be optimised away.
 */
export const CONNECTED_LINE_SETTLE_MS = 500

/** Whether the transfer has just reached the state where its target talks to the customer. */
export function customerReachedTarget (record: Transfer): boolean {
  return (record.type === 'blind' && record.status === 'answered') || (record.type === 'attended' && record.status === 'completed')
}

export class ConnectedLineKeeper {
  readonly #pbx: Pbx
  readonly #clock: Clock
  readonly #log: Logger

  constructor (pbx: Pbx, clock: Clock, logger: Logger) {
    this.#pbx = pbx
    this.#clock = clock
    this.#log = logger
  }

  /** The transfer is about to enter `record`'s state: once the customer reached the target, look after a while. */
  entering (record: Transfer): void {
    if (!customerReachedTarget(record)) return
    this.#clock.after(CONNECTED_LINE_SETTLE_MS, () => {
      this.showCustomer(record).catch((error: unknown) => {
        this.#log.info({ err: error, transferId: record.id }, 'the target\'s connected line could not be checked')
      })
    }, { background: true })
  }

  /**
   * Sets the customer's caller ID as the target channel's connected line when it shows another number.
   * Resolves true when it had to be set.
   */
  async showCustomer (record: Transfer): Promise<boolean> {
    const { caller } = record
    const target = record.channels.target
    // A Local half is not a phone: the leg behind it is named once the bridges show it (outcome-confirmer.ts).
    if (caller === undefined || caller.number === '' || target === undefined || localCounterpart(target) !== undefined) return false
    const shown = await this.#pbx.getVariable(target, 'CONNECTEDLINE(num)')
    if (shown === caller.number) return false
    // The name first without an update (`i`), then the number, which sends the phone both at once.
    if (caller.name !== undefined) await this.#pbx.setVariable(target, 'CONNECTEDLINE(name,i)', caller.name)
    await this.#pbx.setVariable(target, 'CONNECTEDLINE(num)', caller.number)
    this.#log.info({ transferId: record.id, target, shown }, 'the target showed another connected line than the customer: set to the customer\'s')
    return true
  }
}
