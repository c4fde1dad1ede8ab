import t from 'tap'
import type { Transfer } from '../../src/domain/transfer.js'
import type { StoredTransfer } from '../../src/store/transfer-store.js'
import { stateToGoOnFrom } from '../../src/transfers/takeover-state.js'
import { transferRecord } from '../helpers/transfer-records.js'

const at = (second: number): string => new Date(Date.UTC(2026, 11, 7, 6, 0, second)).toISOString()
const record = (status: Transfer['status'], second: number): Transfer =>
  transferRecord({ status, createdAt: at(0), updatedAt: at(second) }, { agent: 'PJSIP/101-1', peer: 'PJSIP/trunk-2' })
const stored = (status: Transfer['status'], second: number): StoredTransfer => ({
  record: record(status, second),
  dialTarget: { exten: '103', context: 'from-internal', kind: 'agent' },
  tracking: { handedOver: true, reached: false, cancelRequested: false, targetHungUp: false },
  revision: 4
})

t.test('the published record when it is newer; what only the store keeps stays', async (t) => {
  const found = stored('initiated', 1)
  const published = record('target_answered', 2)
  const state = stateToGoOnFrom(found, published)
  t.equal(state.record, published)
  t.same({ dialTarget: state.dialTarget, tracking: state.tracking, revision: state.revision }, { dialTarget: found.dialTarget, tracking: found.tracking, revision: 4 })
})

t.test('the stored one when the published one is older, as old, another transfer\'s, or unknown', async (t) => {
  const found = stored('target_answered', 2)
  t.equal(stateToGoOnFrom(found, record('consulting', 1)), found, 'older')
  t.equal(stateToGoOnFrom(found, record('consulting', 2)), found, 'the same time: the store, which also has what was learned without an announcement')
  t.equal(stateToGoOnFrom(found, { ...record('completed', 3), id: 'another' }), found, 'another transfer')
  t.equal(stateToGoOnFrom(found, undefined), found, 'nothing published (the feed no longer holds it)')
})
