// The single instance's store: the invariant "one transfer per call" rests on `open` checking and
// locking a call in one synchronous step. Two claims started in the same tick must not both pass:
// an `await` added between the check and the lock would let them, and this test would fail.
import t from 'tap'
import type { Transfer } from '../../src/domain/transfer.js'
import { freshTracking } from '../../src/domain/tracking.js'
import { MemoryTransferStore } from '../../src/store/memory-transfer-store.js'
import type { StoredTransfer } from '../../src/store/transfer-store.js'

function stored (id: string, status: Transfer['status'] = 'initiated'): StoredTransfer {
  const record: Transfer = {
    id,
    type: 'blind',
    status,
    origin: 'plugin',
    extension: '101',
    targetExtension: '102',
    requestedBy: '101',
    channels: { agent: 'PJSIP/101-00000001', peer: 'PJSIP/trunk-00000002' },
    createdAt: '',
    updatedAt: ''
  }
  return { record, dialTarget: { exten: '102', context: 'from-internal', kind: 'agent' }, tracking: freshTracking() }
}

const CALL = ['default:PJSIP/101-00000001', 'default:PJSIP/trunk-00000002']

t.test('two claims of one call started in the same tick: one wins, the other names it', async (t) => {
  const store = new MemoryTransferStore('local')
  const [first, second] = await Promise.all([store.open(stored('a'), CALL, 10), store.open(stored('b'), [CALL[1] as string], 10)])
  t.same(first, { ok: true })
  t.same(second, { ok: false, busyWith: 'a' })
})

t.test('the claim is taken before open returns: a check right after, without awaiting, already sees it', async (t) => {
  const store = new MemoryTransferStore('local')
  const pending = store.open(stored('a'), CALL, 10)
  const during = store.open(stored('b'), CALL, 10)
  t.same(await during, { ok: false, busyWith: 'a' })
  t.same(await pending, { ok: true })
})

t.test('the cap counts claims started in the same tick', async (t) => {
  const store = new MemoryTransferStore('local')
  const results = await Promise.all([
    store.open(stored('a'), ['default:PJSIP/1'], 1),
    store.open(stored('b'), ['default:PJSIP/2'], 1)
  ])
  t.same(results, [{ ok: true }, { ok: false, full: true }])
})

t.test('a final save releases the call; the same channel on another server was never locked', async (t) => {
  const store = new MemoryTransferStore('local')
  t.same(await store.open(stored('a'), CALL, 10), { ok: true })
  t.same(await store.open(stored('x'), ['pbx2:PJSIP/101-00000001'], 10), { ok: true }, 'another server\'s channel of the same name')
  await store.save(stored('a', 'answered'), CALL)
  t.same(await store.open(stored('b'), CALL, 10), { ok: true })
})
