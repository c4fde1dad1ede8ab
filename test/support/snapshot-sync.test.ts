// SnapshotSync on a fake PBX whose snapshots the test answers one by one: buffering and replay, rebuilds
// after AMI reconnects, retries with backoff, and stop.
import t, { type Test } from 'tap'
import { EventEmitter } from 'node:events'
import { setImmediate as tick } from 'node:timers/promises'
import type { PbxEvent } from '../../src/asterisk/ami-events.js'
import type { PbxEvents } from '../../src/asterisk/pbx.js'
import { SnapshotSync, type SnapshotSyncOptions } from '../../src/support/snapshot-sync.js'

type DeviceEvent = Extract<PbxEvent, { type: 'deviceStateChange' }>

/** The PBX's events and connection state, and snapshot requests the test answers or fails. */
class FakePbx {
  readonly events = new EventEmitter<PbxEvents>()
  ami = true
  readonly requests: Array<{ resolve: (snapshot: string) => void, reject: (error: Error) => void }> = []

  connectionState (): { ami: boolean, ari: boolean } {
    return { ami: this.ami, ari: true }
  }

  async takeSnapshot (): Promise<string> {
    return await new Promise((resolve, reject) => { this.requests.push({ resolve, reject }) })
  }

  async answer (snapshot: string): Promise<void> {
    const request = this.requests.shift()
    if (request === undefined) throw new Error('no snapshot request pending')
    request.resolve(snapshot)
    await tick()
  }

  async fail (error = new Error('ARI is not connected')): Promise<void> {
    const request = this.requests.shift()
    if (request === undefined) throw new Error('no snapshot request pending')
    request.reject(error)
    await tick()
  }

  device (name: string): void {
    this.events.emit('event', { type: 'deviceStateChange', device: name, state: 'INUSE' })
  }

  setAmi (ami: boolean): void {
    this.ami = ami
    this.events.emit('connection', { ami, ari: true })
  }

  listeners (): number {
    return this.events.listenerCount('event') + this.events.listenerCount('connection')
  }
}

/** The state is a log of what the sync did to it: `reset <snapshot> [replayed]` and `apply [events]`. */
function setup (t: Test, options: Partial<SnapshotSyncOptions<string, DeviceEvent>> = {}): { pbx: FakePbx, sync: SnapshotSync<string, DeviceEvent>, log: string[], warnings: Array<{ delay: number, msg?: string }> } {
  const pbx = new FakePbx()
  const log: string[] = []
  const warnings: Array<{ delay: number, msg?: string }> = []
  const names = (events: DeviceEvent[]): string => events.map((event) => event.device).join(',')
  const sync = new SnapshotSync<string, DeviceEvent>({
    pbx,
    accepts: (event): event is DeviceEvent => event.type === 'deviceStateChange',
    takeSnapshot: async () => await pbx.takeSnapshot(),
    apply: (events) => { log.push(`apply [${names(events)}]`) },
    reset: (snapshot, buffered) => { log.push(`reset ${snapshot} [${names(buffered)}]`) },
    // Long enough that a busy machine does not run a retry before the test's next step.
    retry: { initialDelayMs: 100, maxDelayMs: 400 },
    logger: { debug () {}, info () {}, error () {}, warn: (obj, msg) => { warnings.push({ delay: (obj as { delay: number }).delay, msg }) } },
    what: 'the test snapshot',
    ...options
  })
  t.teardown(() => { sync.stop() })
  return { pbx, sync, log, warnings }
}

async function started (pbx: FakePbx, sync: SnapshotSync<string, DeviceEvent>, snapshot = 's1'): Promise<void> {
  const starting = sync.start()
  await pbx.answer(snapshot)
  await starting
}

t.test('events received during the snapshot are replayed over it in order; later ones are applied live', async (t) => {
  const { pbx, sync, log } = setup(t)
  const starting = sync.start()
  pbx.device('a')
  pbx.events.emit('event', { type: 'peerStatus', peer: 'PJSIP/101', registered: true })
  pbx.device('b')
  t.same(log, [], 'nothing applied while the snapshot is in flight')
  t.notOk(sync.inSync)
  await pbx.answer('s1')
  await starting
  t.same(log, ['reset s1 [a,b]'], 'only the accepted events, in the order they came')
  t.ok(sync.inSync)
  pbx.device('c')
  t.same(log, ['reset s1 [a,b]', 'apply [c]'])
})

