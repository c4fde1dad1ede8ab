import t from 'tap'
import { EventLog, type StoredEvent } from '../../src/domain/event-log.js'

const connection = (ami: boolean): { ami: boolean, ari: boolean } => ({ ami, ari: true })

/** A log holding events 1..count, each `asterisk:connection` with `ami` alternating. */
function logWith (count: number, capacity: number): EventLog {
  const log = new EventLog({ capacity })
  for (let i = 1; i <= count; i++) log.append('asterisk:connection', connection(i % 2 === 0), 'everyone')
  return log
}

const ids = (events: StoredEvent[]): number[] => events.map((event) => event.envelope.id)

t.test('ids increase by one from 1; each envelope carries type, ISO timestamp and data', async (t) => {
  const log = new EventLog({ now: () => new Date('2024-05-01T10:00:00.000Z') })
  t.equal(log.lastId, 0)
  const first = log.append('agent:status', { extension: '101', state: 'available' }, { extensions: ['101'] })
  const second = log.append('asterisk:connection', connection(false), 'everyone')
  t.same([first.envelope.id, second.envelope.id], [1, 2])
  t.equal(log.lastId, 2)
  t.same(first.envelope, { id: 1, type: 'agent:status', timestamp: '2024-05-01T10:00:00.000Z', data: { extension: '101', state: 'available' } })
  t.same(first.audience, { extensions: ['101'] })
  t.same(JSON.parse(second.json), second.envelope)
})

t.test('the real clock gives an ISO-8601 timestamp', async (t) => {
  const { envelope } = new EventLog().append('asterisk:connection', connection(true), 'everyone')
  t.equal(new Date(envelope.timestamp).toISOString(), envelope.timestamp)
})

t.test('the ring keeps the newest `capacity` events once it wraps', async (t) => {
  const log = logWith(7, 3)
  t.equal(log.lastId, 7)
  t.equal(log.oldestId, 5)
  t.same(ids(log.since(4).events), [5, 6, 7])
  t.same(log.since(4).events.map((event) => event.envelope.data), [connection(false), connection(true), connection(false)])
})

t.test('since an id still covered: the events after it, oldest first, no gap', async (t) => {
  const log = logWith(5, 10)
  t.same(ids(log.since(2).events), [3, 4, 5])
  t.same(ids(log.since(0).events), [1, 2, 3, 4, 5])
  t.equal(log.since(0).gap, undefined)
  t.equal(log.since(2).gap, undefined)
})

t.test('since the id just before the oldest buffered one: nothing lost, no gap', async (t) => {
  const log = logWith(7, 3)
  const backlog = log.since(4)
  t.equal(backlog.gap, undefined)
  t.same(ids(backlog.events), [5, 6, 7])
})

t.test('since an id whose successors were overwritten: a gap, then everything still buffered', async (t) => {
  const log = logWith(7, 3)
  const backlog = log.since(2)
  t.same(backlog.gap, { since: 2, oldestAvailable: 5 })
  t.same(ids(backlog.events), [5, 6, 7])
  t.same(log.since(0).gap, { since: 0, oldestAvailable: 5 })
})

t.test('since the last id: nothing, no gap', async (t) => {
  const log = logWith(7, 3)
  t.same(log.since(7), { events: [] })
  t.same(new EventLog().since(0), { events: [] })
})

t.test('since an id beyond the last one (another server process): a gap, then every buffered event', async (t) => {
  const log = logWith(4, 3)
  const backlog = log.since(40)
  t.same(backlog.gap, { since: 40, oldestAvailable: 2 })
  t.same(ids(backlog.events), [2, 3, 4])
  t.same(new EventLog().since(40), { events: [], gap: { since: 40, oldestAvailable: 1 } })
})

