// A bare AMI connection for the benchmarks on the real PBX: a TCP socket, the plugin's parser, Login,
// and actions written as they are, with nothing of the plugin's client in between (the floor a
// transfer's own overhead is measured against).
import net from 'node:net'
import { AmiParser, type AmiMessage } from '../../src/asterisk/ami-parser.js'

export class RawAmi {
  readonly #socket: net.Socket
  readonly #waiting = new Map<string, (message: AmiMessage) => void>()
  readonly #eventListeners = new Set<(message: AmiMessage) => void>()
  #nextId = 0

  private constructor (socket: net.Socket) {
    this.#socket = socket
    const parser = new AmiParser((message) => {
      const id = typeof message.actionid === 'string' ? message.actionid : undefined
      if (message.response !== undefined && id !== undefined) {
        this.#waiting.get(id)?.(message)
        this.#waiting.delete(id)
      } else if (message.event !== undefined) {
        for (const listener of this.#eventListeners) listener(message)
      }
    })
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => { parser.push(chunk) })
  }

  /** `events: false` logs in with `Events: off`: the connection gets the responses to its actions only. */
  static async connect (settings: { host: string, port: number, username: string, password: string }, { events = true } = {}): Promise<RawAmi> {
    const socket = net.connect(settings.port, settings.host)
    socket.setNoDelay(true)
    await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
    const ami = new RawAmi(socket)
    const login = await ami.action({ Action: 'Login', Username: settings.username, Secret: settings.password, Events: events ? 'on' : 'off' })
    if (login.response !== 'Success') throw new Error(`AMI login refused: ${String(login.message)}`)
    return ami
  }

  /** Writes the action and resolves with its response. */
  async action (fields: Record<string, string | number>): Promise<AmiMessage> {
    const id = `bench-${++this.#nextId}`
    const answer = new Promise<AmiMessage>((resolve) => this.#waiting.set(id, resolve))
    this.#socket.write(`${Object.entries(fields).map(([key, value]) => `${key}: ${value}\r\n`).join('')}ActionID: ${id}\r\n\r\n`)
    return await answer
  }

  /** Resolves with the first event for which `predicate` holds. */
  async nextEvent (predicate: (message: AmiMessage) => boolean, timeoutMs = 10_000): Promise<AmiMessage> {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.#eventListeners.delete(listener); reject(new Error('no such AMI event in time')) }, timeoutMs)
      const listener = (message: AmiMessage): void => {
        if (!predicate(message)) return
        clearTimeout(timer)
        this.#eventListeners.delete(listener)
        resolve(message)
      }
      this.#eventListeners.add(listener)
    })
  }

  close (): void {
    this.#socket.destroy()
  }
}
