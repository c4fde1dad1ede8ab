/**
 * Keeps the recall dialplan (`recall-dialplan.ts`) in Asterisk. Extensions added over AMI live only in
 * memory: a `dialplan reload`, a `reload` or a restart drops them. So they are added at start, again
 * after every AMI reconnect and after every `Reload` event. The CLI's `dialplan reload` sends no event
 * at all (checked on 22.10: only `module reload pbx_config` does), so each Redirect into the context
 * carries the context's entry in front (`linesInFront`: three lines, not the whole context), which goes
 * on only when the rest is there; a customer waiting at the entry tells that it is gone, and it is
 * added again at once. Until Asterisk has taken the lines once, the context is checked first (`ensure`)
 * and added again when it is gone. When it cannot be added, blind transfers go the old way (a plain
 * Redirect, no recall), never to a context that does not exist.
 */
import type { PbxEvent } from '../asterisk/ami-events.js'
import { silentLogger, type Logger } from '../support/logger.js'
import type { Pbx } from '../asterisk/pbx.js'
import { waitsAtEntry, type DialplanLine } from './recall-dialplan.js'

export class RecallInstaller {
  readonly #pbx: Pbx
  readonly #lines: readonly DialplanLine[]
  /** The entry (`recallEntry`), written in front of each Redirect; added last, after the lines. */
  readonly #entry: readonly DialplanLine[]
  readonly #log: Logger
  #installed = false
  #amiUp = false
  /** Bumped by every (re)install: an older one finishing late does not claim success. */
  #generation = 0
  readonly #onEvent = (event: PbxEvent): void => {
    if (event.type === 'reload') void this.install('reload')
    // A customer waits at the entry: the rest was dropped by a reload no event announced.
    if (event.type === 'newExten' && this.#entry.length > 0 && waitsAtEntry(event, this.#entry[0]?.context ?? '')) {
      void this.install('gone from Asterisk (dialplan reload?): a customer waits at the entry')
    }
  }

  readonly #onConnection = (state: { ami: boolean }): void => {
    if (!state.ami) this.#installed = false
    if (state.ami && !this.#amiUp) void this.install('reconnect')
    this.#amiUp = state.ami
  }

  constructor (pbx: Pbx, lines: readonly DialplanLine[], logger: Logger = silentLogger, entry: readonly DialplanLine[] = []) {
    this.#pbx = pbx
    this.#lines = lines
    this.#entry = entry
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
   * Asterisk has taken them from this AMI user: the entry (the whole context without one), added again
   * each time, so the step the customer is sent to (the first line's) is there whatever reloaded the
   * dialplan, at no round trip of its own. Undefined before that: `ensure` first.
   */
  linesInFront (): readonly DialplanLine[] | undefined {
    if (!this.#installed) return undefined
    return this.#entry.length > 0 ? this.#entry : this.#lines
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
      // In order: a context must exist before its later priorities are added to it, and its last line
      // (which the entry checks) only once the others are there.
      for (const line of [...this.#lines, ...this.#entry]) await this.#pbx.addDialplanExtension(line)
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
