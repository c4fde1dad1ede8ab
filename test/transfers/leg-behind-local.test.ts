// The leg a Local half stands for as a transfer's target, once the bridges show it.
import t from 'tap'
import { legBehindLocalTarget } from '../../src/transfers/call-topology.js'
import { AGENT, CUSTOMER, LOCAL_1, LOCAL_2, TARGET_102, TARGET_103, snapshotOf } from '../helpers/fake-pbx.js'

t.test('a Local target gives way to the phone bridged with the customer', async (t) => {
  t.equal(legBehindLocalTarget(snapshotOf([CUSTOMER, TARGET_103]), { agent: AGENT, peer: CUSTOMER, target: LOCAL_2 }), TARGET_103)
})

t.test('nothing to learn: a real target, no target, the agent back with the customer, or another Local half', async (t) => {
  t.equal(legBehindLocalTarget(snapshotOf([CUSTOMER, TARGET_103]), { agent: AGENT, peer: CUSTOMER, target: TARGET_102 }), undefined)
  t.equal(legBehindLocalTarget(snapshotOf([CUSTOMER, TARGET_103]), { agent: AGENT, peer: CUSTOMER }), undefined)
  t.equal(legBehindLocalTarget(snapshotOf([CUSTOMER, AGENT]), { agent: AGENT, peer: CUSTOMER, target: LOCAL_2 }), undefined)
  t.equal(legBehindLocalTarget(snapshotOf([CUSTOMER, LOCAL_1]), { agent: AGENT, peer: CUSTOMER, target: LOCAL_2 }), undefined)
  t.equal(legBehindLocalTarget(snapshotOf([CUSTOMER]), { agent: AGENT, peer: CUSTOMER, target: LOCAL_2 }), undefined, 'not bridged yet')
})