t.test('an AMI reconnect takes a new snapshot; AMI going down, or ARI alone changing, does not', async (t) => {
  const { pbx, sync, log } = setup(t)
  await started(pbx, sync)
  pbx.setAmi(false)
  t.notOk(sync.inSync, 'not in sync while AMI is down')
  pbx.events.emit('connection', { ami: false, ari: false })
  t.equal(pbx.requests.length, 0)
  pbx.setAmi(true)
  t.equal(pbx.requests.length, 1, 'one snapshot for the reconnect')
  t.notOk(sync.inSync, 'not in sync until it arrives')
  pbx.device('a')
  await pbx.answer('s2')
  t.same(log, ['reset s1 []', 'reset s2 [a]'])
  t.ok(sync.inSync)
  pbx.events.emit('connection', { ami: true, ari: false })
  t.equal(pbx.requests.length, 0, 'AMI was already up')
})

t.test('a reconnect during a snapshot takes one more after it: the one in flight may predate it', async (t) => {
  const { pbx, sync, log } = setup(t)
  const starting = sync.start()
  pbx.setAmi(false)
  pbx.setAmi(true)
  t.equal(pbx.requests.length, 1, 'no second request while one is in flight')
  pbx.device('a')
  await pbx.answer('s1')
  t.equal(pbx.requests.length, 1, 'another snapshot once the first arrived')
  t.notOk(sync.inSync)
  pbx.device('b')
  await pbx.answer('s2')
  await starting
  t.same(log, ['reset s1 [a]', 'reset s2 [b]'])
  t.ok(sync.inSync)
})

t.test('a failed snapshot keeps the buffered events, rejects start, and is retried with growing delays', async (t) => {
  const { pbx, sync, log, warnings } = setup(t)
  const starting = sync.start()
  pbx.device('a')
  const failed = t.rejects(starting, { message: 'ARI is not connected' })
  await pbx.fail()
  await failed
  t.same(log, ['apply [a]'], 'the last known state moved on by what happened meanwhile')
  t.notOk(sync.inSync, 'a retry is pending')
  pbx.device('b')
  t.same(log, ['apply [a]', 'apply [b]'], 'live events apply while the retry waits')
  await waitForRequest(pbx)
  await pbx.fail()
  await waitForRequest(pbx)
  await pbx.answer('s1')
  t.same(log, ['apply [a]', 'apply [b]', 'apply []', 'reset s1 []'])
  t.ok(sync.inSync, 'built by a retry')
  t.same(warnings.map(({ msg }) => msg), ['the test snapshot failed; retrying', 'the test snapshot failed; retrying'])
  t.ok(near(warnings[0]?.delay, 100), 'the first retry waits about the initial delay')
  t.ok(near(warnings[1]?.delay, 200), 'the second twice that')

  // A success resets the backoff: the next failure waits the initial delay again.
  pbx.setAmi(false)
  pbx.setAmi(true)
  await pbx.fail()
  t.ok(near(warnings[2]?.delay, 100))
})

t.test('the backoff stops at its cap', async (t) => {
  const { pbx, sync, warnings } = setup(t)
  sync.start().catch(() => {})
  for (let attempt = 0; attempt < 4; attempt++) {
    await waitForRequest(pbx)
    await pbx.fail()
  }
  t.same(warnings.map(({ delay }) => Math.min(delay, 400)), warnings.map(({ delay }) => delay), 'never more than 400 ms')
  t.ok(near(warnings[3]?.delay, 400), 'the fourth waits about the cap')
})

t.test('a reconnect during the retry wait takes the snapshot at once, and the retry is dropped', async (t) => {
  const { pbx, sync } = setup(t, { retry: { initialDelayMs: 60_000, maxDelayMs: 60_000 } })
  sync.start().catch(() => {})
  await pbx.fail()
  pbx.setAmi(false)
  pbx.setAmi(true)
  await pbx.answer('s1')
  t.ok(sync.inSync, 'no retry pending any more')
})

