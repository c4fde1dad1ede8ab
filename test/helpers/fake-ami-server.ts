/**
 * A scriptable stand-in for Asterisk's manager interface (AMI), for unit tests of the AMI client.
 *
 * It listens on 127.0.0.1 (a free port), greets like Asterisk, parses actions (`Key: value` lines ended
 * by a blank line), answers Login according to its credentials and records every action it receives,
 * raw. Each test scripts the answers per action (or holds them back to answer later, or never), sends
 * events, and drops connections.
 */
import { EventEmitter } from 'node:events'
import net from 'node:net'

/** One AMI message to write: `Key: value` lines in insertion order. */
export type AmiBlock = Readonly<Record<string, string | number>>

export interface ReceivedAction {
  /** Which connection it came on: 1 for the first accepted, 2 for the next... */
  connection: number
  /** The block exactly as received, without its terminating blank line. */
  raw: string
  /** Every header in order, as sent. */
  headers: Array<[string, string]>
  /** The action name, lowercased (`login`, `ping`...). */
  name: string
  actionId: string | undefined
  /** The value of a header (case-insensitive key); the first one when repeated. */
  get: (key: string) => string | undefined
}

/**
 * What to do with an action: the blocks to answer with (the action's ActionID is added to each block
 * that has none), or 'hold' to keep it unanswered (see `held` and `answer`).
 */
export type Answer = AmiBlock | AmiBlock[] | 'hold'
export type Script = (action: ReceivedAction) => Answer

export interface FakeAmiServerOptions {
  username?: string
  secret?: string
  greeting?: string
}

interface FakeAmiServerEvents {
  connection: [number]
  action: [ReceivedAction]
}

const SUCCESS: AmiBlock = { Response: 'Success' }

function format (block: AmiBlock): string {
  return Object.entries(block).map(([key, value]) => `${key}: ${value}\r\n`).join('') + '\r\n'
}

function parseAction (connection: number, raw: string): ReceivedAction {
  const headers = raw.split(/\r?\n/).filter((line) => line !== '').map((line): [string, string] => {
    const colon = line.indexOf(':')
    return colon === -1 ? [line, ''] : [line.slice(0, colon).trim(), line.slice(colon + 1).trim()]
  })
  const get = (key: string): string | undefined => headers.find(([name]) => name.toLowerCase() === key.toLowerCase())?.[1]
  return { connection, raw, headers, name: (get('Action') ?? '').toLowerCase(), actionId: get('ActionID'), get }
}

export class FakeAmiServer extends EventEmitter<FakeAmiServerEvents> {
  /** Every action received, in order, over all connections (Login included). */
  readonly actions: ReceivedAction[] = []
  /** Actions whose script said 'hold', waiting for `answer()`. */
  readonly held: ReceivedAction[] = []
  /** How many connections were accepted so far. */
  connectionCount = 0
  readonly #server: net.Server
  readonly #sockets = new Map<number, net.Socket>()
  readonly #scripts = new Map<string, Script>()
  readonly #options: Required<FakeAmiServerOptions>

  private constructor (options: FakeAmiServerOptions) {
    super()
    this.#options = { username: 'admin', secret: 'secret', greeting: 'Asterisk Call Manager/9.0.0', ...options }
    this.#server = net.createServer((socket) => this.#accept(socket))
  }

  static async start (options: FakeAmiServerOptions = {}): Promise<FakeAmiServer> {
    const server = new FakeAmiServer(options)
    await new Promise<void>((resolve, reject) => {
      server.#server.once('error', reject)
      server.#server.listen(0, '127.0.0.1', () => resolve())
    })
    return server
  }

