/**
 * The queue_log line a transfer of a queue call adds, in the formats Asterisk itself writes (app_queue),
 * so that queue reports (QueueMetrics, FreePBX's) count it as a transfer:
 *
 *   BLINDTRANSFER     exten|context|holdtime|calltime|origposition
 *   ATTENDEDTRANSFER  BRIDGE|bridge uniqueid|holdtime|calltime|origposition
 *
 * with the caller's uniqueid as callid, the queue, and the member's name (its interface unless named)
 * as agent, as in the call's ENTERQUEUE and CONNECT lines. Asterisk writes these lines only for a
 * transfer made in the bridge between the caller and the member's channel: a feature key or an Atxfer
 * on a member dialed on the agent's own channel. It writes none for an AMI Redirect of the caller, nor
 * for any transfer behind a member dialed through a Local channel (the agent's channel is in another
 * bridge). The plugin writes the line in those cases only, so a transfer is never counted twice. Pure.
 */
import type { QueueCall } from '../calls/queue-calls.js'
import type { Transfer } from '../domain/transfer.js'

/** One line, as AMI QueueLog takes it (Asterisk adds the time; `|` in `message` separate fields). */
export interface QueueLogLine {
  queue: string
  event: 'BLINDTRANSFER' | 'ATTENDEDTRANSFER'
  /** The callid: the caller's uniqueid. */
  uniqueId: string
  /** The agent column: the member's name. */
  agent: string
  message: string
}

export interface TransferMoment {
  record: Pick<Transfer, 'type' | 'origin' | 'channels'>
  /** Where a blind transfer sent the caller. */
  target: { exten: string, context: string }
  /** Attended: the bridge the caller is in with the target now; '' when not known. */
  bridgeId: string
  /** When the caller left the agent (ms since the epoch). */
  at: number
}

/** Whether Asterisk writes its own line for this transfer (see the top of this file). */
export function asteriskLogsItself (call: QueueCall, record: TransferMoment['record']): boolean {
  const onMemberChannel = record.channels.agent === call.memberChannel
  // The plugin's blind transfer is an AMI Redirect of the caller, which app_queue never sees as one.
  const madeInTheBridge = record.type === 'attended' || record.origin === 'phone'
  return onMemberChannel && madeInTheBridge
}

/** Whole seconds from `from` to `to`, as app_queue counts them (never negative). */
export function secondsBetween (from: number, to: number): number {
  return Math.max(0, Math.floor((to - from) / 1000))
}

/** The line to write for a transfer of `call`, or undefined when Asterisk writes its own. */
export function queueLogLine (call: QueueCall, moment: TransferMoment): QueueLogLine | undefined {
  if (asteriskLogsItself(call, moment.record)) return undefined
  const times = [call.holdTimeSeconds, secondsBetween(call.connectedAt, moment.at), call.position]
  const blind = moment.record.type === 'blind'
  const head = blind ? [moment.target.exten, moment.target.context] : ['BRIDGE', moment.bridgeId]
  return {
    queue: call.queue,
    event: blind ? 'BLINDTRANSFER' : 'ATTENDEDTRANSFER',
    uniqueId: call.uniqueId,
    agent: call.memberName,
    message: [...head, ...times].join('|')
  }
}
