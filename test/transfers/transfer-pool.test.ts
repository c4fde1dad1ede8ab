// One transfer service over a pool of Asterisk servers: one engine per server, a request goes to the
// server the agent's call is on, a server that cannot be seen answers 503 at once naming it.
import t, { type Test } from 'tap'
import type { CallSnapshot } from '../../src/asterisk/pbx.js'
import { TransferService } from '../../src/transfers/transfer-service.js'
import { AGENT, CONTEXT, CUSTOMER, FakePbx, LOCAL_1, LOCAL_2, TARGET_102, bridgeEnter, bridgeLeave, dialBegin, dialEnd, hold, newLocal, scenes, snapshotOf } from '../helpers/fake-pbx.js'
import type { Transfer } from '../../src/domain/transfer.js'

/** A fake server whose links can go down. */
class Server extends FakePbx {
  links = { ami: true, ari: true }
  override connectionState (): { ami: boolean, ari: boolean } {
    return { ...this.links }
  }
}

const TALKING = scenes.talking({ agent: AGENT, customer: CUSTOMER, target: TARGET_102 })
const NOBODY: CallSnapshot = { channels: [], bridges: [] }

/** Server `a` holds no call, server `b` holds 101's call with the customer; each has its monitor (in sync). */
function pool (t: Test, options: { agentServer?: (extension: string) => string | undefined } = {}): { a: Server, b: Server, service: TransferService } {
  const a = new Server(NOBODY)
  const b = new Server(TALKING)
  const monitorOf = (server: Server): { inSync: boolean, snapshotOf: () => CallSnapshot } => ({ inSync: true, snapshotOf: () => server.snapshotValue })
  const service = new TransferService([
    { name: 'a', pbx: a, calls: monitorOf(a) },
    { name: 'b', pbx: b, calls: monitorOf(b) }
  ], { transferContext: CONTEXT, channelTechnology: 'PJSIP', consultationTimeoutMs: 100, ...options })
  service.start()
  t.teardown(() => service.stop())
  return { a, b, service }
}

const blindTo102 = { extension: '101', targetExtension: '102', transferType: 'blind' as const, requestedBy: '101' }

t.test('a blind transfer is sent by the server the agent\'s call is on, and the transfer names it', async (t) => {
  const { a, b, service } = pool(t)
  const transfer = await service.execute(blindTo102)
  t.equal(transfer.server, 'b')
  t.same(b.calls.filter((call) => call.method === 'redirect').map((call) => call.args[0]), [CUSTOMER])
  t.same(a.calls.filter((call) => call.method === 'redirect'), [], 'the other server is asked nothing')
  t.equal(service.activeHereOnChannel(CUSTOMER, 'b')?.id, transfer.id)
  t.equal(service.activeHereOnChannel(CUSTOMER, 'a'), undefined, 'the same channel name on the other server is another channel')
  t.equal((await service.getChannelForExtension('101')).server, 'b')
})

t.test('no server knows a call of the agent: the agent\'s own server is asked (where its endpoint lives)', async (t) => {
  const { a, service } = pool(t, { agentServer: (extension) => extension === '105' ? 'a' : undefined })
  await t.rejects(service.execute({ ...blindTo102, extension: '105' }), { code: 'XFER_NO_ACTIVE_CHANNEL' })
  t.ok(a.calls.some((call) => call.method === 'extensionExists'), 'server a checked the target')
  await t.rejects(service.execute({ ...blindTo102, extension: '999' }), { code: 'XFER_NO_ACTIVE_CHANNEL' }, 'an agent of no server')
})

t.test('the agent\'s server with AMI and ARI down: 503 at once naming it, nothing sent anywhere', async (t) => {
  const { a, b, service } = pool(t, { agentServer: () => 'b' })
  b.links = { ami: false, ari: false }
  b.snapshotValue = NOBODY
  const error = await service.execute(blindTo102).then(() => undefined, (error: unknown) => error)
  t.match(error, { code: 'XFER_ASTERISK_UNAVAILABLE', statusCode: 503, message: /server b/ })
  t.same(b.calls.filter((call) => call.method === 'snapshot' || call.method === 'extensionExists'), [], 'refused before the PBX is asked anything')
  t.same([...a.calls, ...b.calls].filter((call) => call.method === 'redirect'), [])
})

