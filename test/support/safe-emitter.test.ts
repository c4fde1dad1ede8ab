// SafeEmitter: a listener that throws or rejects is reported with the event, and never keeps the event
// from the other listeners nor reaches the emitter.
import t from 'tap'
import { setImmediate as tick } from 'node:timers/promises'
import { SafeEmitter } from '../../src/support/safe-emitter.js'

interface Events {
  call: [{ id: string }]
  other: []
}

function setup (): { emitter: SafeEmitter<Events>, reports: Array<{ obj: Record<string, unknown>, msg?: string }> } {
  const reports: Array<{ obj: Record<string, unknown>, msg?: string }> = []
  const logger = { debug () {}, info () {}, warn () {}, error: (obj: object, msg?: string) => { reports.push({ obj: obj as Record<string, unknown>, msg }) } }
  return { emitter: new SafeEmitter<Events>({ name: 'test emitter', logger }), reports }
}

t.test('a listener that throws is reported with the event; the listeners after it still get it', async (t) => {
  const { emitter, reports } = setup()
  const got: string[] = []
  emitter.on('call', (call) => { got.push(`first ${call.id}`) })
  emitter.on('call', () => { throw new Error('boom') })
  emitter.on('call', (call) => { got.push(`third ${call.id}`) })
  t.doesNotThrow(() => emitter.emit('call', { id: 'a' }))
  t.same(got, ['first a', 'third a'])
  t.equal(reports.length, 1)
  t.match(reports[0], { obj: { err: { message: 'boom' }, event: 'call', payload: { id: 'a' } }, msg: /test emitter.*call/ })
})

t.test('a listener whose promise rejects is reported, not left as an unhandled rejection', async (t) => {
  const { emitter, reports } = setup()
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown): void => { unhandled.push(reason) }
  process.on('unhandledRejection', onUnhandled)
  t.teardown(() => { process.off('unhandledRejection', onUnhandled) })
  const got: string[] = []
  // eslint-disable-next-line @typescript-eslint/no-misused-promises -- the promise-returning listener is what this test feeds the emitter
  emitter.on('call', async () => { throw new Error('async boom') })
  emitter.on('call', (call) => { got.push(call.id) })
  emitter.emit('call', { id: 'b' })
  await tick()
  await tick()
  t.same(got, ['b'])
  t.match(reports, [{ obj: { err: { message: 'async boom' }, event: 'call' } }])
  t.same(unhandled, [])
})

t.test('once-listeners run once; emit says whether anyone listened, like EventEmitter', async (t) => {
  const { emitter } = setup()
  let count = 0
  emitter.once('other', () => { count++ })
  t.equal(emitter.emit('other'), true)
  t.equal(emitter.emit('other'), false)
  t.equal(count, 1)
  t.equal(emitter.listenerCount('other'), 0)
})

t.test('a logger that throws does not break the boundary', async (t) => {
  const emitter = new SafeEmitter<Events>({ name: 'x', logger: { debug () {}, info () {}, warn () {}, error () { throw new Error('logger down') } } })
  let after = false
  emitter.on('other', () => { throw new Error('boom') })
  emitter.on('other', () => { after = true })
  t.doesNotThrow(() => emitter.emit('other'))
  t.ok(after)
})
