// One transfer service over a pool of Asterisk servers: one engine per server, a request goes to the
// server the agent's call is on, a server that cannot be seen answers 503 at once naming it.
import t, { type Test } from 'tap'
import type { CallSnapshot } from '../../src/asterisk/pbx.js'
import { TransferService } from '../../src/transfers/transfer-service.js'
import { AGENT, CONTEXT, CUSTOMER, FakePbx, TARGET_102, scenes } from '../helpers/fake-pbx.js'

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