t.test('a transfer to an agent of another server names that server; with that server down, 503 at once naming it, nothing sent', async (t) => {
  const { a, b, service } = pool(t, { agentServer: (extension) => extension === '103' ? 'a' : 'b' })
  const across = await service.execute({ ...blindTo102, targetExtension: '103' })
  t.same(across.across, { server: 'a' }, 'the target\'s server named from the start')
  t.same(across.server, 'b')
  t.equal(service.activeHereOnChannel(CUSTOMER, 'b')?.across?.server, 'a')

  const again = pool(t, { agentServer: (extension) => extension === '103' ? 'a' : 'b' })
  again.a.links = { ami: false, ari: false }
  const error = await again.service.execute({ ...blindTo102, targetExtension: '103' }).then(() => undefined, (error: unknown) => error)
  t.match(error, { code: 'XFER_ASTERISK_UNAVAILABLE', statusCode: 503, message: /server a .*the target's server/ })
  t.same(again.b.calls.filter((call) => call.method === 'redirect'), [], 'the customer is not sent into a trunk whose far end is gone')
  t.same(b.calls.filter((call) => call.method === 'redirect').length, 1)
  t.same(a.calls.filter((call) => call.method === 'redirect'), [])
})

// An attended transfer from 101 on b to 103, an agent of a: the consultation's Local pair on b dials the trunk.
const TRUNK_ON_B = 'PJSIP/pbx-a-00000011'
const INBOUND_ON_A = 'PJSIP/pbx-b-00000003'
const TARGET_ON_A = 'PJSIP/103-00000004'
const CALL_ID = 'CHANNEL(pjsip,call-id)'

async function consultationAcross (t: Test, callIdOnA: string): Promise<{ a: Server, b: Server, service: TransferService, transfer: Transfer }> {
  const { a, b, service } = pool(t, { agentServer: (extension) => extension === '103' ? 'a' : 'b' })
  b.hooks.attendedTransfer = async () => {
    b.snapshotValue = snapshotOf([CUSTOMER], [AGENT, LOCAL_1], [LOCAL_2, TRUNK_ON_B])
    void b.emitLater(hold(AGENT), newLocal('103', 1), newLocal('103', 2), bridgeLeave(AGENT), bridgeEnter(AGENT, 'b2'), bridgeEnter(LOCAL_1, 'b2'), dialBegin(LOCAL_2, TRUNK_ON_B))
  }
  await b.setVariable(TRUNK_ON_B, CALL_ID, 'abc@127.0.0.1')
  a.snapshotValue = snapshotOf([INBOUND_ON_A, TARGET_ON_A])
  await a.setVariable(INBOUND_ON_A, CALL_ID, callIdOnA)
  const transfer = await service.execute({ extension: '101', targetExtension: '103', transferType: 'attended', requestedBy: '101' })
  t.match(transfer, { status: 'consulting', server: 'b', across: { server: 'a' } })
  return { a, b, service, transfer }
}

t.test('attended across: the answer is declared once the target\'s server shows the target with this call\'s inbound leg (Call-ID), naming it', async (t) => {
  const { b, service, transfer } = await consultationAcross(t, 'abc@127.0.0.1')
  const answered = new Promise<Transfer>((resolve) => { service.events.on('call:transfer_updated', (record: Transfer) => { if (record.status === 'target_answered') resolve(record) }) })
  b.emit(dialEnd(LOCAL_2, TRUNK_ON_B, 'ANSWER'), bridgeEnter(LOCAL_2, 'b3'), bridgeEnter(TRUNK_ON_B, 'b3'))
  const record = await answered
  t.same(record.across, { server: 'a', inbound: INBOUND_ON_A, target: TARGET_ON_A })
  t.equal(record.channels.target, TRUNK_ON_B, 'the target\'s leg on the agent\'s server is the trunk leg')
  t.equal(service.getHere(transfer.id)?.status, 'target_answered')
})

t.test('attended across: the target\'s server shows the target with another call: the answer is not declared', async (t) => {
  const { b, service, transfer } = await consultationAcross(t, 'another@127.0.0.1')
  b.emit(dialEnd(LOCAL_2, TRUNK_ON_B, 'ANSWER'), bridgeEnter(LOCAL_2, 'b3'), bridgeEnter(TRUNK_ON_B, 'b3'))
  await new Promise((resolve) => setTimeout(resolve, 1800))
  t.equal(service.getHere(transfer.id)?.status, 'consulting')
  t.equal(service.getHere(transfer.id)?.across?.inbound, undefined)
})

async function answeredAcross (t: Test): Promise<{ a: Server, b: Server, service: TransferService, transfer: Transfer }> {
  const setup = await consultationAcross(t, 'abc@127.0.0.1')
  const answered = new Promise<void>((resolve) => { setup.service.events.on('call:transfer_updated', (record: Transfer) => { if (record.status === 'target_answered') resolve() }) })
  setup.b.emit(dialEnd(LOCAL_2, TRUNK_ON_B, 'ANSWER'), bridgeEnter(LOCAL_2, 'b3'), bridgeEnter(TRUNK_ON_B, 'b3'))
  await answered
  return setup
}

const settled = async (service: TransferService, id: string): Promise<Transfer | undefined> => {
  for (let i = 0; i < 100; i++) {
    const record = service.getHere(id)
    if (record === undefined || ['failed', 'completed', 'cancelled', 'abandoned'].includes(record.status)) return record
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return service.getHere(id)
}

t.test('the target\'s server restarted during a consultation across: once it is back, the transfer fails asterisk_restarted and its trunk leg is hung up (the agent back with the customer)', async (t) => {
  const { a, b, service, transfer } = await answeredAcross(t)
  a.links = { ami: false, ari: false }
  a.events.emit('connection', { ...a.links })
  t.same(b.calls.filter((call) => call.method === 'hangup'), [], 'nothing done while the server is down (nothing known of it)')
  a.startedAtValue = '2024-04-01 11:00:00'
  a.snapshotValue = NOBODY
  a.links = { ami: true, ari: true }
  a.events.emit('connection', { ...a.links })
  const record = await settled(service, transfer.id)
  t.match(record, { status: 'failed', failureReason: 'asterisk_restarted' })
  t.same(b.calls.filter((call) => call.method === 'hangup').map((call) => call.args[0]), [TRUNK_ON_B])
})

t.test('the target\'s server back without a restart, the call still there: nothing changes', async (t) => {
  const { a, b, service, transfer } = await answeredAcross(t)
  a.links = { ami: false, ari: false }
  a.events.emit('connection', { ...a.links })
  a.links = { ami: true, ari: true }
  a.events.emit('connection', { ...a.links })
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal(service.getHere(transfer.id)?.status, 'target_answered')
  t.same(b.calls.filter((call) => call.method === 'hangup'), [])
})
