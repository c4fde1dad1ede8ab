import t from 'tap'
import * as ws from 'ws'
import { TurnBatch, frameOf, textFrame } from '../../src/feed/frame-writer.js'

/** ws's frame reader, as its clients use it (exported by ws, not declared in its typings). */
interface FrameReader {
  on: (event: 'message', listener: (data: Buffer, isBinary: boolean) => void) => void
  write: (chunk: Buffer) => void
}
const { Receiver } = ws as unknown as { Receiver: new (options: { isServer: boolean }) => FrameReader }

/** What a WebSocket client reads from `bytes`: each text message. */
function read (bytes: Buffer): string[] {
  const messages: string[] = []
  const receiver = new Receiver({ isServer: false })
  receiver.on('message', (data: Buffer, isBinary: boolean) => { messages.push(isBinary ? '<binary>' : data.toString('utf8')) })
  receiver.write(bytes)
  return messages
}

t.test('textFrame: one final text frame a client reads back, at every length encoding', async (t) => {
  for (const length of [0, 1, 125, 126, 65_535, 65_536, 70_000]) {
    const text = 'a'.repeat(length)
    const frame = textFrame(text)
    t.equal(frame[0], 0x81, `${length}: FIN and the text opcode`)
    t.equal(frame.length, length + (length < 126 ? 2 : length < 65_536 ? 4 : 10), `${length}: header and payload, nothing else`)
    t.same(read(frame), [text], `${length}: read back`)
  }
  const utf8 = '{"reason":"é€😀"}'
  t.same(read(textFrame(utf8)), [utf8], 'the length counts bytes, not characters')
  t.same(read(Buffer.concat([textFrame('one'), textFrame('two')])), ['one', 'two'], 'frames written back to back are separate messages')
})

t.test('frameOf: one frame per event, reused for every socket', async (t) => {
  const event = { json: '{"id":1}' }
  const frame = frameOf(event)
  t.equal(frameOf(event), frame, 'the same Buffer')
  t.not(frameOf({ json: '{"id":1}' }), frame, 'another event, another frame')
  t.same(read(frame), ['{"id":1}'])
})

t.test('TurnBatch: the flushes asked for in one turn run once, together, after it', async (t) => {
  const batch = new TurnBatch()
  const ran: string[] = []
  batch.later(() => ran.push('a'))
  batch.later(() => ran.push('b'))
  t.same(ran, [], 'not during the turn')
  await new Promise((resolve) => setImmediate(resolve))
  t.same(ran, ['a', 'b'])
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.same(ran, ['a', 'b'], 'each once')
})

/** Holds the thread for `ms`, as writing to many sockets does. */
function busyFor (ms: number): void {
  const until = performance.now() + ms
  while (performance.now() < until);
}

t.test('TurnBatch: a long round yields to the event loop between slices; a flush asked for meanwhile joins its end', async (t) => {
  // A minimum interval far longer than the test: a flush that waited for a new round would not run.
  const batch = new TurnBatch(60_000, 5)
  const ran: string[] = []
  for (const name of ['a', 'b', 'c', 'd', 'e', 'f']) batch.later(() => { ran.push(name); busyFor(3) })
  await new Promise((resolve) => setImmediate(resolve))
  t.ok(ran.length > 0 && ran.length < 6, `the first slice ran some and yielded (${ran.join('')})`)
  let otherWork = false
  setImmediate(() => { otherWork = true })
  batch.later(() => ran.push('late'))
  for (let turn = 0; turn < 20 && ran.length < 7; turn++) await new Promise((resolve) => setImmediate(resolve))
  t.ok(otherWork, 'other work ran between slices')
  t.same(ran, ['a', 'b', 'c', 'd', 'e', 'f', 'late'], 'each once, in order, the late one in the same round')
})

t.test('TurnBatch: with a minimum interval, a flush soon after the last one waits for it; a later one does not', async (t) => {
  const batch = new TurnBatch(300)
  const ran: number[] = []
  batch.later(() => ran.push(1))
  await new Promise((resolve) => setImmediate(resolve))
  t.same(ran, [1], 'the first at the end of its turn')
  batch.later(() => ran.push(2))
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.same(ran, [1], 'the second not before the interval')
  await new Promise((resolve) => setTimeout(resolve, 400))
  t.same(ran, [1, 2], 'then it ran')
  await new Promise((resolve) => setTimeout(resolve, 400))
  batch.later(() => ran.push(3))
  await new Promise((resolve) => setImmediate(resolve))
  t.same(ran, [1, 2, 3], 'after a quiet interval: at the end of the turn again')
})
