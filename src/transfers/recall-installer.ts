/**
 * Keeps the recall dialplan (`recall-dialplan.ts`) in Asterisk. Extensions added over AMI live only in
 * memory: a `dialplan reload`, a `reload` or a restart drops them. So they are added at start, again
 * after every AMI reconnect and after every `Reload` event. The CLI's `dialplan reload` sends no event
 * at all (checked on 22.10: only `module reload pbx_config` does), so each Redirect into the context
 * carries its lines in front (`linesInFront`), or, until Asterisk has taken them once, the context is
 * checked first (`ensure`) and added again when it is gone. When it cannot be added, blind transfers
 * go the old way (a plain Redirect, no recall), never to a context that does not exist.
 */
import type { PbxEvent } from '../asterisk/ami-events.js'
import { silentLogger, type Logger } from '../support/logger.js'
import type { Pbx } from '../asterisk/pbx.js'
import type { DialplanLine } from './recall-dialplan.js'

export class RecallInstaller {
  readonly #pbx: Pbx
  readonly #lines: readonly DialplanLine[]
  readonly #log: Logger
  #installed = false
  #amiUp = false
  /** Bumped by every (re)install: an older one finishing late does not claim success. */
  #generation = 0
  readonly #onEvent = (event: PbxEvent): void => {
    if (event.type === 'reload') void this.install('reload')
  }

  readonly #onConnection = (state: { ami: boolean }): void => {
    if (!state.ami) this.#installed = false
    if (state.ami && !this.#amiUp) void this.install('reconnect')
    this.#amiUp = state.ami
  }

  constructor (pbx: Pbx, lines: readonly DialplanLine[], logger: Logger = silentLogger) {
    this.#pbx = pbx
    this.#lines = lines
    this.#log = logger
  }

  /** Whether the recall dialplan is in Asterisk as far as the plugin knows. */
  get installed (): boolean {
    return this.#installed
  }

  async start (): Promise<void> {
    this.#pbx.events.on('event', this.#onEvent)
    this.#pbx.events.on('connection', this.#onConnection)
    this.#amiUp = this.#pbx.connectionState().ami
    if (this.#amiUp) await this.install('start')
  }

  stop (): void {
    this.#pbx.events.off('event', this.#onEvent)
    this.#pbx.events.off('connection', this.#onConnection)
  }

  /**
   * The lines to write in front of a Redirect into the context (`Pbx.redirectAfterSetup`), once
   * Asterisk has taken them from this AMI user: added again each time, they are there whatever
   * reloaded the dialplan, at no round trip of their own. Undefined before that: `ensure` first.
   */
  linesInFront (): readonly DialplanLine[] | undefined {
    return this.#installed ? this.#lines : undefined
  }

  /** A line written in front of a Redirect was refused: until the next install, `ensure` first. */
  refusedInFront (error: Error): void {
    this.#installed = false
    this.#log.error({ err: error }, 'transfer recall dialplan refused in front of a Redirect: checked before the next one')
  }

  /**
   * Whether the recall dialplan is in Asterisk right now: asked of Asterisk (one Getvar), and added
   * again when it is gone. False when it is not there and could not be added.
   */
  async ensure (): Promise<boolean> {
    const first = this.#lines[0]
    if (first === undefined) return false
    // Fresh: a `dialplan reload` drops it without a word, so a remembered answer could be wrong.
    const present = await this.#pbx.extensionExists(first.context, first.exten, { fresh: true }).catch(() => false)
    if (present && this.#installed) return true
    return await this.install(present ? 'not yet confirmed' : 'gone from Asterisk (dialplan reload?)')
  }

  /** Adds every line (replacing ones already there); false when Asterisk refused or did not answer. */
  async install (why: string): Promise<boolean> {
    const generation = ++this.#generation
    this.#installed = false
    try {
      // In order: a context must exist before its later priorities are added to it.
      for (const line of this.#lines) await this.#pbx.addDialplanExtension(line)
    } catch (error) {
      this.#log.error({ err: error, why }, 'transfer recall dialplan not added: blind transfers go without recall (the AMI user needs write = system)')
      return false
    }
    if (generation !== this.#generation) return false
    this.#installed = true
    this.#log.info({ why, context: this.#lines[0]?.context }, 'transfer recall dialplan added')
    return true
  }
}
