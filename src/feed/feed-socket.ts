/**
 * One socket of the event feed, from the upgrade to its close: what it missed first (a gap notice, the
 * backlog) or a hello, then every new event its identity may see, as fast as the client reads (a slow
 * consumer is closed), with a heartbeat that cuts a client that stopped answering.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { WebSocket } from 'ws'
import type { Backlog, EventLog, StoredEvent } from '../domain/event-log.js'
import type { FeedEnvelope } from '../domain/feed-events.js'
import { canSee } from '../domain/visibility.js'
import type { Identity } from '../identity.js'
import type { FeedObserver } from '../metrics/api-observer.js'
import { CLIENT_MESSAGE_CLOSE_CODE, SLOW_CONSUMER_CLOSE_CODE, SLOW_CONSUMER_CLOSE_REASON } from './close-codes.js'
import type { FeedFanout } from './fanout.js'
import { frameOf, textFrame, type FrameWriter } from './frame-writer.js'

/** One open socket, as the plugin tracks it for shutdown. */
export interface Connection {
  socket: WebSocket
  /** Stops the heartbeat and the subscription; idempotent. */
  release: () => void
}

export interface ServeOptions {
  /** Writes pre-framed messages in batches; undefined: each message through ws (see frame-writer.ts). */
  writer: FrameWriter | undefined
  identity: Identity
  since: number | undefined
  eventLog: EventLog
  fanout: FeedFanout
  heartbeatIntervalMs: number
  maxBufferedBytes: number
  log: FastifyBaseLogger
  observer: FeedObserver
}

/** Replays the backlog, then streams live events, to one socket until it closes. */
export function serve (socket: WebSocket, { writer, identity, since, eventLog, fanout, heartbeatIntervalMs, maxBufferedBytes, log, observer }: ServeOptions): Connection {
  log.debug({ extension: identity.extension, role: identity.role, since }, 'event feed client connected')
  const sender = createSender(socket, writer, maxBufferedBytes, observer.delivered, () => {
    log.warn({ extension: identity.extension, bufferedBytes: socket.bufferedAmount, maxBufferedBytes }, 'closing event feed client: slow consumer')
    observer.slowConsumer()
    // The heartbeat goes on: a client that stopped reading does not answer pings either, and is cut
    // then, with what it still holds, if the close handshake has not finished by itself.
    stopEvents()
  })

  // The id of the newest event already handled (sent, or not visible to this client): the live stream
  // and the replay cannot deliver an event twice.
  let handledId = since === undefined ? eventLog.lastId : 0
  const deliver = (event: StoredEvent): void => {
    if (event.envelope.id <= handledId) return
    handledId = event.envelope.id
    if (canSee(identity, event.audience)) sender.sendEvent(event)
  }
  // Subscribed before the backlog is read, so no event falls between the two. The fanout hands over
  // only what this identity may see; the backlog is filtered here.
  const stopEvents = fanout.subscribe(identity, deliver)
  if (since !== undefined) sender.replay(() => { replay(eventLog.since(since), eventLog.lastId, sender.send, deliver) })
  else sender.send(JSON.stringify(hello(handledId)))
  // The feed is one-way: a message from the client (any size under maxPayload) is a broken client.
  socket.on('message', () => {
    log.info({ extension: identity.extension }, 'event feed client sent a message; closing its socket')
    socket.close(CLIENT_MESSAGE_CLOSE_CODE, 'the event feed accepts no messages')
  })
  const stopHeartbeat = startHeartbeat(socket, heartbeatIntervalMs, () => {
    log.debug({ extension: identity.extension }, 'event feed client did not answer the ping; disconnecting')
  })

  const release = (): void => {
    stopEvents()
    stopHeartbeat()
  }
  socket.once('close', (code: number, reason: Buffer) => {
    release()
    log.debug({ extension: identity.extension, code, reason: reason.toString() }, 'event feed client disconnected')
  })
  return { socket, release }
}

/** Where a socket opened without `since` starts: a client that sees nothing else can still resume from it. */
function hello (lastId: number): FeedEnvelope<'feed:hello'> {
  return { id: lastId, type: 'feed:hello', timestamp: new Date().toISOString(), data: { lastId } }
}