t.test('stop: no more events, snapshots or retries, and no listener left', async (t) => {
  t.test('after a build', async (t) => {
    const { pbx, sync, log } = setup(t)
    await started(pbx, sync)
    t.equal(pbx.listeners(), 2)
    sync.stop()
    t.equal(pbx.listeners(), 0)
    t.notOk(sync.inSync)
    pbx.device('a')
    pbx.setAmi(false)
    pbx.setAmi(true)
    t.equal(pbx.requests.length, 0)
    t.same(log, ['reset s1 []'])
  })

  t.test('during a snapshot: its answer is dropped', async (t) => {
    const { pbx, sync, log } = setup(t)
    const starting = sync.start()
    pbx.device('a')
    sync.stop()
    await pbx.answer('s1')
    await starting
    t.same(log, [])
    t.equal(pbx.listeners(), 0)
  })

  t.test('during a snapshot that fails: no retry', async (t) => {
    const { pbx, sync, log, warnings } = setup(t)
    const starting = sync.start()
    sync.stop()
    await pbx.fail()
    await starting
    await new Promise((resolve) => setTimeout(resolve, 30))
    t.same(log, [])
    t.same(warnings, [])
    t.equal(pbx.requests.length, 0)
  })

  t.test('while a retry waits: it never comes', async (t) => {
    const { pbx, sync } = setup(t)
    sync.start().catch(() => {})
    await pbx.fail()
    sync.stop()
    await new Promise((resolve) => setTimeout(resolve, 30))
    t.equal(pbx.requests.length, 0)
    t.equal(pbx.listeners(), 0)
  })

  t.test('start twice subscribes once; start again after stop subscribes again', async (t) => {
    const { pbx, sync, log } = setup(t)
    const starting = sync.start()
    await sync.start()
    t.equal(pbx.listeners(), 2)
    t.equal(pbx.requests.length, 1)
    await pbx.answer('s1')
    await starting
    sync.stop()
    const again = sync.start()
    t.equal(pbx.listeners(), 2)
    await pbx.answer('s2')
    await again
    t.ok(sync.inSync)
    t.same(log, ['reset s1 []', 'reset s2 []'])
    sync.stop()
    t.equal(pbx.listeners(), 0)
  })
})

/** Within the backoff's ±20 % jitter of `ms`, and never above the cap. */
function near (delay: number | undefined, ms: number): boolean {
  return delay !== undefined && delay >= ms * 0.8 && delay <= Math.min(ms * 1.2, 400)
}

async function waitForRequest (pbx: FakePbx, timeoutMs = 1000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (pbx.requests.length === 0) {
    if (Date.now() > deadline) throw new Error('no snapshot request came')
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

t.test('a snapshot that failed is taken again as soon as ARI comes back, not at its next retry', async (t) => {
  const { pbx, sync, log } = setup(t, { retry: { initialDelayMs: 60_000, maxDelayMs: 60_000 } })
  const failed = t.rejects(sync.start())
  await pbx.fail()
  await failed
  t.equal(pbx.requests.length, 0, 'the retry waits a minute')
  pbx.events.emit('connection', { ami: true, ari: false })
  t.equal(pbx.requests.length, 0, 'ARI still down: no request')
  pbx.events.emit('connection', { ami: true, ari: true })
  t.equal(pbx.requests.length, 1, 'ARI back: a snapshot at once')
  await pbx.answer('s1')
  t.same(log, ['apply []', 'reset s1 []'])
  t.ok(sync.inSync)
})

t.test('whenInSync: at once when in sync, once the rebuild lands; false when none is under way, it fails, or the sync stops', async (t) => {
  const { pbx, sync } = setup(t)
  t.equal(await sync.whenInSync(10), false, 'not started: false')
  await started(pbx, sync)
  t.equal(await sync.whenInSync(0), true, 'in sync: true at once')

  pbx.setAmi(false)
  t.equal(await sync.whenInSync(60_000), false, 'AMI down: false at once, no rebuild under way')
  pbx.setAmi(true)
  const waiting = sync.whenInSync(60_000)
  let answer: boolean | undefined
  void waiting.then((inSync) => { answer = inSync })
  await tick()
  t.equal(answer, undefined, 'still waiting while the snapshot is in flight')
  await pbx.answer('s2')
  t.equal(await waiting, true, 'true once the rebuild landed')

  pbx.setAmi(false)
  pbx.setAmi(true)
  const failed = sync.whenInSync(60_000)
  await pbx.fail()
  t.equal(await failed, false, 'false when the snapshot fails')
  t.equal(await sync.whenInSync(60_000), false, 'and at once while its retry waits')

  await pbx.answer('s3').catch(() => {})
  pbx.setAmi(false)
  pbx.setAmi(true)
  const stopped = sync.whenInSync(60_000)
  sync.stop()
  t.equal(await stopped, false, 'false when the sync stops')
})
