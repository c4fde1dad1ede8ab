/**
 * What an agent can do during an attended transfer besides complete and cancel: swap (go over to the
 * customer while the target waits, and back) and three-way (customer, agent and target in one call).
 * Asterisk's attended transfer has feature codes for both (features.conf `[general]` `atxferswap`,
 * `atxferthreeway`); the plugin presses them for the agent. The digits are read from the agent's
 * channel each time (they may differ per channel), never assumed. Also here: how a cancel drops the
 * target of a three-way, where Asterisk's attended transfer (and so CancelAtxfer) is over.
 */
import type { Pbx } from '../asterisk/pbx.js'
import { type Transfer, isFinal } from '../domain/transfer.js'
import { FeatureNotConfiguredError, TransferStateError } from '../errors.js'

export type ConsultationControl = 'swap' | 'three_way'

/** The features.conf option of each control, and Asterisk's default digits (for the error's example). */
const FEATURES: Record<ConsultationControl, { option: string, example: string }> = {
  swap: { option: 'atxferswap', example: 'atxferswap => *4' },
  three_way: { option: 'atxferthreeway', example: 'atxferthreeway => *3' }
}

/** DTMF digits, as many as Asterisk keeps for a feature code (AST_FEATURE_MAX_LEN, 11 with its NUL). */
const FEATURE_DIGITS = /^[0-9A-D*#]{1,10}$/

/** The digits to press, from the channel's `FEATURE(...)` value; undefined when they are not usable. */
export function usableDigits (value: string): string | undefined {
  const digits = value.trim()
  return FEATURE_DIGITS.test(digits) ? digits : undefined
}

/** Reads the control's digits on the agent's channel and presses them for the agent. */
export async function pressControl (pbx: Pick<Pbx, 'getVariable' | 'pressDigits'>, agentChannel: string, control: ConsultationControl): Promise<void> {
  await pressFeature(pbx, agentChannel, FEATURES[control])
}

/**
 * Ends the consultation for a complete: the agent leaves, the customer stays with the target. With the
 * agent on the target's side (or in a three-way) by hanging the agent up, as the agent's phone would.
 * With the agent swapped to the customer, hanging up would take the customer's call down too (seen on
 * Asterisk 22: the customer was hung up in 2 of 4 tries): Asterisk's own complete digits
 * (`atxfercomplete`) are pressed instead, which hand the customer to the target and hang the agent up.
 */
export async function completeConsultation (pbx: Pick<Pbx, 'getVariable' | 'pressDigits' | 'hangup'>, transfer: Transfer): Promise<void> {
  const { agent } = transfer.channels
  if (transfer.status === 'three_way' || transfer.talkingTo !== 'customer') return await pbx.hangup(agent)
  await pressFeature(pbx, agent, { option: 'atxfercomplete', example: 'atxfercomplete => *2' })
}

async function pressFeature (pbx: Pick<Pbx, 'getVariable' | 'pressDigits'>, agentChannel: string, { option, example }: { option: string, example: string }): Promise<void> {
  const value = await pbx.getVariable(agentChannel, `FEATURE(${option})`)
  const digits = usableDigits(value)
  if (digits === undefined) throw new FeatureNotConfiguredError(option, agentChannel, value, example)
  await pbx.pressDigits(agentChannel, digits)
}

/**
 * When a swap or three-way asked through the API is over: the transfer shows it (whom the agent talks
 * to changed; the three-way state), or it left the consultation another way meanwhile (the target or
 * the customer hung up).
 */
export function controlSettled (control: ConsultationControl, before: Transfer, now: Transfer): boolean {
  if (isFinal(now.status)) return true
  if (control === 'three_way') return now.status !== before.status
  return now.talkingTo !== before.talkingTo || now.status !== before.status
}

/**
 * Ends the consultation for a cancel: CancelAtxfer while Asterisk's attended transfer runs; in a
 * three-way, where it is over, the target's leg is hung up (the customer stays with the agent).
 */
export async function cancelConsultation (pbx: Pick<Pbx, 'hangup' | 'cancelAttendedTransfer'>, transfer: Transfer): Promise<void> {
  const { agent, target } = transfer.channels
  if (transfer.status !== 'three_way') return await pbx.cancelAttendedTransfer(agent)
  if (target === undefined) throw new TransferStateError(transfer.id, 'in a three-way whose target leg is not known')
  await pbx.hangup(target)
}
