import t from 'tap'
import type { Transfer } from '../../src/routes/schemas.js'
import { DEFAULT_SERVER } from '../../src/domain/server.js'
import { TransferRegistry } from '../../src/transfers/transfer-registry.js'
import { AGENT, CUSTOMER, LOCAL_1, LOCAL_2, TARGET_103 as TARGET } from '../helpers/fake-pbx.js'
import { transferRecord } from '../helpers/transfer-records.js'
import type { TransferStatus } from '../../src/domain/transfer.js'

/** An attended transfer `id` of agent 101 in `status`, with these channels besides the agent and customer. */
function attended (id: string, status: TransferStatus = 'consulting', channels: Partial<Transfer['channels']> = {}): Transfer {
  return transferRecord({ id, status, createdAt: '2024-04-01T10:00:00.000Z', updatedAt: '2024-04-01T10:00:00.000Z' }, channels)
}

const idsOn = (registry: TransferRegistry, channel: string, server = DEFAULT_SERVER): string[] => registry.activeOn(server, channel).map((transfer) => transfer.id)

/** A new record registers its transfer, a known one's change replaces its record. */
function save (registry: TransferRegistry, record: Transfer): void {
  const active = registry.activeById(record.id)
  if (active === undefined) registry.register(record, { exten: record.targetExtension, context: 'from-internal', kind: 'free' })
  else registry.replace(active, record)
}

t.test('an active transfer is found by every channel it involves, the Local counterpart included', async (t) => {
  const registry = new TransferRegistry()
  save(registry, attended('x1', 'target_answered', { consultation: LOCAL_1, target: TARGET }))
  for (const channel of [AGENT, CUSTOMER, LOCAL_1, LOCAL_2, TARGET]) t.same(idsOn(registry, channel), ['x1'], channel)
  t.same(idsOn(registry, 'PJSIP/102-0000002b'), [])
  t.equal(registry.get('x1')?.status, 'target_answered')
})

t.test('the index follows the transfer\'s changes', async (t) => {
  const registry = new TransferRegistry()
  save(registry, attended('x1'))
  t.same(idsOn(registry, LOCAL_2), [])
  save(registry, attended('x1', 'consulting', { consultation: LOCAL_1, target: TARGET }))
  t.same(idsOn(registry, LOCAL_2), ['x1'])
  t.same(idsOn(registry, TARGET), ['x1'])
  save(registry, attended('x1', 'consulting', { consultation: LOCAL_1, target: 'PJSIP/103-0000002e' }))
  t.same(idsOn(registry, TARGET), [], 'the old target leg no longer leads to it')
  t.same(idsOn(registry, 'PJSIP/103-0000002e'), ['x1'])
})

t.test('transfers sharing a channel are each found, and leave the index on their own', async (t) => {
  const registry = new TransferRegistry()
  save(registry, attended('x1'))
  save(registry, attended('x2'))
  t.same(idsOn(registry, AGENT), ['x1', 'x2'])
  save(registry, attended('x1', 'cancelled'))
  t.same(idsOn(registry, AGENT), ['x2'])
})

t.test('a finished transfer leaves the index and active(), but can still be read', async (t) => {
  const registry = new TransferRegistry()
  save(registry, attended('x1', 'target_answered', { consultation: LOCAL_1, target: TARGET }))
  save(registry, attended('x1', 'completed', { consultation: LOCAL_1, target: TARGET }))
  for (const channel of [AGENT, CUSTOMER, LOCAL_1, LOCAL_2, TARGET]) t.same(idsOn(registry, channel), [], channel)
  t.same(registry.activeRecords(), [])
  t.equal(registry.get('x1')?.status, 'completed')
})

t.test('finished transfers are kept up to the limit, then evicted oldest first; active ones never', async (t) => {
  const registry = new TransferRegistry(2)
  save(registry, attended('active'))
  for (const id of ['f1', 'f2', 'f3']) {
    save(registry, attended(id))
    save(registry, attended(id, 'failed'))
  }
  t.equal(registry.get('f1'), undefined, 'the oldest finished is gone')
  t.same(['f2', 'f3', 'active'].map((id) => registry.get(id)?.id), ['f2', 'f3', 'active'])
  save(registry, attended('f4', 'abandoned'))
  t.equal(registry.get('f2'), undefined, 'a transfer saved already finished counts too')
})

t.test('saving a finished transfer again does not count it twice', async (t) => {
  const registry = new TransferRegistry(2)
  save(registry, attended('f1', 'failed'))
  save(registry, attended('f1', 'failed'))
  save(registry, attended('f2', 'failed'))
  t.equal(registry.get('f1')?.id, 'f1')
})

t.test('active() lists the transfers that are not over', async (t) => {
  const registry = new TransferRegistry()
  const states: TransferStatus[] = ['initiated', 'redirected', 'consulting', 'target_answered', 'answered', 'completed', 'cancelled', 'failed', 'abandoned']
  states.forEach((status, index) => save(registry, attended(`x${index}`, status)))
  t.same(registry.activeRecords().map((transfer) => transfer.status), ['initiated', 'redirected', 'consulting', 'target_answered'])
})

t.test('channels are keyed by server: the same channel name on two servers leads to each server\'s transfer only', async (t) => {
  const registry = new TransferRegistry()
  save(registry, { ...attended('on-a'), server: 'a' })
  save(registry, { ...attended('on-b'), server: 'b' })
  t.same(idsOn(registry, AGENT, 'a'), ['on-a'])
  t.same(idsOn(registry, AGENT, 'b'), ['on-b'])
  t.same(idsOn(registry, AGENT), [], 'nothing on the default server')
  save(registry, { ...attended('on-a', 'cancelled'), server: 'a' })
  t.same(idsOn(registry, AGENT, 'b'), ['on-b'], 'the other server\'s transfer stays')
})
