// A TCP proxy that causes network faults between the plugin and Asterisk, for fault tests.
// It forwards every connection on its port to the target, and on demand:
// - cut(): destroys every connection (both sides see a reset), like a broken link or a restarted host;
//   with { refuse: true } it also stops listening, so new connections are refused (ECONNREFUSED) until
//   restore(), like a service that is down;
// - stall(): keeps every socket open but forwards no byte in either direction, like a link that
//   silently drops packets (no FIN, no RST): only a timeout or a keep-alive can notice it. What is sent
//   meanwhile is held and delivered on restore(), in order. New connections are accepted and held too.
//   With { answersOnly: true } only what the target sends back is held: a request reaches it and runs,
//   its answer does not come back (a server that dies after acting, before answering).
// - restore(): back to forwarding (and listening again on the same port after a refusing cut).
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'

export interface TcpProxy {
  readonly port: number
  /** Connections accepted so far (those refused while cut are not counted). */
  readonly accepted: number
  /** Connections open now. */
  readonly open: number
  cut: (options?: { refuse?: boolean }) => Promise<void>
  stall: (options?: { answersOnly?: boolean }) => void
  restore: () => Promise<void>
  close: () => Promise<void>
}

interface Pair {
  client: Socket
  upstream: Socket
  /** Bytes held while stalled, per direction. */
  held: { toUpstream: Buffer[], toClient: Buffer[] }
}

export async function startTcpProxy (target: { host: string, port: number }): Promise<TcpProxy> {
  const pairs = new Set<Pair>()
  let stalled = false
  let answersOnly = false
  let listening = false
  let accepted = 0
  let port = 0

  const relay = (from: Socket, to: Socket, held: Buffer[], answers: boolean): void => {
    from.on('data', (chunk: Buffer) => {
      if (stalled && (answers || !answersOnly)) held.push(chunk)
      else to.write(chunk)
    })
  }
  const server: Server = createServer((client) => {
    accepted++
    const upstream = connect(target.port, target.host)
    const pair: Pair = { client, upstream, held: { toUpstream: [], toClient: [] } }
    pairs.add(pair)
    const end = (): void => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    for (const socket of [client, upstream]) socket.on('close', end).on('error', end)
    relay(client, upstream, pair.held.toUpstream, false)
    relay(upstream, client, pair.held.toClient, true)
  })

  const listen = async (): Promise<void> => {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject)
        resolve()
      })
    })
    port = (server.address() as AddressInfo).port
    listening = true
  }
  const stopListening = async (): Promise<void> => {
    if (!listening) return
    listening = false
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  const destroyAll = (): void => {
    for (const pair of [...pairs]) {
      // resetAndDestroy sends an RST, as a broken link does; older Node versions lack it.
      for (const socket of [pair.client, pair.upstream]) {
        if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy()
        else socket.destroy()
      }
      pairs.delete(pair)
    }
  }
  const flush = (): void => {
    for (const pair of pairs) {
      for (const chunk of pair.held.toUpstream.splice(0)) pair.upstream.write(chunk)
      for (const chunk of pair.held.toClient.splice(0)) pair.client.write(chunk)
    }
  }

  await listen()
  return {
    get port () { return port },
    get accepted () { return accepted },
    get open () { return pairs.size },
    cut: async (options = {}) => {
      stalled = false
      // The listener closes only once its connections are gone: start closing, then destroy them.
      const closing = options.refuse === true ? stopListening() : Promise.resolve()
      destroyAll()
      await closing
    },
    stall: (options = {}) => {
      stalled = true
      answersOnly = options.answersOnly === true
    },
    restore: async () => {
      stalled = false
      flush()
      if (!listening) await listen()
    },
    close: async () => {
      stalled = false
      const closing = stopListening()
      destroyAll()
      await closing
    }
  }
}
