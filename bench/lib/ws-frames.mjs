// The client's side of RFC 6455 for the feed benchmark's sockets, kept small so that 1,000 sockets
// receiving ~290,000 messages per second in one thread measure the server, not the client: a frame
// reader that walks each TCP chunk in place (no copy of whole frames, no string per message), the
// opening handshake, and the masked control frames a client sends. `selfCheck` proves the reader on
// frames cut at every byte; the benchmark runs it before it measures anything.
import { createHash, randomBytes } from 'node:crypto'

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'

export const OPCODE = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa }

/** The upgrade request of a client, and the Sec-WebSocket-Accept the server must answer it with. */
export function handshake (host, path, headers = {}) {
  const key = randomBytes(16).toString('base64')
  const lines = [
    `GET ${path} HTTP/1.1`,
    `Host: ${host}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${key}`,
    'Sec-WebSocket-Version: 13',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)
  ]
  const accept = createHash('sha1').update(key + GUID).digest('base64')
  return { request: `${lines.join('\r\n')}\r\n\r\n`, accept }
}

/**
 * Checks the server's answer to `handshake` (its head, up to the blank line): 101, the right accept
 * key, and no extension (the frames read here are not compressed). Throws otherwise.
 */
export function checkHandshakeAnswer (head, accept) {
  const [status, ...fields] = head.split('\r\n')
  if (!/^HTTP\/1\.1 101 /.test(status)) throw new Error(`WebSocket upgrade refused: ${status}`)
  const headers = new Map(fields.map((line) => {
    const colon = line.indexOf(':')
    return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]
  }))
  if (headers.get('sec-websocket-accept') !== accept) throw new Error('WebSocket upgrade: wrong Sec-WebSocket-Accept')
  if (headers.has('sec-websocket-extensions')) throw new Error(`WebSocket upgrade: unexpected extension ${headers.get('sec-websocket-extensions')}`)
}

/** A masked frame from the client (RFC 6455 5.3: every client frame is masked), payload under 126 bytes. */
export function clientFrame (opcode, payload = Buffer.alloc(0)) {
  if (payload.length > 125) throw new RangeError('client control frames carry at most 125 bytes')
  const mask = randomBytes(4)
  const frame = Buffer.alloc(6 + payload.length)
  frame[0] = 0x80 | opcode
  frame[1] = 0x80 | payload.length
  mask.copy(frame, 2)
  for (let i = 0; i < payload.length; i++) frame[6 + i] = payload[i] ^ mask[i % 4]
  return frame
}

/**
 * Reads the frames of one connection from its TCP chunks, which may end anywhere: inside a header, an
 * extended length or a payload. `onFrame(first, opcode, buffer, start, end)` gets each whole frame's
 * payload as the range [start, end) of `buffer`, valid only during the call (a socket's read buffer is
 * reused); `first` is the first header byte (FIN, RSV, opcode). Throws on what a server must not send:
 * a masked frame, a length over 2^53.
 */
export class FrameReader {
  /** The bytes of an incomplete frame carried over from the previous chunk (a copy). */
  #rest = null
  #onFrame

  constructor (onFrame) {
    this.#onFrame = onFrame
  }

