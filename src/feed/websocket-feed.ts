/**
 * `GET /events`: the event feed over WebSocket. Mounted in the routes context, after `requireIdentity`,
 * so the caller is authenticated (and `since` validated) by plain HTTP before the upgrade. Each socket
 * gets what it missed (`?since=<last id seen>`), then every new event its identity may see.
 */
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import websocket from '@fastify/websocket'
import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type, { type Static } from 'typebox'
import type { WebSocket } from 'ws'
import { identityOf } from '../authentication.js'
import { UpgradeRequiredError } from '../errors.js'
import type { Identity } from '../identity.js'
import type { EventLog } from '../domain/event-log.js'
import type { FeedEnvelope } from '../domain/feed-events.js'
import type { FeedObserver } from '../metrics/api-observer.js'
import { SHUTDOWN_CLOSE_CODE, TOO_MANY_SOCKETS_CLOSE_CODE, TOO_MANY_SOCKETS_CLOSE_REASON } from './close-codes.js'
import { FeedFanout } from './fanout.js'
import { serve, type Connection } from './feed-socket.js'
import { frameWriter, TurnBatch } from './frame-writer.js'
import { SocketCount } from './socket-count.js'

export const DEFAULT_MAX_SOCKETS_PER_IDENTITY = 10
export const DEFAULT_FLUSH_INTERVAL_MS = 5
/** How long a shutdown waits for clients to answer the close handshake before cutting their sockets. */
const SHUTDOWN_GRACE_MS = 1000
/**
 * Clients send nothing on this feed; a small limit keeps a client from making the server buffer much
 * (over it, ws closes the socket with 1009 before reading the rest).
 */
export const MAX_CLIENT_MESSAGE_BYTES = 4096

export interface EventFeedOptions {
  eventLog: EventLog
  /** Ping period; a client that has not answered the previous ping is disconnected. Default 30 s. */
  heartbeatIntervalMs?: number
  /** Unsent bytes a socket may hold before it is closed as a slow consumer. Default 1 MiB. */
  maxBufferedBytes?: number
  /** Open sockets one identity (extension) may hold; one more is closed with 4029. Default 10. */
  maxSocketsPerIdentity?: number
  /**
   * The least time between the starts of two rounds of writing the queued messages to the sockets
   * (see frame-writer.ts): a quiet feed is written at once, a busy one in batches at most this often.
   * Default 5 ms.
   */
  flushIntervalMs?: number
  observer?: FeedObserver
  /** The instance's link to the shared state: each change is told to every socket (`feed:store`). */
  store?: FeedStoreEvents
  /** Whether that link is up now (a socket opened while it is down is told at once). */
  storeAvailable?: () => boolean
}

/** The shared state's link events, as the feed listens to them. */
export interface FeedStoreEvents {
  on: (event: 'connection', listener: (connected: boolean) => void) => unknown
  off: (event: 'connection', listener: (connected: boolean) => void) => unknown
}

/**
 * A string of digits rather than an integer: the routes context validates with TypeBox's checker, which
 * does not coerce query strings, while the host's Ajv would. This schema means the same under both.
 * Fifteen digits at most keep the number exact.
 */
export const EventsQuery = Type.Object({
  since: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'The id of the last event received' }))
})

const IGNORED: FeedObserver = { opened () {}, closed () {}, delivered () {}, slowConsumer () {} }

