// Where a request for a transfer this instance does not follow goes, with several instances.
import t from 'tap'
import type { Transfer } from '../../src/domain/transfer.js'
import { freshTracking } from '../../src/domain/tracking.js'
import type { FoundTransfer } from '../../src/store/transfer-store.js'
import { routeRequest } from '../../src/transfers/request-routing.js'
import { canCancel, canComplete } from '../../src/transfers/state.js'
import { transferRecord } from '../helpers/transfer-records.js'

function found (owner: string | undefined, status: Transfer['status'] = 'target_answered', type: Transfer['type'] = 'attended'): FoundTransfer {
  const record = transferRecord({ type, status })
  return { stored: { record, dialTarget: { exten: '103', context: 'from-internal', kind: 'agent' }, tracking: freshTracking() }, owner }
}

t.test('owned by another instance: sent to its owner', async (t) => {
  t.same(routeRequest(found('b'), 'a', canComplete), { kind: 'owner', owner: 'b' })
})

t.test('owned by nobody (its owner\'s lease ran out): taken over here', async (t) => {
  t.same(routeRequest(found(undefined), 'a', canComplete), { kind: 'take_over' })
})

t.test('recorded as this instance\'s but not followed here: taken back from itself', async (t) => {
  t.same(routeRequest(found('a'), 'a', canComplete), { kind: 'take_over', from: 'a' })
})

t.test('over, blind, or not in a state for the action: refused here, whoever owns it', async (t) => {
  t.same(routeRequest(found('b', 'completed'), 'a', canCancel), { kind: 'refuse' })
  t.same(routeRequest(found('b', 'redirected', 'blind'), 'a', canCancel), { kind: 'refuse' })
  t.same(routeRequest(found('b', 'consulting'), 'a', canComplete), { kind: 'refuse' }, 'complete before the answer')
  t.same(routeRequest(found('b', 'consulting'), 'a', canCancel), { kind: 'owner', owner: 'b' }, 'cancel while it rings')
})