/** A gap notice first (the client must refetch state over HTTP), then the events still buffered. */
function replay (backlog: Backlog, lastId: number, send: (json: string) => void, deliver: (event: StoredEvent) => void): void {
  if (backlog.gap !== undefined) {
    // Per client, so it is not logged; it carries the current last id, from which the client resumes.
    const notice: FeedEnvelope<'feed:gap'> = { id: lastId, type: 'feed:gap', timestamp: new Date().toISOString(), data: backlog.gap }
    send(JSON.stringify(notice))
  }
  for (const event of backlog.events) deliver(event)
}

interface Sender {
  /** A message of this socket's own (hello, gap notice). */
  send: (json: string) => void
  /** A logged event: framed once for every socket that gets it. */
  sendEvent: (event: StoredEvent) => void
  /** Runs `sendBacklog`, whose messages are exempt from the limit until the socket has drained them. */
  replay: (sendBacklog: () => void) => void
}

/**
 * Sends while the client keeps up: once more than `maxBufferedBytes` wait in the socket, the client is
 * closed with SLOW_CONSUMER_CLOSE_CODE instead of the server buffering without end. A replay is bounded
 * by the log's capacity and may be larger than the limit: a client catching up is not a slow consumer,
 * so the replayed bytes are allowed on top of the limit until the socket first gets back under it.
 * With a `writer`, the messages of the current event-loop turn are held back as one batch (at most
 * FLUSH_BYTES): those are not the client's backlog, so they do not count towards the limit.
 */
function createSender (socket: WebSocket, writer: FrameWriter | undefined, maxBufferedBytes: number, onSent: () => void, onSlowConsumer: () => void): Sender {
  let replaying = false
  let replayAllowance = 0
  /** Whether one more message of `bytes` may be sent; closes the socket of a slow consumer. */
  const mayAdd = (bytes: number): boolean => {
    if (socket.readyState !== socket.OPEN) return false
    const unsent = socket.bufferedAmount - (writer?.batched ?? 0)
    if (replaying) {
      replayAllowance += bytes
    } else if (unsent <= maxBufferedBytes) {
      replayAllowance = 0
    } else if (unsent > maxBufferedBytes + replayAllowance) {
      // Checked before adding more: a socket holds at most the limit (plus its replay) and one message.
      onSlowConsumer()
      socket.close(SLOW_CONSUMER_CLOSE_CODE, SLOW_CONSUMER_CLOSE_REASON)
      return false
    }
    return true
  }
  const send = (json: string): void => {
    if (writer === undefined) {
      if (!mayAdd(Buffer.byteLength(json))) return
      socket.send(json)
    } else {
      const frame = textFrame(json)
      if (!mayAdd(frame.length)) return
      writer.write(frame)
    }
    onSent()
  }
  const sendEvent = (event: StoredEvent): void => {
    if (writer === undefined) {
      send(event.json)
      return
    }
    const frame = frameOf(event)
    if (!mayAdd(frame.length)) return
    writer.write(frame)
    onSent()
  }
  const replay = (sendBacklog: () => void): void => {
    replaying = true
    try {
      sendBacklog()
    } finally {
      replaying = false
    }
  }
  return { send, sendEvent, replay }
}

/**
 * Pings every `intervalMs`; a socket that did not answer the previous ping is gone (a dead network
 * path never closes by itself) and is terminated. Returns the function that stops it.
 */
function startHeartbeat (socket: WebSocket, intervalMs: number, onDead: () => void): () => void {
  let answered = true
  const onPong = (): void => { answered = true }
  socket.on('pong', onPong)
  const timer = setInterval(() => {
    if (!answered) {
      onDead()
      socket.terminate()
      return
    }
    answered = false
    socket.ping()
  }, intervalMs)
  return () => {
    clearInterval(timer)
    socket.off('pong', onPong)
  }
}

/**
 * Closes every socket with "going away" and waits for the handshakes, but no longer than a short
 * grace: a client that stopped reading would otherwise hold the server's shutdown for ws's 30 s.
 */
