/**
 * Writing the feed's messages for many sockets at once, without changing what a client receives (one
 * JSON envelope per WebSocket text message).
 *
 * Two costs dominated a feed with many sockets, measured with a profiler (bench/feed-fanout.ts):
 * - one `writev` system call per message per socket (ws corks and uncorks around every message); on
 *   loopback and on busy hosts a call costs 10 to 20 µs, and an `agent:status` goes to every socket;
 * - ws framing the same text again for every socket (encoding it to UTF-8, building its header).
 * Here a message is framed once (`frameOf`: a server frame is not masked, so it is the same bytes for
 * every socket) and written straight to each socket's TCP connection, which is corked on its first
 * write of an event-loop turn and uncorked once per turn (`TurnBatch`): one system call per socket per
 * turn, however many messages it got. A busier server makes longer turns and so larger batches: the
 * cost follows the sockets touched, not the messages.
 */
import type { Socket } from 'node:net'
import type { WebSocket } from 'ws'

/** A socket's batch is written out early once this much is waiting, so the kernel gets it in steps. */
export const FLUSH_BYTES = 64 * 1024

/** FIN set, opcode 1 (text). */
const FIN_TEXT = 0x81

/** One whole unmasked text frame (RFC 6455 section 5.2): the bytes a server writes for `text`. */
export function textFrame (text: string): Buffer {
  const length = Buffer.byteLength(text)
  const headerLength = length < 126 ? 2 : length < 65_536 ? 4 : 10
  const frame = Buffer.allocUnsafe(headerLength + length)
  frame[0] = FIN_TEXT
  if (headerLength === 2) {
    frame[1] = length
  } else if (headerLength === 4) {
    frame[1] = 126
    frame.writeUInt16BE(length, 2)
  } else {
    frame[1] = 127
    frame.writeBigUInt64BE(BigInt(length), 2)
  }
  frame.write(text, headerLength, 'utf8')
  return frame
}

/**
 * The frame of each logged event, made on its first delivery and kept as long as the event is: the
 * event log's ring buffer drops both together.
 */
const frames = new WeakMap<object, Buffer>()

export function frameOf (event: { readonly json: string }): Buffer {
  let frame = frames.get(event)
  if (frame === undefined) {
    frame = textFrame(event.json)
    frames.set(event, frame)
  }
  return frame
}

/**
 * Runs the flushes asked for together: at the end of the current turn of the event loop, or, when the
 * previous round started less than `minIntervalMs` ago, that long after it. A quiet feed is written at
 * once; a busy one (events arriving in many small turns) is written at most every `minIntervalMs`, so
 * its system calls are bounded by the sockets times the rounds per second, not by the messages.
 *
 * A round runs in slices of at most `sliceMs`, yielding to the event loop between them, and takes the
 * sockets in the order they were first written to. Writing 1,000 sockets costs 10 to 15 ms of system
 * calls (bench/feed-fanout.ts); in one block, that held every other request (a transfer, an AMI event,
 * the next event to fan out) for as long, and an event appended after the block had to wait for the
 * whole next one. In slices, a socket written to while the round is under way joins its end: an event
 * reaches its last socket within about one round of being appended, and nothing else waits more than a
 * slice.
 */
export class TurnBatch {
  readonly #minIntervalMs: number
  readonly #sliceMs: number
  /** Flushes waiting; those before `#next` already ran in the current round. */
  #pending: Array<() => void> = []
  #next = 0
  #scheduled = false
  #lastRoundAt = Number.NEGATIVE_INFINITY

  constructor (minIntervalMs = 0, sliceMs = 2) {
    this.#minIntervalMs = minIntervalMs
    this.#sliceMs = sliceMs
  }

  later (flush: () => void): void {
    this.#pending.push(flush)
    if (this.#scheduled) return
    this.#scheduled = true
    const wait = this.#lastRoundAt + this.#minIntervalMs - performance.now()
    if (wait <= 0) setImmediate(this.#startRound)
    else setTimeout(this.#startRound, wait)
  }

  readonly #startRound = (): void => {
    this.#lastRoundAt = performance.now()
    this.#runSlice()
  }

  readonly #runSlice = (): void => {
    const endAt = performance.now() + this.#sliceMs
    const pending = this.#pending
    while (this.#next < pending.length) {
      pending[this.#next++]?.()
      if (this.#next < pending.length && performance.now() >= endAt) {
        // A feed that stays busy never empties the list: drop what already ran, so it stays bounded.
        if (this.#next >= pending.length / 2) {
          this.#pending = pending.slice(this.#next)
          this.#next = 0
        }
        setImmediate(this.#runSlice)
        return
      }
    }
    this.#pending = []
    this.#next = 0
    this.#scheduled = false
  }
}

export interface FrameWriter {
  /** Writes a frame after everything written before it; batched until the end of the turn. */
  write: (frame: Buffer) => void
  /** Bytes written this turn and not yet handed to the kernel: the batch, not a backlog. */
  readonly batched: number
}

/**
 * Frames written straight to `connection` (the TCP socket under the WebSocket `socket`), in order with
 * what ws itself writes (pings, the close frame): both write to the same stream. Only when ws frames
 * nothing differently: no extension (permessage-deflate would compress, and ws would queue its frames
 * while it does). Returns undefined otherwise, and the caller sends through ws.
 */
export function frameWriter (socket: WebSocket, connection: Socket | undefined, batch: TurnBatch): FrameWriter | undefined {
  if (connection === undefined || socket.extensions !== '') return undefined
  let corked = false
  let batched = 0
  const flush = (): void => {
    if (!corked) return
    corked = false
    batched = 0
    connection.uncork()
  }
  return {
    write (frame: Buffer): void {
      if (!corked) {
        corked = true
        connection.cork()
        batch.later(flush)
      }
      connection.write(frame)
      batched += frame.length
      if (batched >= FLUSH_BYTES) flush()
    },
    get batched (): number {
      return batched
    }
  }
}
