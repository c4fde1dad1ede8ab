// Finding an agent's call answers from the call monitor's memory, never from a listing of the whole
// PBX (GET /channels + GET /bridges, whose cost grows with every channel on it): a call whose events
// are on their way is waited for, a monitor being rebuilt too; ARI is listed only while AMI is down.
import t, { type Test } from 'tap'
import type { PbxEvent } from '../../src/asterisk/ami-events.js'
import type { CallSnapshot } from '../../src/asterisk/pbx.js'
import { CallMonitor } from '../../src/calls/call-monitor.js'
import { TransferService } from '../../src/transfers/transfer-service.js'
import { answered, syntheticCall, type SyntheticCall } from '../helpers/synthetic-calls.js'
import { bridge, channel, FakePbx } from '../helpers/fake-pbx.js'

/** A fake PBX whose AMI link can go down, and whose listings (`snapshot()`) are counted. */
class CountedPbx extends FakePbx {
  ami = true
  listings = 0
  /** When set, a listing waits for it (a rebuild in flight). */
  hold: Promise<void> | undefined
  override connectionState (): { ami: boolean, ari: boolean } {
    return { ami: this.ami, ari: true }
  }

  override async snapshot (): Promise<CallSnapshot> {
    this.listings++
    await this.hold
    return await super.snapshot()
  }

  emitAll (events: PbxEvent[]): void {
    for (const event of events) this.events.emit('event', event)
  }

  setAmi (up: boolean): void {
    this.ami = up
    this.events.emit('connection', { ami: up, ari: true })
  }
}

/** The PBX as ARI lists it with `call` bridged. */
function bridgedCall (call: SyntheticCall): CallSnapshot {
  return { channels: [channel('c', call.customer), channel('a', call.agent)], bridges: [bridge(call.bridgeId, 'c', 'a')] }
}

async function setUp (t: Test): Promise<{ pbx: CountedPbx, monitor: CallMonitor, service: TransferService }> {
  const pbx = new CountedPbx()
  const monitor = new CallMonitor(pbx)
  await monitor.start()
  t.teardown(() => monitor.stop())
  const service = new TransferService(pbx, { transferContext: 'from-internal', channelTechnology: 'PJSIP', consultationTimeoutMs: 1000, calls: monitor })
  pbx.listings = 0
  return { pbx, monitor, service }
}

t.test('no call: answered from memory, after a short wait for events on their way, without a listing', async (t) => {
  const { pbx, service } = await setUp(t)
  await t.rejects(service.getChannelForExtension('2001'), { code: 'XFER_NO_ACTIVE_CHANNEL' })
  t.equal(pbx.listings, 0, 'nothing listed')
})

t.test('a call whose events arrive after the request is found when they do, without a listing', async (t) => {
  const { pbx, service } = await setUp(t)
  const call = syntheticCall(1, '2001')
  const found = service.getChannelForExtension('2001')
  setTimeout(() => { pbx.emitAll(answered(call)) }, 30)
  const located = await found
  t.equal(located.agentChannel, call.agent)
  t.equal(located.peerChannel, call.customer)
  t.equal(located.bridgeId, call.bridgeId)
  t.equal(pbx.listings, 0, 'nothing listed')
})

t.test('while the monitor is rebuilt after a reconnect, a lookup waits for it and lists nothing of its own', async (t) => {
  const { pbx, monitor, service } = await setUp(t)
  const call = syntheticCall(2, '2002')
  pbx.setAmi(false)
  // What the rebuild will find: the call, answered while AMI was down.
  let release = (): void => {}
  pbx.hold = new Promise((resolve) => { release = resolve })
  pbx.snapshotValue = bridgedCall(call)
  pbx.setAmi(true)
  t.equal(pbx.listings, 1, "the rebuild's own listing")
  t.notOk(monitor.inSync, 'rebuilding')
  const found = service.getChannelForExtension('2002')
  await new Promise((resolve) => setTimeout(resolve, 50))
  release()
  const located = await found
  t.equal(located.peerChannel, call.customer, 'found in the rebuilt memory')
  t.equal(pbx.listings, 1, 'no listing besides the rebuild')
})

t.test('while AMI is down, ARI is listed at once: no events, so no memory to wait for', async (t) => {
  const { pbx, service } = await setUp(t)
  const call = syntheticCall(3, '2003')
  pbx.snapshotValue = bridgedCall(call)
  pbx.setAmi(false)
  const found = service.getChannelForExtension('2003')
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(pbx.listings, 1, 'listed at once, without waiting for a rebuild that cannot come')
  t.equal((await found).peerChannel, call.customer)
  t.equal(pbx.listings, 1, 'once')
})