  get port (): number {
    return (this.#server.address() as net.AddressInfo).port
  }

  /** Connections currently open. */
  get openConnections (): number {
    return this.#sockets.size
  }

  /** Sets how to answer an action (by name, case-insensitive); replaces the default or an earlier script. */
  script (action: string, script: Script | Answer): this {
    this.#scripts.set(action.toLowerCase(), typeof script === 'function' ? script : () => script)
    return this
  }

  /** The actions received after the last Login (which is excluded). */
  actionsAfterLogin (): ReceivedAction[] {
    const lastLogin = this.actions.findLastIndex((action) => action.name === 'login')
    return this.actions.slice(lastLogin + 1)
  }

  /** Answers a held (or any) action now on its connection, adding its ActionID to blocks without one. */
  answer (action: ReceivedAction, answer: AmiBlock | AmiBlock[]): void {
    const index = this.held.indexOf(action)
    if (index !== -1) this.held.splice(index, 1)
    const blocks = Array.isArray(answer) ? answer : [answer]
    const withId = blocks.map((block) =>
      action.actionId === undefined || Object.keys(block).some((key) => key.toLowerCase() === 'actionid')
        ? block
        : { ...block, ActionID: action.actionId })
    this.#write(action.connection, withId.map(format).join(''))
  }

  /** Sends a message (an event, usually) on every open connection. */
  send (block: AmiBlock): void {
    for (const id of this.#sockets.keys()) this.#write(id, format(block))
  }

  /** Drops every open connection at once, as a crashed or restarted Asterisk would. */
  drop (): void {
    for (const socket of this.#sockets.values()) socket.destroy()
  }

  /** Resolves with the next action named `name` (case-insensitive), or one already received since `from`. */
  async nextAction (name: string, from = this.actions.length): Promise<ReceivedAction> {
    const wanted = name.toLowerCase()
    const already = this.actions.slice(from).find((action) => action.name === wanted)
    if (already !== undefined) return already
    return await new Promise((resolve) => {
      const onAction = (action: ReceivedAction): void => {
        if (action.name !== wanted) return
        this.off('action', onAction)
        resolve(action)
      }
      this.on('action', onAction)
    })
  }

  /** Resolves once `count` connections in all were accepted. */
  async connections (count: number): Promise<void> {
    while (this.connectionCount < count) await new Promise((resolve) => this.once('connection', resolve))
  }

  async close (): Promise<void> {
    this.drop()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  #accept (socket: net.Socket): void {
    const id = ++this.connectionCount
    this.#sockets.set(id, socket)
    socket.setEncoding('utf8')
    socket.on('error', () => {})
    socket.on('close', () => this.#sockets.delete(id))
    let buffer = ''
    socket.on('data', (chunk: string) => {
      buffer += chunk
      for (let end = buffer.search(/\r?\n\r?\n/); end !== -1; end = buffer.search(/\r?\n\r?\n/)) {
        const raw = buffer.slice(0, end)
        buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '')
        if (raw.trim() !== '') this.#receive(parseAction(id, raw))
      }
    })
    socket.write(`${this.#options.greeting}\r\n`)
    this.emit('connection', id)
  }

  #receive (action: ReceivedAction): void {
    this.actions.push(action)
    const answer = (this.#scripts.get(action.name) ?? ((a: ReceivedAction) => this.#defaultAnswer(a)))(action)
    if (answer === 'hold') this.held.push(action)
    else this.answer(action, answer)
    if (action.name === 'login' && !this.#accepts(action)) this.#sockets.get(action.connection)?.end()
    this.emit('action', action)
  }

  #accepts (login: ReceivedAction): boolean {
    return login.get('Username') === this.#options.username && login.get('Secret') === this.#options.secret
  }

  #defaultAnswer (action: ReceivedAction): Answer {
    switch (action.name) {
      case 'login':
        return this.#accepts(action)
          ? { Response: 'Success', Message: 'Authentication accepted' }
          : { Response: 'Error', Message: 'Authentication failed' }
      case 'ping':
        return { Response: 'Success', Ping: 'Pong', Timestamp: '1712000000.000000' }
      default:
        return SUCCESS
    }
  }

  #write (connection: number, text: string): void {
    const socket = this.#sockets.get(connection)
    if (socket !== undefined && !socket.destroyed) socket.write(text)
  }
}

/** The answer to a list action: `Success` + `EventList: start`, the items, then the `...Complete` event. */
export function listAnswer (items: AmiBlock[], completeEvent: string): AmiBlock[] {
  return [
    { Response: 'Success', EventList: 'start', Message: 'Events will follow' },
    ...items,
    { Event: completeEvent, EventList: 'Complete', ListItems: items.length }
  ]
}
