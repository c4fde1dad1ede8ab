// Which servers of the pool a request needs: the agent's, the target's when it is another one, and for
// an action on a transfer that crossed into another server, that one (but a cancel).
import t from 'tap'
import { PoolEngines } from '../../src/transfers/pool-engines.js'
import type { TransferEngine } from '../../src/transfers/transfer-engine.js'
import type { Transfer } from '../../src/domain/transfer.js'
import { transferRecord } from '../helpers/transfer-records.js'

function engine (server: string, reachable: boolean, callsOf: string[] = []): TransferEngine {
  return { server, health: { reachable: () => reachable }, locator: { knowsCallOf: (extension: string) => callsOf.includes(extension) } } as unknown as TransferEngine
}

const servers = (a: boolean, b: boolean): Map<string, TransferEngine> => new Map([['a', engine('a', a, ['101'])], ['b', engine('b', b)]])
const serverOf = (extension: string): string | undefined => extension.startsWith('3') ? 'b' : extension.startsWith('1') ? 'a' : undefined

t.test('the target\'s server: named when it is another one, refused 503 naming it when it is down', async (t) => {
  const up = new PoolEngines(servers(true, true), serverOf)
  const a = await up.ofAgent('101')
  t.equal(a.server, 'a')
  t.equal(await up.targetAcross(a, '301'), 'b')
  t.equal(await up.targetAcross(a, '102'), undefined, 'the same server: nothing across')
  t.equal(await up.targetAcross(a, 'sales'), undefined, 'a destination of no server: nothing across')
  const down = new PoolEngines(servers(true, false), serverOf)
  await t.rejects(down.targetAcross(await down.ofAgent('101'), '301'), { code: 'XFER_ASTERISK_UNAVAILABLE', statusCode: 503, message: /server b .*target's server/ })
  t.equal(await new PoolEngines(new Map([['a', engine('a', true, ['101'])]]), () => 'b').targetAcross(a, '301'), undefined, 'a pool of one: never across')
})

t.test('an action on a transfer that crossed into a server that is down: refused naming it, but a cancel (the customer comes back on the agent\'s server)', async (t) => {
  const crossed: Transfer = { ...transferRecord({ type: 'attended', status: 'target_answered' }), across: { server: 'b', inbound: 'PJSIP/pbx1-00000001', target: 'PJSIP/301-00000002' } }
  const down = new PoolEngines(servers(true, false), serverOf)
  for (const action of ['complete', 'swap', 'three_way'] as const) {
    t.throws(() => { down.checkCrossed(crossed, action) }, { code: 'XFER_ASTERISK_UNAVAILABLE', message: /server b/ }, action)
  }
  t.doesNotThrow(() => { down.checkCrossed(crossed, 'cancel') })
  t.doesNotThrow(() => { new PoolEngines(servers(true, true), serverOf).checkCrossed(crossed, 'complete') }, 'the server up')
  t.doesNotThrow(() => { down.checkCrossed({ ...crossed, across: undefined }, 'complete') }, 'a transfer on one server')
})

t.test('the agent\'s server down: refused naming it as the agent\'s', async (t) => {
  await t.rejects(new PoolEngines(servers(false, true), serverOf).ofAgent('101'), { code: 'XFER_ASTERISK_UNAVAILABLE', message: /server a .*agent's server/ })
})
