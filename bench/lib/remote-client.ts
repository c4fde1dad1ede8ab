// The clients of the transfer benchmark, in a worker thread: a softphone's backend calling the plugin
// over HTTP, and a bare AMI socket writing the raw Redirect the plugin is compared with. In production
// neither runs on the plugin's thread; measured there, each request's time also held whatever the
// plugin's thread did meanwhile (the AMI events the transfer causes arrive right after its answer) and
// the client's own CPU. Both are timed here, on their own thread, the same way.
import http from 'node:http'
import { performance } from 'node:perf_hooks'
import { parentPort, Worker } from 'node:worker_threads'
import { RawAmi } from './raw-ami.js'

interface AmiSettings { host: string, port: number, username: string, password: string }
type Request =
  | { type: 'http', id: number, url: string, method: string, authorization: string, body?: object }
  | { type: 'ami', id: number, fields: Record<string, string | number> }
  | { type: 'close', id: number }
/** A request as the main thread asks it: the id is added on the way. */
type Asked = Request extends infer R ? R extends unknown ? Omit<R, 'id'> : never : never
interface Answer { id: number, ms: number, status?: number, json?: Record<string, unknown>, message?: Record<string, unknown>, error?: string }

/** The main thread's handle on the worker. */
export class RemoteClient {
  readonly #worker: Worker
  readonly #waiting = new Map<number, (answer: Answer) => void>()
  #nextId = 0

  private constructor (worker: Worker) {
    this.#worker = worker
    worker.on('message', (answer: Answer) => {
      this.#waiting.get(answer.id)?.(answer)
      this.#waiting.delete(answer.id)
    })
  }

  static async start (ami: AmiSettings): Promise<RemoteClient> {
    // This file in TypeScript, in a worker: the worker registers tsx's loader for itself first.
    const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(import.meta.url)}) })`
    const worker = new Worker(boot, { eval: true, workerData: { ami } })
    await new Promise<void>((resolve, reject) => {
      worker.once('error', reject)
      worker.once('message', () => resolve())
    })
    return new RemoteClient(worker)
  }

  /** An HTTP request on the worker's kept-alive connection; `ms` from writing it to the whole answer read. */
  async http (url: string, method: string, authorization: string, body?: object): Promise<{ status: number, json: Record<string, unknown>, ms: number }> {
    const answer = await this.#ask({ type: 'http', url, method, authorization, ...(body === undefined ? {} : { body }) })
    return { status: answer.status ?? 0, json: answer.json ?? {}, ms: answer.ms }
  }

  /** An AMI action on the worker's bare socket; `ms` from writing it to its response. */
  async amiAction (fields: Record<string, string | number>): Promise<{ message: Record<string, unknown>, ms: number }> {
    const answer = await this.#ask({ type: 'ami', fields })
    return { message: answer.message ?? {}, ms: answer.ms }
  }

  async close (): Promise<void> {
    await this.#ask({ type: 'close' })
    await this.#worker.terminate()
  }

  async #ask (request: Asked): Promise<Answer> {
    const id = ++this.#nextId
    const answer = await new Promise<Answer>((resolve) => {
      this.#waiting.set(id, resolve)
      this.#worker.postMessage({ ...request, id })
    })
    if (answer.error !== undefined) throw new Error(answer.error)
    return answer
  }
}

async function serve (port: NonNullable<typeof parentPort>, amiSettings: AmiSettings): Promise<void> {
  const keptAlive = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const ami = await RawAmi.connect(amiSettings, { events: false })
  const request = async (message: Extract<Request, { type: 'http' }>): Promise<Answer> => {
    const payload = message.body === undefined ? undefined : JSON.stringify(message.body)
    const started = performance.now()
    return await new Promise((resolve, reject) => {
      const outgoing = http.request(message.url, {
        method: message.method,
        agent: keptAlive,
        headers: { authorization: message.authorization, ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }) }
      }, (response) => {
        let text = ''
        response.setEncoding('utf8')
        response.on('data', (chunk: string) => { text += chunk })
        response.on('end', () => { resolve({ id: message.id, ms: performance.now() - started, status: response.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> }) })
      })
      outgoing.on('error', reject)
      outgoing.end(payload)
    })
  }
  port.on('message', (message: Request) => {
    const answer = async (): Promise<Answer> => {
      if (message.type === 'http') return await request(message)
      if (message.type === 'ami') {
        const started = performance.now()
        const response = await ami.action(message.fields)
        return { id: message.id, ms: performance.now() - started, message: { ...response } }
      }
      keptAlive.destroy()
      ami.close()
      return { id: message.id, ms: 0 }
    }
    answer().then((reply) => { port.postMessage(reply) }, (error: Error) => { port.postMessage({ id: message.id, ms: 0, error: error.message }) })
  })
  port.postMessage({ ready: true })
}

if (parentPort !== null) {
  const { workerData } = await import('node:worker_threads')
  await serve(parentPort, (workerData as { ami: AmiSettings }).ami)
}
