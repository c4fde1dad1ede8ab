/**
 * Requests between instances: a complete or cancel that reaches an instance which does not own the
 * transfer is sent to its owner, which acts (it alone follows the transfer's calls) and answers. Over
 * Redis pub/sub: each instance listens on `inbox:<instance id>`; answers come back to the asker's inbox.
 * A request nobody receives (its owner is gone) fails at once with `OwnerGoneError`, so the asker can
 * take the transfer over instead of waiting.
 *
 * On a Redis Cluster, PUBLISH counts only the subscribers of the node it reached (the message itself
 * goes to every node): "nobody received it" would be said of a live owner subscribed elsewhere. There
 * the inboxes are sharded channels (SSUBSCRIBE/SPUBLISH, Redis 7): each lives on the master of its
 * slot, where both its subscriber and every publisher go, so the count is the truth.
 */
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Cluster } from 'ioredis'
import { silentLogger, type Logger } from '../support/logger.js'
import type { Identity } from '../identity.js'
import type { RedisClient } from './redis-connections.js'
import { RedisKeys } from './redis-keys.js'

export interface RemoteCommand {
  action: string
  transferId: string
  identity?: Identity
}

/** An error as it crosses instances: what the route needs to answer with it. */
export interface RemoteError {
  message: string
  code?: string
  statusCode?: number
  transferId?: string
}

type Message =
  | { kind: 'request', requestId: string, replyTo: string, command: RemoteCommand }
  | { kind: 'reply', requestId: string, result?: unknown, error?: RemoteError }

/** How long an unreceived message is sent again: a cluster's subscriptions move within a slot-map refresh (1 s). */
const RESUBSCRIBE_MS = 2000

export class OwnerGoneError extends Error {
  override name = 'OwnerGoneError'
}

export type CommandHandler = (command: RemoteCommand) => Promise<unknown>

export class CommandBus {
  readonly #publisher: RedisClient
  readonly #subscriber: RedisClient
  readonly #keys: RedisKeys
  readonly #instanceId: string
  readonly #log: Logger
  readonly #pending = new Map<string, { resolve: (value: unknown) => void, reject: (error: Error) => void, timer: NodeJS.Timeout }>()
  #handler: CommandHandler | undefined
  readonly #sharded: boolean

  /**
   * True shortly after a failover or a reconnection: the other instances' subscriptions may not have
   * moved to the new master yet, so nobody receiving a message does not yet mean that nobody is there.
   */
  readonly #settling: () => boolean

  constructor (options: { publisher: RedisClient, subscriber: RedisClient, prefix: string, instanceId: string, logger?: Logger, settling?: () => boolean }) {
    this.#publisher = options.publisher
    this.#subscriber = options.subscriber
    this.#keys = new RedisKeys(options.prefix)
    this.#instanceId = options.instanceId
    this.#log = options.logger ?? silentLogger
    this.#settling = options.settling ?? (() => false)
    this.#sharded = this.#subscriber instanceof Cluster
    this.#subscriber.on(this.#sharded ? 'smessage' : 'message', (channel: string, text: string) => { this.#receive(channel, text) })
  }

  async start (handler: CommandHandler): Promise<void> {
    this.#handler = handler
    // Queued by the subscriber's connection when Redis is down; ioredis subscribes again on reconnect.
    const inbox = this.#inbox(this.#instanceId)
    const subscribed = this.#sharded ? this.#subscriber.ssubscribe(inbox) : this.#subscriber.subscribe(inbox)
    await subscribed.catch((error: unknown) => {
      this.#log.warn({ err: error }, 'not listening to other instances yet; retrying with the Redis connection')
    })
  }

  /** Sends `command` to `owner` and resolves with its answer; rejects with its error, or on timeout. */
  async send (owner: string, command: RemoteCommand, timeoutMs: number): Promise<unknown> {
    const requestId = randomUUID()
    const answer = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(requestId)
        reject(Object.assign(new Error(`instance ${owner} did not answer ${command.action} of transfer ${command.transferId} within ${timeoutMs} ms`), { code: 'XFER_ASTERISK_TIMEOUT', statusCode: 504 }))
      }, timeoutMs)
      this.#pending.set(requestId, { resolve, reject, timer })
    })
    const message: Message = { kind: 'request', requestId, replyTo: this.#instanceId, command }
    const receivers = await this.#deliver(this.#inbox(owner), JSON.stringify(message), this.#settling()).catch((error: unknown) => {
      this.#settle(requestId, undefined, error as Error)
      return -1
    })
    if (receivers === 0) this.#settle(requestId, undefined, new OwnerGoneError(`instance ${owner} is gone`))
    return await answer
  }

  /**
   * Publishes `text`; when nobody receives it and `patient`, publishes it again every 100 ms for up to
   * 2 s, until someone does (a message nobody received was seen by nobody: sending it again delivers it
   * once). Resolves with the receivers of the last try.
   */
  async #deliver (channel: string, text: string, patient: boolean): Promise<number> {
    const deadline = Date.now() + RESUBSCRIBE_MS
    for (;;) {
      const receivers = await this.#publish(channel, text)
      if (receivers > 0 || !patient || Date.now() >= deadline) return receivers
      await sleep(100)
    }
  }

  stop (): void {
    for (const [requestId] of this.#pending) this.#settle(requestId, undefined, new Error('shutting down'))
    this.#handler = undefined
  }

  async #publish (channel: string, text: string): Promise<number> {
    return this.#sharded ? Number(await this.#publisher.spublish(channel, text)) : await this.#publisher.publish(channel, text)
  }

  #inbox (instanceId: string): string {
    return this.#keys.inbox(instanceId)
  }

  #receive (channel: string, text: string): void {
    if (channel !== this.#inbox(this.#instanceId)) return
    let message: Message
    try {
      message = JSON.parse(text) as Message
    } catch {
      return
    }
    if (message.kind === 'reply') {
      const error = message.error === undefined ? undefined : Object.assign(new Error(message.error.message), message.error)
      this.#settle(message.requestId, message.result, error)
      return
    }
    const handler = this.#handler
    if (handler === undefined) return
    // The asker is waiting for this answer: if its inbox has nobody yet (its subscription moving to a
    // new master after a failover), the answer is sent again until it is received, or the asker would
    // wait for its timeout although the action was done.
    const reply = (body: Omit<Extract<Message, { kind: 'reply' }>, 'kind' | 'requestId'>): void => {
      const answer: Message = { kind: 'reply', requestId: message.requestId, ...body }
      this.#deliver(this.#inbox(message.replyTo), JSON.stringify(answer), true).then((receivers) => {
        if (receivers === 0) this.#log.warn({ to: message.replyTo }, 'an answer to another instance was received by nobody')
      }, (error: unknown) => {
        this.#log.warn({ err: error }, 'an answer to another instance could not be sent')
      })
    }
    handler(message.command).then((result) => { reply({ result }) }, (error: unknown) => {
      const { message: text, code, statusCode, transferId } = error as Error & RemoteError
      reply({ error: { message: text, ...(code === undefined ? {} : { code }), ...(statusCode === undefined ? {} : { statusCode }), ...(typeof transferId === 'string' ? { transferId } : {}) } })
    })
  }

  #settle (requestId: string, result: unknown, error: Error | undefined): void {
    const pending = this.#pending.get(requestId)
    if (pending === undefined) return
    this.#pending.delete(requestId)
    clearTimeout(pending.timer)
    if (error === undefined) pending.resolve(result)
    else pending.reject(error)
  }
}
