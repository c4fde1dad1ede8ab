// Worker thread of bench/feed-fanout.ts: opens the softphone sockets, so their memory is not counted
// in the server's heap, and records when each event reached its last intended socket.
import { readFileSync } from 'node:fs'
import { parentPort, workerData } from 'node:worker_threads'
import WebSocket from 'ws'

const { url, tokens, events } = workerData
/** Per event id: how many sockets got it, and when the last one did (epoch ms, sub-ms precision). */
const received = new Uint32Array(events + 1)
const lastAt = new Float64Array(events + 1)
const now = () => performance.timeOrigin + performance.now()
/** This thread's scheduler times in ms (Linux; see threadTimes in lib/common.ts). */
function times () {
  try {
    const [cpu, waiting] = readFileSync('/proc/thread-self/schedstat', 'utf8').trim().split(' ').map(Number)
    return { cpuMs: cpu / 1e6, waitingMs: waiting / 1e6 }
  } catch {
    return { cpuMs: Number.NaN, waitingMs: Number.NaN }
  }
}

const sockets = await Promise.all(tokens.map((token) => new Promise((resolve, reject) => {
  const socket = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } })
  socket.on('message', (data) => {
    const text = data.toString()
    // The feed:hello that opens each socket is a notice, not one of the events sent.
    if (text.includes('"type":"feed:hello"')) return
    // The id is the envelope's first field: no need to parse the whole message.
    const id = Number(/^\{"id":(\d+)/.exec(text)?.[1])
    received[id]++
    lastAt[id] = now()
  })
  socket.once('open', () => resolve(socket))
  socket.once('error', reject)
})))
parentPort.postMessage({ type: 'connected' })

parentPort.on('message', (message) => {
  if (message.type === 'report') {
    parentPort.postMessage({ type: 'report', received: Array.from(received), lastAt: Array.from(lastAt), times: times() })
  } else if (message.type === 'close') {
    for (const socket of sockets) socket.terminate()
    parentPort.close()
  }
})
