// A TCP proxy between the plugin and the PBX's AMI that records every action the plugin writes, so a
// test can prove that a refused request sent nothing to Asterisk.
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net'

export interface AmiRecordingProxy {
  port: number
  /** The `Action:` of every action written through the proxy, in order. */
  actions: () => string[]
  /** Everything written through the proxy, as text: what a test proves never reached Asterisk. */
  written: () => string
  /** Everything Asterisk sent back through the proxy, as text. */
  read: () => string
  close: () => Promise<void>
}

export async function startAmiRecordingProxy (target: { host: string, port: number }): Promise<AmiRecordingProxy> {
  const actions: string[] = []
  let written = ''
  let read = ''
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host)
    sockets.add(client).add(upstream)
    let pending = ''
    client.on('data', (chunk) => {
      written += chunk.toString('utf8')
      pending += chunk.toString('utf8')
      const blocks = pending.split(/\r?\n\r?\n/)
      pending = blocks.pop() ?? ''
      for (const block of blocks) {
        const action = /^action:\s*(.*)$/im.exec(block)?.[1]
        if (action !== undefined) actions.push(action.trim())
      }
      upstream.write(chunk)
    })
    upstream.on('data', (chunk) => {
      read += chunk.toString('utf8')
      client.write(chunk)
    })
    const end = (): void => { client.destroy(); upstream.destroy() }
    client.on('close', end).on('error', end)
    upstream.on('close', end).on('error', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    actions: () => [...actions],
    written: () => written,
    read: () => read,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