t.test('subscribers get each event as it is appended, until they unsubscribe', async (t) => {
  const log = new EventLog()
  const seenA: number[] = []
  const seenB: number[] = []
  const unsubscribeA = log.subscribe((event) => seenA.push(event.envelope.id))
  log.subscribe((event) => seenB.push(event.envelope.id))
  log.append('asterisk:connection', connection(true), 'everyone')
  unsubscribeA()
  unsubscribeA()
  log.append('asterisk:connection', connection(false), 'everyone')
  t.same(seenA, [1])
  t.same(seenB, [1, 2])
})

t.test('a listener that throws does not keep the event from the others', async (t) => {
  const reported: Array<[unknown, number]> = []
  const log = new EventLog({ onListenerError: (error, event) => reported.push([error, event.envelope.id]) })
  const seen: number[] = []
  log.subscribe(() => { throw new Error('bad subscriber') })
  log.subscribe((event) => seen.push(event.envelope.id))
  const stored = log.append('asterisk:connection', connection(true), 'everyone')
  t.same(seen, [1])
  t.equal(reported.length, 1)
  t.match(reported[0], [{ message: 'bad subscriber' }, 1])
  t.equal(log.since(0).events[0], stored, 'the event is logged')
})

t.test('without onListenerError, append throws the listener\'s error once every listener ran', async (t) => {
  const log = new EventLog()
  const seen: number[] = []
  log.subscribe(() => { throw new Error('bad subscriber') })
  log.subscribe((event) => seen.push(event.envelope.id))
  t.throws(() => log.append('asterisk:connection', connection(true), 'everyone'), { message: 'bad subscriber' })
  t.same(seen, [1])
  t.equal(log.lastId, 1)
})

t.test('an envelope is serialised once; since and subscribers share that string', async (t) => {
  const log = new EventLog()
  const delivered: StoredEvent[] = []
  log.subscribe((event) => delivered.push(event))
  log.subscribe((event) => delivered.push(event))
  const stringify = JSON.stringify
  let calls = 0
  JSON.stringify = ((...args: Parameters<typeof stringify>) => { calls++; return stringify(...args) }) as typeof stringify
  let stored: StoredEvent
  try {
    stored = log.append('agent:status', { extension: '101', state: 'on_call' }, { extensions: ['101'] })
    log.since(0)
    log.since(0)
  } finally {
    JSON.stringify = stringify
  }
  t.equal(calls, 1)
  t.equal(delivered[0], stored)
  t.equal(delivered[1], stored)
  t.equal(log.since(0).events[0], stored)
  t.ok(Object.isFrozen(stored), 'the shared event cannot be altered by one consumer')
})

t.test('a capacity that is not a positive integer is refused at construction', async (t) => {
  for (const capacity of [0, -1, 1.5, Number.NaN]) {
    t.throws(() => new EventLog({ capacity }), RangeError, String(capacity))
  }
  t.equal(new EventLog().capacity, 1000)
})

t.test('ids start after firstId: a client resuming with an id from before a restart is told of the gap', async (t) => {
  const { bootFirstId } = await import('../../src/domain/event-log.js')
  const before = new EventLog({ firstId: bootFirstId(Date.parse('2026-11-29T10:00:00Z')) })
  const old = before.append('asterisk:connection', { ami: true, ari: true }, 'everyone').envelope.id
  const after = new EventLog({ firstId: bootFirstId(Date.parse('2026-11-29T10:00:00.005Z')) })
  t.equal(after.lastId, bootFirstId(Date.parse('2026-11-29T10:00:00.005Z')))
  const next = after.append('asterisk:connection', { ami: true, ari: true }, 'everyone').envelope.id
  t.ok(next > old, 'the restarted process numbers above anything the previous one could have used')
  t.same(after.since(old).gap, { since: old, oldestAvailable: next })
  t.equal(after.since(old).events.length, 1)
  t.ok(Number.isSafeInteger(bootFirstId(Date.parse('2055-01-01T00:00:00Z'))) && String(bootFirstId(Date.parse('2055-01-01T00:00:00Z'))).length <= 15, 'fits the feed\'s since')
})
