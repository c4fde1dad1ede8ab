// What a transfer in progress has become, judged from the PBX alone (after a reconnect, on the timer,
// at a deadline).
import t from 'tap'
import { reconcile } from '../../src/transfers/reconciliation.js'
import type { TrackedTransfer } from '../../src/transfers/tracker.js'
import { AGENT, CUSTOMER, LOCAL_1, TARGET_102, TARGET_103, scenes, snapshotOf } from '../helpers/fake-pbx.js'

const TO_103 = { agent: AGENT, customer: CUSTOMER, target: TARGET_103 }
const blind: TrackedTransfer = { type: 'blind', status: 'redirected', channels: { agent: AGENT, peer: CUSTOMER } }
const attended = (status: TrackedTransfer['status']): TrackedTransfer =>
  ({ type: 'attended', status, channels: { agent: AGENT, peer: CUSTOMER, consultation: LOCAL_1 } })
const empty = { channels: [], bridges: [] }

t.test('a customer who is gone: lost, asterisk_restarted after a restart, call_ended otherwise', async (t) => {
  t.same(reconcile(blind, empty, { restarted: true }), { type: 'lost', reason: 'asterisk_restarted' })
  t.same(reconcile(attended('target_answered'), empty, { restarted: false }), { type: 'lost', reason: 'call_ended' })
  t.same(reconcile(attended('consulting'), snapshotOf([AGENT]), { restarted: true }), { type: 'lost', reason: 'asterisk_restarted' })
})

t.test('blind: the customer bridged with the target is answered; still dialing is no change', async (t) => {
  t.same(reconcile(blind, snapshotOf([CUSTOMER, TARGET_102]), { restarted: false }), { type: 'target_answered' })
  t.equal(reconcile(blind, { channels: snapshotOf([CUSTOMER]).channels, bridges: [] }, { restarted: false }), undefined)
  t.equal(reconcile(blind, snapshotOf([CUSTOMER, AGENT]), { restarted: false }), undefined, 'still with the agent: not answered')
})

t.test('attended: completed, cancelled or answered while the plugin was blind', async (t) => {
  t.same(reconcile(attended('target_answered'), scenes.customerWithTargetThroughLocal(TO_103), { restarted: false }), { type: 'completed' })
  t.same(reconcile(attended('consulting'), snapshotOf([CUSTOMER, AGENT]), { restarted: false }), { type: 'cancelled' })
  t.same(reconcile(attended('consulting'), scenes.consultation(TO_103), { restarted: false }), { type: 'target_answered' })
  t.equal(reconcile(attended('target_answered'), scenes.consultation(TO_103), { restarted: false }), undefined, 'the consultation goes on')
})

t.test('attended: the agent gone while the target still rings (handed over) is no change yet', async (t) => {
  const handedOver = { channels: snapshotOf([CUSTOMER, LOCAL_1]).channels, bridges: snapshotOf([CUSTOMER, LOCAL_1]).bridges }
  t.equal(reconcile(attended('consulting'), handedOver, { restarted: false }), undefined)
})

t.test('a three-way: the agent gone is completed, the target gone (the agent with the customer) is cancelled', async (t) => {
  const threeWay: TrackedTransfer = { type: 'attended', status: 'three_way', channels: { agent: AGENT, peer: CUSTOMER, consultation: LOCAL_1, target: TARGET_103 } }
  const legs = { agent: AGENT, customer: CUSTOMER, target: TARGET_103 }
  t.equal(reconcile(threeWay, scenes.threeWay(legs), { restarted: false }), undefined, 'still three')
  t.same(reconcile(threeWay, scenes.customerWithTarget(legs), { restarted: false }), { type: 'completed' })
  t.same(reconcile(threeWay, scenes.talking(legs), { restarted: false }), { type: 'cancelled' })
})
