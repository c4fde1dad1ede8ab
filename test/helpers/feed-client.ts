// A WebSocket client of the plugin's event feed for integration tests: connects with a bearer token,
// keeps every envelope it receives, and waits for the ones a scenario expects.
import WebSocket from 'ws'
import type { FeedEnvelope } from '../../src/index.js'

export interface FeedClient {
  received: FeedEnvelope[]
  /** Resolves with the first received envelope (past or future) matching, or rejects after timeoutMs. */
  waitFor: (what: string, match: (envelope: FeedEnvelope) => boolean, timeoutMs?: number) => Promise<FeedEnvelope>
  lastId: () => number
  close: () => Promise<void>
}

export async function connectFeed (baseUrl: string, token: string, since?: number): Promise<FeedClient> {
  const query = since === undefined ? '' : `?since=${since}`
  const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/api/events${query}`, { headers: { authorization: `Bearer ${token}` } })
  const received: FeedEnvelope[] = []
  const waiters = new Set<() => void>()
  socket.on('message', (data) => {
    received.push(JSON.parse(String(data)) as FeedEnvelope)
    for (const wake of waiters) wake()
  })
  await new Promise<void>((resolve, reject) => {
    socket.once('open', resolve)
    socket.once('error', reject)
    socket.once('unexpected-response', (_request, response) => reject(new Error(`feed refused: HTTP ${String(response.statusCode)}`)))
  })
  return {
    received,
    lastId: () => received.at(-1)?.id ?? 0,
    waitFor: async (what, match, timeoutMs = 10_000) => await new Promise((resolve, reject) => {
      const check = (): void => {
        const found = received.find(match)
        if (found === undefined) return
        clearTimeout(timer)
        waiters.delete(check)
        resolve(found)
      }
      const timer = setTimeout(() => {
        waiters.delete(check)
        reject(new Error(`no ${what} within ${timeoutMs} ms; received: ${received.map((event) => event.type).join(', ')}`))
      }, timeoutMs)
      waiters.add(check)
      check()
    }),
    close: async () => {
      if (socket.readyState === WebSocket.CLOSED) return
      await new Promise<void>((resolve) => { socket.once('close', () => resolve()); socket.close() })
    }
  }
}
