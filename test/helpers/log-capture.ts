/** A Fastify logger's stream that keeps every line, parsed, for a test to read. */
import { Writable } from 'node:stream'

export interface LogLine {
  level: number
  msg: string
  [key: string]: unknown
}

export function captureLogs (): { logs: LogLine[], stream: Writable } {
  const logs: LogLine[] = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, done) {
      for (const line of String(chunk).split('\n').filter((text) => text !== '')) logs.push(JSON.parse(line) as LogLine)
      done()
    }
  })
  return { logs, stream }
}
