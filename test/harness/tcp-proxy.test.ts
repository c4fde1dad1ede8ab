// The fault-injecting TCP proxy of the tests, checked against a local echo server: what the fault
// tests rely on (a cut resets, a refusing cut refuses, a stall holds bytes without closing) must hold.
import t from 'tap'
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js'

async function echoServer (): Promise<{ port: number, close: () => Promise<void> }> {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket)).on('error', () => {})
    socket.pipe(socket)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

interface Client {
  socket: Socket
  received: () => string
  closed: Promise<unknown>
}

async function open (proxy: TcpProxy): Promise<Client> {
  const socket = connect(proxy.port, '127.0.0.1')
  let data = ''
  socket.on('data', (chunk) => { data += String(chunk) })
  const closed = new Promise((resolve) => {
    socket.on('error', (error) => resolve(error))
    socket.on('close', () => resolve('closed'))
  })
  await once(socket, 'connect')
  return { socket, received: () => data, closed }
}

async function until (check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 2000
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

const echo = await echoServer()
t.teardown(echo.close)

t.test('forwards both ways', async (t) => {
  const proxy = await startTcpProxy({ host: '127.0.0.1', port: echo.port })
  t.teardown(proxy.close)
  const client = await open(proxy)
  client.socket.write('hello')
  await until(() => client.received() === 'hello', 'the echo')
  t.equal(proxy.open, 1)
  client.socket.destroy()
})

t.test('cut resets open connections; new ones pass again unless refused', async (t) => {
  const proxy = await startTcpProxy({ host: '127.0.0.1', port: echo.port })
  t.teardown(proxy.close)
  const client = await open(proxy)
  await proxy.cut()
  t.match(await client.closed, { code: 'ECONNRESET' }, 'the client sees a reset')
  t.equal(proxy.open, 0)
  const after = await open(proxy)
  after.socket.write('again')
  await until(() => after.received() === 'again', 'the echo after a plain cut')
  after.socket.destroy()
})

t.test('a refusing cut refuses new connections on the same port until restore', async (t) => {
  const proxy = await startTcpProxy({ host: '127.0.0.1', port: echo.port })
  t.teardown(proxy.close)
  const port = proxy.port
  await proxy.cut({ refuse: true })
  await t.rejects(open(proxy), { code: 'ECONNREFUSED' })
  await proxy.restore()
  t.equal(proxy.port, port, 'the same port')
  const client = await open(proxy)
  client.socket.write('back')
  await until(() => client.received() === 'back', 'the echo after restore')
  client.socket.destroy()
})

t.test('stall keeps the socket open and forwards nothing; restore delivers what was held, in order', async (t) => {
  const proxy = await startTcpProxy({ host: '127.0.0.1', port: echo.port })
  t.teardown(proxy.close)
  const client = await open(proxy)
  proxy.stall()
  client.socket.write('one,')
  client.socket.write('two')
  await sleep(200)
  t.equal(client.received(), '', 'nothing came back while stalled')
  t.equal(client.socket.destroyed, false, 'the socket is still open')
  const late = await open(proxy)
  late.socket.write('late')
  await sleep(100)
  t.equal(late.received(), '', 'a connection opened while stalled is held too')
  await proxy.restore()
  await until(() => client.received() === 'one,two', 'the held bytes')
  await until(() => late.received() === 'late', 'the late connection\'s bytes')
  client.socket.destroy()
  late.socket.destroy()
})
