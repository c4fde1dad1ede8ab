/**
 * Which callers came through a queue, from the queue's own events: where each joined (QueueCallerJoin)
 * and which member answered it, after how long (AgentConnect), by the caller's channel. What a queue
 * report needs to count a transfer of that call (transfers/queue-log-lines.ts). Pure: fed events and
 * the time they arrived, no I/O; a caller is forgotten when its channel hangs up.
 */
import type { PbxEvent } from '../asterisk/ami-events.js'

/** A caller a queue member answered. */
export interface QueueCall {
  queue: string
  /** The caller's uniqueid: the callid of its queue_log lines. */
  uniqueId: string
  /** Where the caller joined (1 is the head); 0 when its joining was not seen. */
  position: number
  /** What queue_log calls the agent: the member's name, its interface unless named. */
  memberName: string
  memberInterface: string
  /** The channel the queue dialed the member on: the agent's own, or a Local half. */
  memberChannel: string
  holdTimeSeconds: number
  /** When the member answered (ms since the epoch, as this process saw the event). */
  connectedAt: number
}

interface Joined {
  queue: string
  position: number
}

/** Callers remembered at most: a bound on memory if hangups are missed (AMI down); the oldest go first. */
const MAX_CALLERS = 50_000

export class QueueCalls {
  /** By caller channel: where it waits now. */
  readonly #joined = new Map<string, Joined>()
  /** By caller channel: its last answer by a queue member, until taken or its hangup. */
  readonly #connected = new Map<string, QueueCall>()

  /** Applies an event that arrived at `now`; events of other kinds are ignored. */
  apply (event: PbxEvent, now: number): void {
    switch (event.type) {
      case 'queueCallerJoin':
        remember(this.#joined, event.channel, { queue: event.queue, position: event.position })
        return
      case 'agentConnect': {
        const joined = this.#joined.get(event.channel)
        this.#joined.delete(event.channel)
        remember(this.#connected, event.channel, {
          queue: event.queue,
          uniqueId: event.uniqueId,
          position: joined?.queue === event.queue ? joined.position : 0,
          memberName: event.memberName,
          memberInterface: event.memberInterface,
          memberChannel: event.memberChannel,
          holdTimeSeconds: event.holdTimeSeconds,
          connectedAt: now
        })
        return
      }
      case 'hangup':
        this.#joined.delete(event.channel)
        this.#connected.delete(event.channel)
    }
  }

  /** The queue call `channel` is in now (the caller's channel), if a member answered it. */
  connectedOn (channel: string): QueueCall | undefined {
    return this.#connected.get(channel)
  }

  /**
   * Takes the queue call off `channel`: its transfer was counted, and a later transfer of the same
   * caller (by the target, say) is no longer the queue's call.
   */
  take (channel: string): QueueCall | undefined {
    const call = this.#connected.get(channel)
    this.#connected.delete(channel)
    return call
  }

  get size (): number {
    return this.#joined.size + this.#connected.size
  }
}

function remember<T> (map: Map<string, T>, key: string, value: T): void {
  // Set again at the end: insertion order is then the order of last use, and the first key the oldest.
  map.delete(key)
  map.set(key, value)
  if (map.size > MAX_CALLERS) map.delete(map.keys().next().value as string)
}
