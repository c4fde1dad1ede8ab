// Worker thread of the ingest benchmarks: stand-ins for Asterisk's AMI that write recorded event
// streams. Each greets, accepts any Login, answers other actions with Success, and on `play` writes its
// whole stream to every logged-in connection as fast as the socket takes it, then an end marker. They
// run in a thread of their own so that writing the streams does not take the measured thread's time;
// several streams (`workerData.streams`, one stand-in server each, as a pool of Asterisk servers) are
// served by this one thread, so a pool's run has no more writer threads than a single server's.
import net from 'node:net'
import { parentPort, workerData } from 'node:worker_threads'

const streams = (workerData.streams ?? [workerData.stream]).map((bytes) => Buffer.from(bytes))
const END = Buffer.from('Event: UserEvent\r\nPrivilege: user,all\r\nUserEvent: BenchEnd\r\n\r\n')
const CHUNK = 64 * 1024
const MESSAGE_END = Buffer.from('\r\n\r\n')

function answer (socket, block) {
  const id = /^actionid:\s*(.*)$/im.exec(block)?.[1]?.trim()
  const ping = /^action:\s*ping/im.test(block) ? 'Ping: Pong\r\n' : ''
  socket.write(`Response: Success\r\n${id === undefined ? '' : `ActionID: ${id}\r\n`}${ping}Message: OK\r\n\r\n`)
}

/**
 * Writes the stream in chunks of about CHUNK bytes, each cut after a whole message. The plugin sends
 * actions while the stream plays (CoreStatus at start, Getvar on the phones' transfers) and `answer`
 * writes their responses between two chunks: Asterisk never writes a response inside an event, and a
 * chunk cut in the middle of a message would splice the response into that event (the event loses
 * fields, the action never gets its answer).
 */
async function play (socket, stream) {
  for (let offset = 0; offset < stream.length;) {
    let boundary = offset + CHUNK >= stream.length ? stream.length : stream.lastIndexOf(MESSAGE_END, offset + CHUNK)
    if (boundary < offset) boundary = stream.indexOf(MESSAGE_END, offset) // a message longer than CHUNK
    const end = boundary === -1 || boundary >= stream.length ? stream.length : boundary + MESSAGE_END.length
    const more = socket.write(stream.subarray(offset, end))
    offset = end
    if (!more) await new Promise((resolve) => socket.once('drain', resolve))
  }
  socket.write(END)
}

const servers = streams.map((stream) => {
  const sockets = new Set()
  const server = net.createServer((socket) => {
    socket.setNoDelay(true)
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
    let pending = ''
    socket.on('data', (chunk) => {
      pending += chunk.toString('utf8')
      for (let end = pending.indexOf('\r\n\r\n'); end !== -1; end = pending.indexOf('\r\n\r\n')) {
        const block = pending.slice(0, end)
        pending = pending.slice(end + 4)
        answer(socket, block)
      }
    })
    socket.write('Asterisk Call Manager/9.0.0\r\n')
    sockets.add(socket)
  })
  return { server, sockets, stream }
})

void Promise.all(servers.map(({ server }) => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)))))
  .then((ports) => { parentPort.postMessage({ type: 'listening', port: ports[0], ports }) })
parentPort.on('message', (message) => {
  if (message.type === 'play') {
    // A failed write is thrown outside the promise: it ends the worker, whose 'error' event fails the
    // benchmark, instead of leaving it waiting for an end marker that never comes.
    Promise.all(servers.flatMap(({ sockets, stream }) => [...sockets].map(async (socket) => await play(socket, stream))))
      .then(() => parentPort.postMessage({ type: 'written' }))
      .catch((error) => { process.nextTick(() => { throw error }) })
  } else if (message.type === 'close') {
    let open = servers.length
    for (const { server, sockets } of servers) {
      for (const socket of sockets) socket.destroy()
      server.close(() => { if (--open === 0) parentPort.close() })
    }
  }
})
