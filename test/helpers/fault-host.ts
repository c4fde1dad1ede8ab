// A host app with the plugin connected to the test bed's PBX through two fault-injecting proxies (one
// for AMI, one for ARI), a supervisor's feed socket, and the plugin's log kept for assertions.
// Each test builds its own, with the timeouts and keep-alives its fault needs.
import Fastify, { type FastifyInstance, type InjectOptions, type LightMyRequestResponse } from 'fastify'
import asteriskTransfer, { type FastifyAsteriskTransferOptions, type FeedEnvelope, type Identity } from '../../src/index.js'
import { listChannels } from './asterisk/ari.js'
import { waitFor } from './asterisk/calls.js'
import { agents, pbx, transferContext } from './asterisk/testbed.js'
import { connectFeed, type FeedClient } from './feed-client.js'
import { captureLogs, type LogLine } from './log-capture.js'
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js'

export type { LogLine }

export interface FaultHost {
  app: FastifyInstance
  baseUrl: string
  /** Between the plugin and the PBX's AMI. */
  ami: TcpProxy
  /** Between the plugin and the PBX's ARI (HTTP). */
  ari: TcpProxy
  /** A supervisor's feed: sees every event. */
  feed: FeedClient
  logs: LogLine[]
  as: (who: string, options: InjectOptions) => Promise<LightMyRequestResponse>
  /** The `asterisk:connection` events received since the feed opened, as `ami:<bool> ari:<bool>`. */
  connectionEvents: () => string[]
  /** Waits for an `asterisk:connection` event after event `afterId` with this state. */
  waitForConnection: (state: { ami: boolean, ari: boolean }, afterId?: number, timeoutMs?: number) => Promise<FeedEnvelope>
  close: () => Promise<void>
}

const identities = new Map<string, Identity>([
  ...agents.map((extension): [string, Identity] => [`token-${extension}`, { extension, role: 'agent' }]),
  ['token-super', { extension: '100', role: 'supervisor' }]
])

export interface FaultHostOptions extends Partial<FastifyAsteriskTransferOptions> {
  /** Refuse ARI connections from the start (ARI down when the plugin registers). */
  ariDownAtStart?: boolean
}

export async function startFaultHost (options: FaultHostOptions = {}): Promise<FaultHost> {
  const { ariDownAtStart = false, ...pluginOptions } = options
  const ariTarget = new URL(pbx.ari.url)
  const ami = await startTcpProxy(pbx.ami)
  const ari = await startTcpProxy({ host: ariTarget.hostname, port: Number(ariTarget.port) })
  if (ariDownAtStart) await ari.cut({ refuse: true })
  const { logs, stream } = captureLogs()
  const app = Fastify({ logger: { level: 'info', stream } })
  await app.register(asteriskTransfer, {
    ami: { ...pbx.ami, port: ami.port },
    ari: { ...pbx.ari, url: `http://127.0.0.1:${ari.port}` },
    transferContext,
    agents: agents.map((extension) => ({ extension })),
    reconnect: { initialDelayMs: 100, maxDelayMs: 500 },
    rateLimit: false,
    authenticate: (request) => identities.get(request.headers.authorization?.replace(/^Bearer /, '') ??
      String((request.query as { token?: unknown }).token ?? '')) ?? null,
    ...pluginOptions
  })
  const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' })
  const feed = await connectFeed(baseUrl, 'token-super')
  const isConnection = (event: FeedEnvelope): event is FeedEnvelope<'asterisk:connection'> => event.type === 'asterisk:connection'
  return {
    app,
    baseUrl,
    ami,
    ari,
    feed,
    logs,
    as: async (who, injected) => await app.inject({ ...injected, headers: { ...injected.headers, authorization: `Bearer token-${who}` } }),
    connectionEvents: () => feed.received.filter(isConnection).map((event) => `ami:${String(event.data.ami)} ari:${String(event.data.ari)}`),
    waitForConnection: async (state, afterId = 0, timeoutMs = 15_000) => await feed.waitFor(
      `asterisk:connection ${JSON.stringify(state)} after event ${afterId}`,
      (event) => isConnection(event) && event.id > afterId && event.data.ami === state.ami && event.data.ari === state.ari,
      timeoutMs
    ),
    close: async () => {
      await feed.close()
      await app.close()
      await Promise.all([ami.close(), ari.close()])
    }
  }
}

/**
 * Waits until the plugin's calls (GET /api/calls as a supervisor) name exactly the PJSIP channels ARI
 * has: no ghost call left from before a fault, none missing. Returns the channels.
 */
export async function waitUntilCallsMatchAri (host: FaultHost, what: string, timeoutMs = 15_000): Promise<string[]> {
  let last = { plugin: [] as string[], ari: [] as string[] }
  return await waitFor(async () => {
    const response = await host.as('super', { method: 'GET', url: '/api/calls' })
    const plugin = [...new Set((response.json() as { calls: Array<{ channel: string }> }).calls.map((call) => call.channel))].sort()
    const ari = (await listChannels()).map((channel) => channel.name).filter((name) => name.startsWith('PJSIP/')).sort()
    last = { plugin, ari }
    return JSON.stringify(plugin) === JSON.stringify(ari) && ari
  }, timeoutMs, `the plugin's calls to match ARI ${what}`).catch((error: Error) => {
    throw new Error(`${error.message}\nplugin: ${last.plugin.join(', ')}\nARI: ${last.ari.join(', ')}`)
  })
}
