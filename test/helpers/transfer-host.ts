// A host Fastify app with the plugin registered against the test bed's PBX, its AMI going through a
// recording proxy, and one bearer token per agent (`token-<ext>`) plus a supervisor (`token-super`).
// It listens on a free loopback port so WebSocket clients can reach the event feed.
import Fastify, { type FastifyInstance, type InjectOptions, type LightMyRequestResponse } from 'fastify'
import asteriskTransfer, { type FastifyAsteriskTransferOptions, type Identity } from '../../src/index.js'
import { startAmiRecordingProxy, type AmiRecordingProxy } from './ami-recording-proxy.js'
import { agents, offlineAgent, pbx, transferContext } from './asterisk/testbed.js'

export interface TransferHost {
  app: FastifyInstance
  proxy: AmiRecordingProxy
  /** http://127.0.0.1:<port> of the listening app (for WebSocket clients). */
  baseUrl: string
  /** Injects a request as the agent with that extension (or 'super' for the supervisor). */
  as: (who: string, options: InjectOptions) => Promise<LightMyRequestResponse>
  close: () => Promise<void>
}

const identities = new Map<string, Identity>([
  ...[...agents, offlineAgent].map((extension): [string, Identity] => [`token-${extension}`, { extension, role: 'agent' }]),
  ['token-super', { extension: '100', role: 'supervisor' }]
])

/** Starts the host; `options` adds to or overrides the plugin options (destinations, rules...). */
export async function startTransferHost (options: Partial<FastifyAsteriskTransferOptions> = {}): Promise<TransferHost> {
  const proxy = await startAmiRecordingProxy(pbx.ami)
  const app = Fastify()
  await app.register(asteriskTransfer, {
    ami: { ...pbx.ami, port: proxy.port },
    ari: pbx.ari,
    transferContext,
    // A bearer header, or `?token=` as browsers (and the client) send it on the WebSocket.
    authenticate: (request) => identities.get(request.headers.authorization?.replace(/^Bearer /, '') ??
      String((request.query as { token?: unknown }).token ?? '')) ?? null,
    ...options
  })
  const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' })
  return {
    app,
    proxy,
    baseUrl,
    as: (who, options) => app.inject({ ...options, headers: { ...options.headers, authorization: `Bearer token-${who}` } }),
    close: async () => {
      await app.close()
      await proxy.close()
    }
  }
}