export const eventFeedRoutes: FastifyPluginAsyncTypebox<EventFeedOptions> = async (fastify, options) => {
  const { eventLog, heartbeatIntervalMs = 30_000, maxBufferedBytes = 1024 * 1024, maxSocketsPerIdentity = DEFAULT_MAX_SOCKETS_PER_IDENTITY, flushIntervalMs = DEFAULT_FLUSH_INTERVAL_MS, observer = IGNORED, store, storeAvailable } = options
  checkOptions(eventLog, heartbeatIntervalMs, maxBufferedBytes, maxSocketsPerIdentity, flushIntervalMs)
  // An upgrade request refused before the upgrade (401, 400) was answered on its raw socket, which no
  // HTTP timeout watches any more: close it, or a client that ignores the answer keeps it forever.
  // @fastify/websocket does so only for requests that passed its own onRequest hook, which the
  // authentication hook, registered before it, stops.
  fastify.addHook('onResponse', async (request) => {
    if (cameAsUpgrade(request.raw)) request.raw.socket.destroy()
  })
  const connections = new Set<Connection>()
  const fanout = new FeedFanout(eventLog)
  const batch = new TurnBatch(flushIntervalMs)
  fastify.addHook('preClose', async () => { await closeAll(connections) })
  if (store !== undefined) {
    const tell = (connected: boolean): void => {
      const notice = JSON.stringify(storeNotice(eventLog.lastId, connected))
      for (const { socket } of connections) if (socket.readyState === socket.OPEN) socket.send(notice)
    }
    store.on('connection', tell)
    fastify.addHook('onClose', async () => { store.off('connection', tell) })
  }
  fastify.addHook('onClose', async () => {
    fanout.close()
    for (const connection of connections) {
      connection.release()
      connection.socket.terminate()
    }
  })

  // Registered after the preClose hook above, so ours runs first and clients get the 1001 close code.
  // A host that already serves WebSockets keeps its own server; registering a second one would add a
  // second `upgrade` listener to the same HTTP server.
  if (!fastify.hasPlugin('@fastify/websocket')) {
    await fastify.register(websocket, { options: { maxPayload: MAX_CLIENT_MESSAGE_BYTES }, errorHandler: onSocketError })
  }

  const sockets = new SocketCount(maxSocketsPerIdentity)
  fastify.route({
    method: 'GET',
    url: '/events',
    schema: { operationId: 'streamEvents', summary: 'Live call and transfer events (WebSocket)', hide: true, querystring: EventsQuery },
    // A plain GET (no upgrade) gets an answer in the plugin's shape rather than an empty 404.
    handler: async () => { throw new UpgradeRequiredError() },
    wsHandler: (socket, request) => {
      const identity = identityOf(request)
      if (!sockets.take(identity.extension)) {
        request.log.info({ extension: identity.extension, maxSocketsPerIdentity }, 'event feed socket refused: too many for this identity')
        socket.close(TOO_MANY_SOCKETS_CLOSE_CODE, TOO_MANY_SOCKETS_CLOSE_REASON)
        return
      }
      socket.once('close', () => { sockets.release(identity.extension) })
      // The TCP connection ws writes to: Node hands the upgraded request's own socket to ws.
      openFeed(socket, request.raw.socket as Socket | undefined, identity, (request.query as Static<typeof EventsQuery>).since, request.log)
    }
  })

  const openFeed = (socket: WebSocket, tcp: Socket | undefined, identity: Identity, since: string | undefined, log: FastifyBaseLogger): void => {
    const connection = serve(socket, {
      writer: frameWriter(socket, tcp, batch),
      identity,
      since: since === undefined ? undefined : Number(since),
      eventLog,
      fanout,
      heartbeatIntervalMs,
      maxBufferedBytes,
      log,
      observer
    })
    connections.add(connection)
    observer.opened()
    if (storeAvailable?.() === false) socket.send(JSON.stringify(storeNotice(eventLog.lastId, false)))
    socket.once('close', () => {
      connections.delete(connection)
      observer.closed()
    })
  }
}

/**
 * A frame ws could not accept (over maxPayload: 1009, invalid UTF-8: 1007, a protocol error: 1002):
 * ws has already started closing that socket with the code, which the client should see, so it is left
 * to finish; only a socket still open (an error of our own handler) is cut. Only this socket is
 * concerned, and it is the client's fault, not the server's: logged at info.
 */
function onSocketError (this: unknown, error: Error, socket: WebSocket, request: FastifyRequest): void {
  request.log.info({ reason: error.message }, 'event feed socket error; closing it')
  if (socket.readyState === socket.OPEN) socket.terminate()
}

/** Node sets `upgrade` on requests it hands to the server's `upgrade` listeners (not in its typings). */
function cameAsUpgrade (request: IncomingMessage): boolean {
  return (request as IncomingMessage & { upgrade?: boolean }).upgrade === true
}

function checkOptions (eventLog: EventLog | undefined, heartbeatIntervalMs: number, maxBufferedBytes: number, maxSocketsPerIdentity: number, flushIntervalMs: number): void {
  if (eventLog === undefined) throw new TypeError('eventFeedRoutes: the eventLog option is required')
  if (!Number.isFinite(heartbeatIntervalMs) || heartbeatIntervalMs <= 0) {
    throw new RangeError(`eventFeedRoutes: heartbeatIntervalMs must be a positive number, got ${String(heartbeatIntervalMs)}`)
  }
  if (!Number.isFinite(maxBufferedBytes) || maxBufferedBytes < 0) {
    throw new RangeError(`eventFeedRoutes: maxBufferedBytes must be a non-negative number, got ${String(maxBufferedBytes)}`)
  }
  if (!Number.isSafeInteger(maxSocketsPerIdentity) || maxSocketsPerIdentity < 1) {
    throw new RangeError(`eventFeedRoutes: maxSocketsPerIdentity must be a positive integer, got ${String(maxSocketsPerIdentity)}`)
  }
  if (!Number.isFinite(flushIntervalMs) || flushIntervalMs < 0) {
    throw new RangeError(`eventFeedRoutes: flushIntervalMs must be a non-negative number, got ${String(flushIntervalMs)}`)
  }
}

function storeNotice (lastId: number, connected: boolean): FeedEnvelope<'feed:store'> {
  return { id: lastId, type: 'feed:store', timestamp: new Date().toISOString(), data: { connected } }
}

async function closeAll (connections: Set<Connection>): Promise<void> {
  const closed = [...connections].map(async ({ socket, release }) => {
    release()
    if (socket.readyState === socket.CLOSED) return
    const gone = new Promise<void>((resolve) => socket.once('close', () => resolve()))
    socket.close(SHUTDOWN_CLOSE_CODE, 'server shutting down')
    let timer: NodeJS.Timeout | undefined
    const grace = new Promise<void>((resolve) => { timer = setTimeout(resolve, SHUTDOWN_GRACE_MS) })
    await Promise.race([gone, grace])
    clearTimeout(timer)
    socket.terminate()
  })
  await Promise.all(closed)
}
