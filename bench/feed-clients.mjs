// Worker thread of bench/feed-fanout.ts: the softphones. Opens one WebSocket per token (a real opening
// handshake, Sec-WebSocket-Accept checked), so their memory is not counted in the server's heap, and
// records when each event reached its last intended socket.
//
// The sockets are read with a frame reader of their own (lib/ws-frames.mjs) instead of the ws library:
// in production the softphones sit on other machines, while here one thread on the server's 2 cores
// takes ~290,000 messages per second, and ws's per-message work (a stream, a Buffer, a string and an
// event per message) made that thread the bottleneck, so the latency measured its backlog. Reading each
// TCP chunk in place costs little, and every delivery is still checked:
// - every frame is one whole, final, unmasked text frame (a ping is answered, anything else fails);
// - each socket gets exactly the ids its identity may see, each once, in order: an agent the events for
//   its own extension and every `broadcastEvery`-th, a supervisor all, checked against the next id due
//   (so a missed, repeated, reordered or foreign event fails at once);
// - the first copy of each event is parsed as JSON (its id, type and extension must be those the
//   benchmark appended) and every other copy must be the same bytes.
// Failures are collected and reported; the benchmark throws on them.
import { connect } from 'node:net'
import { readFileSync } from 'node:fs'
import { parentPort, workerData } from 'node:worker_threads'
import { checkHandshakeAnswer, clientFrame, FrameReader, handshake, OPCODE, selfCheck } from './lib/ws-frames.mjs'

/**
 * tokens: one per socket; the first `agents` are agents (token = extension), in the order the
 * benchmark addresses them (event id's extension: tokens[id % agents]); the others supervisors.
 */
const { url, tokens, events, agents, broadcastEvery } = workerData
const target = new URL(url)
/** Per event id: how many sockets got it, and when the last one did (epoch ms, sub-ms precision). */
const received = new Uint32Array(events + 1)
const lastAt = new Float64Array(events + 1)
/** The first copy of each event's payload: every other copy must be the same bytes. */
const firstCopy = new Array(events + 1)
const failures = []
let closing = false
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
function fail (message) {
  if (failures.length < 20) failures.push(message)
}

// The reader is proven before anything is measured with it.
selfCheck()

const ID_PREFIX = Buffer.from('{"id":')
const CLOSE_BRACE = 0x7d

/** The id after `last` that a socket with agent index `agent` (-1: a supervisor) must get next. */
function nextFor (agent, last) {
  if (agent < 0) return last + 1
  const nextBroadcast = (Math.floor(last / broadcastEvery) + 1) * broadcastEvery
  const nextOwn = last + 1 + ((agent - ((last + 1) % agents) + agents) % agents)
  return Math.min(nextBroadcast, nextOwn)
}

/** The first copy of event `id`: the one the benchmark appended, for `tokens[id % agents]` or everyone. */
function checkContent (id, text) {
  let envelope
  try {
    envelope = JSON.parse(text)
  } catch {
    return `event ${id}: not JSON`
  }
  const broadcast = id % broadcastEvery === 0
  const type = broadcast ? 'agent:status' : 'call:status'
  if (envelope.id !== id || envelope.type !== type || envelope.data?.extension !== tokens[id % agents]) {
    return `event ${id}: got ${envelope.type} for ${envelope.data?.extension} with id ${envelope.id}, expected ${type} for ${tokens[id % agents]}`
  }
  return undefined
}

/** One socket's frames, as a softphone's WebSocket would take them. */
function frameHandler (socket, token, agent) {
  let hello = false
  let last = 0
  let at = 0
  const onFrame = (first, opcode, buffer, start, end) => {
    if (opcode === OPCODE.ping) {
      socket.write(clientFrame(OPCODE.pong, Buffer.from(buffer.subarray(start, end))))
      return
    }
    if (opcode === OPCODE.close) {
      if (!closing) fail(`${token}: closed by the server (${end - start >= 2 ? buffer.readUInt16BE(start) : 'no code'})`)
      return
    }
    if (first !== (0x80 | OPCODE.text)) return fail(`${token}: a frame that is not one whole text message (first byte ${first})`)
    if (!hello) {
      // The feed:hello that opens each socket is a notice, not one of the events sent.
      hello = true
      const type = JSON.parse(buffer.toString('utf8', start, end)).type
      if (type !== 'feed:hello') fail(`${token}: first message ${type}, expected feed:hello`)
      return
    }
    if (buffer.compare(ID_PREFIX, 0, ID_PREFIX.length, start, start + ID_PREFIX.length) !== 0 || buffer[end - 1] !== CLOSE_BRACE) {
      return fail(`${token}: a message that is not an event envelope`)
    }
    let id = 0
    for (let index = start + ID_PREFIX.length, digit = buffer[index] - 48; digit >= 0 && digit <= 9; digit = buffer[++index] - 48) id = id * 10 + digit
    const due = nextFor(agent, last)
    if (id !== due) return fail(`${token}: event ${id} after ${last}, expected ${due}`)
    last = id
    const copy = firstCopy[id]
    if (copy === undefined) {
      firstCopy[id] = Buffer.from(buffer.subarray(start, end))
      const wrong = checkContent(id, buffer.toString('utf8', start, end))
      if (wrong !== undefined) fail(`${token}: ${wrong}`)
    } else if (copy.compare(buffer, start, end) !== 0) {
      return fail(`${token}: event ${id} differs from its first copy`)
    }
    received[id]++
    lastAt[id] = at
  }
  const reader = new FrameReader(onFrame)
  return {
    /** A chunk read at `time`: every frame it completes arrived then. */
    read (buffer, start, end, time) {
      at = time
      reader.push(buffer, start, end)
    }
  }
}

/** One read buffer for every socket: each chunk is handled before the next read. */
const readBuffer = Buffer.allocUnsafe(256 * 1024)

function open (token, index) {
  return new Promise((resolve, reject) => {
    const { request, accept } = handshake(target.host, target.pathname, { Authorization: `Bearer ${token}` })
    let head = ''
    let frames
    const socket = connect({
      host: target.hostname,
      port: Number(target.port),
      // Chunks straight into the shared buffer, without a stream's per-chunk work.
      onread: {
        buffer: readBuffer,
        callback (length, buffer) {
          try {
            if (frames !== undefined) {
              frames.read(buffer, 0, length, now())
              return
            }
            head += buffer.toString('latin1', 0, length)
            const blank = head.indexOf('\r\n\r\n')
            if (blank < 0) return
            checkHandshakeAnswer(head.slice(0, blank), accept)
            frames = frameHandler(socket, token, index < agents ? index : -1)
            const rest = Buffer.from(head.slice(blank + 4), 'latin1')
            frames.read(rest, 0, rest.length, now())
            resolve(socket)
          } catch (error) {
            fail(`${token}: ${error.message}`)
            reject(error)
            socket.destroy()
          }
        }
      }
    })
    socket.setNoDelay(true)
    socket.once('connect', () => { socket.write(request) })
    socket.once('error', (error) => {
      if (!closing) fail(`${token}: ${error.message}`)
      reject(error)
    })
    socket.once('close', () => {
      if (!closing) fail(`${token}: socket closed`)
    })
  })
}

const sockets = await Promise.all(tokens.map(open))
parentPort.postMessage({ type: 'connected' })

parentPort.on('message', (message) => {
  if (message.type === 'report') {
    parentPort.postMessage({ type: 'report', received: Array.from(received), lastAt: Array.from(lastAt), times: times(), failures })
  } else if (message.type === 'close') {
    closing = true
    for (const socket of sockets) socket.destroy()
    parentPort.close()
  }
})
