/**
 * Queue reports count transfers (option `queueLog`): follows which callers came through a queue on one
 * server (calls/queue-calls.ts) and, when a transfer of such a caller is done (a blind transfer's
 * Redirect accepted, an attended one completed), writes the queue_log line Asterisk would have written
 * (queue-log-lines.ts). It is told of that moment by the engine's `entering` hook, which runs only on
 * the instance that follows the transfer, once per state: one line per transfer across instances.
 */
import type { PbxEvent } from '../asterisk/ami-events.js'
import type { Pbx } from '../asterisk/pbx.js'
import { QueueCalls } from '../calls/queue-calls.js'
import type { DialTarget } from '../domain/destination.js'
import type { Transfer } from '../domain/transfer.js'
import type { Clock } from '../support/clock.js'
import type { Logger } from '../support/logger.js'
import { queueLogLine } from './queue-log-lines.js'

export interface QueueReportParts {
  pbx: Pick<Pbx, 'queueLog'>
  /** The bridge a channel is in now, from the call monitor's memory; undefined when not known. */
  bridgeOf: (channel: string) => string | undefined
  clock: Clock
  logger: Logger
}

/** The state in which the caller has left the agent for good: where Asterisk writes its line. */
function transferDone (record: Transfer): boolean {
  return record.type === 'blind' ? record.status === 'redirected' : record.status === 'completed'
}

export class QueueReports {
  readonly #calls = new QueueCalls()
  readonly #parts: QueueReportParts

  constructor (parts: QueueReportParts) {
    this.#parts = parts
  }

  observe (event: PbxEvent): void {
    this.#calls.apply(event, this.#parts.clock.now())
  }

  /** A transfer of this server is about to enter `record`'s state. */
  entering (record: Transfer, target: DialTarget): void {
    if (!transferDone(record)) return
    const { peer } = record.channels
    const call = this.#calls.take(peer)
    if (call === undefined) return
    const line = queueLogLine(call, {
      record,
      target,
      bridgeId: record.type === 'attended' ? this.#parts.bridgeOf(peer) ?? '' : '',
      at: this.#parts.clock.now()
    })
    if (line === undefined) return
    this.#parts.pbx.queueLog(line).catch((error: unknown) => {
      this.#parts.logger.warn({ err: error, transferId: record.id, queue: line.queue }, 'the transfer\'s queue_log line was not written')
    })
  }

  /** Callers followed now (a bound on memory is kept in QueueCalls). */
  get size (): number {
    return this.#calls.size
  }
}