  /** Reads `buffer[start, end)`, which the caller may reuse once this returns. */
  push (buffer, start = 0, end = buffer.length) {
    if (this.#rest !== null) {
      buffer = Buffer.concat([this.#rest, buffer.subarray(start, end)])
      start = 0
      end = buffer.length
      this.#rest = null
    }
    let at = start
    while (end - at >= 2) {
      const first = buffer[at]
      const second = buffer[at + 1]
      if ((second & 0x80) !== 0) throw new Error('a server frame must not be masked')
      let length = second & 0x7f
      let header = 2
      if (length === 126) {
        if (end - at < 4) break
        length = buffer.readUInt16BE(at + 2)
        header = 4
      } else if (length === 127) {
        if (end - at < 10) break
        const big = buffer.readBigUInt64BE(at + 2)
        if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('frame length over 2^53')
        length = Number(big)
        header = 10
      }
      if (end - at < header + length) break
      this.#onFrame(first, first & 0x0f, buffer, at + header, at + header + length)
      at += header + length
    }
    if (at < end) this.#rest = Buffer.from(buffer.subarray(at, end))
  }

  /** Bytes of an incomplete frame held (0 between whole frames). */
  get pending () {
    return this.#rest === null ? 0 : this.#rest.length
  }
}

/** An unmasked server frame, written here apart from the server's code, for the self-check. */
function serverFrame (first, payload) {
  const length = payload.length
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10
  const frame = Buffer.alloc(header + length)
  frame[0] = first
  if (header === 2) {
    frame[1] = length
  } else if (header === 4) {
    frame[1] = 126
    frame.writeUInt16BE(length, 2)
  } else {
    frame[1] = 127
    frame.writeBigUInt64BE(BigInt(length), 2)
  }
  payload.copy(frame, header)
  return frame
}

/**
 * Proves FrameReader on frames of every length encoding (0, 125, 126, 65,535, 65,536 bytes), a
 * fragment, a ping and UTF-8: the small frames cut at pairs of byte positions (inside headers,
 * extended lengths and payloads), the long stream cut inside each header, the whole stream in uneven pieces and in one chunk, each piece read
 * from one reused buffer as a socket's reads give them. It must read back exactly the frames sent, in
 * order. Throws otherwise.
 */
export function selfCheck () {
  const small = [
    [0x81, Buffer.from('{"id":1,"type":"agent:status"}')],
    [0x81, Buffer.alloc(0)],
    [0x81, Buffer.alloc(125, 'a')],
    [0x01, Buffer.alloc(126, 'b')],
    [0x89, Buffer.from('ping')],
    [0x81, Buffer.from('{"id":2,"reason":"\u00e9\u20ac\ud83d\ude00"}')]
  ]
  const large = [...small, [0x80, Buffer.alloc(65_535, 'c')], [0x81, Buffer.alloc(65_536, 'd')], ...small]
  const check = (sent, pieces, how) => {
    const stream = Buffer.concat(sent.map(([first, payload]) => serverFrame(first, payload)))
    const got = []
    const reader = new FrameReader((first, opcode, buffer, start, end) => { got.push([first, Buffer.from(buffer.subarray(start, end))]) })
    const scratch = Buffer.alloc(stream.length)
    for (const [from, to] of pieces(stream.length)) {
      // Bytes past the piece are garbage, as in a reused read buffer.
      scratch.fill(0xff)
      stream.copy(scratch, 0, from, to)
      reader.push(scratch, 0, to - from)
    }
    const same = got.length === sent.length && got.every(([first, payload], index) => first === sent[index][0] && payload.equals(sent[index][1]))
    if (!same || reader.pending !== 0) throw new Error(`frame reader self-check failed (${how}): ${got.length} frames read of ${sent.length}, ${reader.pending} bytes left`)
  }
  const length = Buffer.concat(small.map(([first, payload]) => serverFrame(first, payload))).length
  for (let cut = 1; cut < length; cut++) {
    for (let second = cut; second < length; second += 7) check(small, () => [[0, cut], [cut, second], [second, length]], `cut at ${cut} and ${second}`)
  }
  // Cuts inside and just after each header of the long stream, where the 8-byte lengths are.
  let frameStart = 0
  for (const [first, payload] of large) {
    for (let cut = frameStart + 1; cut <= frameStart + 11; cut++) check(large, (total) => [[0, cut], [cut, total]], `cut at ${cut}`)
    frameStart += serverFrame(first, payload).length
  }
  check(large, (total) => {
    const pieces = []
    for (let at = 0, step = 1; at < total; at += step, step = (step * 7 + 3) % 9001 + 1) pieces.push([at, Math.min(total, at + step)])
    return pieces
  }, 'uneven pieces')
  check(large, (total) => [[0, total]], 'one chunk')
}
