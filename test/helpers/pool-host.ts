// A host app with the plugin driving the test bed's two PBXes as a pool (`servers`: pbx1 and pbx2,
// named as the trunks name them), a supervisor's feed socket, and the plugin's log kept for assertions.
// One bearer token per agent of either server (`token-<ext>`) and a supervisor (`token-super`).
import Fastify, { type FastifyInstance, type InjectOptions, type LightMyRequestResponse } from 'fastify'
import asteriskTransfer, { type FastifyAsteriskTransferOptions, type FeedEnvelope, type Identity, type Transfer } from '../../src/index.js'
import { agents, pbx, pbx2, pbx2Agents, transferContext } from './asterisk/testbed.js'
import { connectFeed, type FeedClient } from './feed-client.js'
import { captureLogs, type LogLine } from './log-capture.js'

export type { LogLine }

export interface PoolHost {
  app: FastifyInstance
  baseUrl: string
  /** A supervisor's feed: sees every event. */
  feed: FeedClient
  logs: LogLine[]
  as: (who: string, options: InjectOptions) => Promise<LightMyRequestResponse>
  /** Waits on the feed for transfer `id` in `status` (after event `afterId`), and returns it. */
  waitForStatus: (id: string, status: string, timeoutMs?: number, afterId?: number) => Promise<Transfer & { eventId: number }>
  /** The statuses transfer `id` went through on the feed, in order. */
  statusesOf: (id: string) => string[]
  close: () => Promise<void>
}

/** The pool's server names: the first PBX is `pbx1`, the second `pbx2` (as each trunk calls the other). */
export const poolNames = { pbx: 'pbx1', pbx2: 'pbx2' } as const

const identities = new Map<string, Identity>([
  ...[...agents, ...pbx2Agents].map((extension): [string, Identity] => [`token-${extension}`, { extension, role: 'agent' }]),
  ['token-super', { extension: '100', role: 'supervisor' }]
])

export async function startPoolHost (options: Partial<FastifyAsteriskTransferOptions> = {}): Promise<PoolHost> {
  const { logs, stream } = captureLogs()
  const app = Fastify({ logger: { level: 'info', stream } })
  await app.register(asteriskTransfer, {
    servers: [
      { name: poolNames.pbx, ami: pbx.ami, ari: pbx.ari },
      { name: poolNames.pbx2, ami: pbx2.ami, ari: pbx2.ari }
    ],
    transferContext,
    reconnect: { initialDelayMs: 100, maxDelayMs: 500 },
    amiPingIntervalMs: 500,
    ariPingIntervalMs: 300,
    rateLimit: false,
    authenticate: (request) => identities.get(request.headers.authorization?.replace(/^Bearer /, '') ??
      String((request.query as { token?: unknown }).token ?? '')) ?? null,
    ...options
  })
  const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' })
  const feed = await connectFeed(baseUrl, 'token-super')
  const transferEvents = (id: string): Array<FeedEnvelope & { data: Transfer }> => feed.received
    .filter((event): event is FeedEnvelope & { data: Transfer } => event.type.startsWith('call:') && event.type !== 'call:status' && (event.data as { id?: string }).id === id)
  return {
    app,
    baseUrl,
    feed,
    logs,
    as: async (who, injected) => await app.inject({ ...injected, headers: { ...injected.headers, authorization: `Bearer token-${who}` } }),
    waitForStatus: async (id, status, timeoutMs = 15_000, afterId = 0) => {
      const event = await feed.waitFor(`transfer ${id} ${status}`, (candidate) => candidate.id > afterId &&
        (candidate.data as { id?: string }).id === id && (candidate.data as { status?: string }).status === status, timeoutMs)
      return { ...(event.data as Transfer), eventId: event.id }
    },
    statusesOf: (id) => [...new Set(transferEvents(id).map((event) => event.data.status))],
    close: async () => {
      await feed.close()
      await app.close()
    }
  }
}
