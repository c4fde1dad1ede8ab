/**
 * An EventEmitter whose listeners cannot hurt the emitter or each other. Node's own `emit` stops at the
 * first listener that throws and throws into the emitter: for the Asterisk adapters that is the socket
 * callback of `asterisk-manager`, where the exception would either crash the process or leave the
 * other listeners (call monitor, agent states, transfers) without the event and out of step with the PBX.
 * Here every listener gets every event: one that throws is reported with the event, and one that returns
 * a promise that rejects is reported too, instead of becoming an unhandled rejection.
 */
import { EventEmitter } from 'node:events'
import { silentLogger, type Logger } from './logger.js'

export interface SafeEmitterOptions {
  /** Where a listener's failure is reported: `logger.error` with the event name and its first argument. */
  logger?: Logger
  /** Names the emitter in that report, e.g. `AMI client`. */
  name: string
}

export class SafeEmitter<T extends Record<keyof T, any[]>> extends EventEmitter<T> {
  readonly #log: Logger
  readonly #name: string

  constructor (options: SafeEmitterOptions) {
    super()
    this.#log = options.logger ?? silentLogger
    this.#name = options.name
  }

  // `any`: the generic signature of EventEmitter<T>['emit'] uses types @types/node does not export.
  override emit (eventName: any, ...args: any[]): boolean {
    // A copy, as Node takes: listeners added or removed by a listener take effect from the next event.
    const listeners = this.rawListeners(eventName) as Array<(...args: unknown[]) => unknown>
    for (const listener of listeners) {
      try {
        const result = listener.apply(this, args)
        if (isThenable(result)) result.then(undefined, (error: unknown) => { this.#report(error, eventName, args) })
      } catch (error) {
        this.#report(error, eventName, args)
      }
    }
    return listeners.length > 0
  }

  #report (error: unknown, eventName: string | symbol, args: unknown[]): void {
    try {
      this.#log.error({ err: error, event: String(eventName), payload: args[0] }, `a listener of the ${this.#name} failed on ${String(eventName)}`)
    } catch {
      // A logger that throws (a payload it cannot serialise) must not undo the boundary.
    }
  }
}

function isThenable (value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
}
