import t from 'tap'
import { checkOutcome, needsCheck } from '../../src/transfers/outcome-check.js'
import { AGENT, CUSTOMER, LOCAL_1, LOCAL_2, TARGET_103, scenes, snapshotOf } from '../helpers/fake-pbx.js'

const TO_103 = { agent: AGENT, customer: CUSTOMER, target: TARGET_103 }
const channels = { agent: AGENT, peer: CUSTOMER, target: TARGET_103 }
const cancelled = { type: 'cancelled' } as const
const completed = { type: 'completed' } as const

t.test('which outcomes are checked on the bridges', async (t) => {
  t.ok(needsCheck('attended', completed))
  t.ok(needsCheck('attended', cancelled))
  t.ok(needsCheck('blind', { type: 'target_answered' }))
  t.notOk(needsCheck('attended', { type: 'target_answered' }), 'an attended answer is the consultation, the customer is on hold')
  t.notOk(needsCheck('blind', { type: 'customer_hung_up' }))
  t.notOk(needsCheck('attended', { type: 'target_failed', reason: 'target_busy' }))
})

t.test('cancelled', async (t) => {
  t.equal(checkOutcome(channels, cancelled, scenes.talking(TO_103)), 'confirmed', 'the agent is back with the customer')
  t.equal(checkOutcome(channels, cancelled, scenes.consultation(TO_103)), 'not_yet', 'the customer is alone on hold')
  t.equal(checkOutcome(channels, cancelled, snapshotOf([AGENT, LOCAL_1], [LOCAL_2, TARGET_103])), 'customer_gone')
  t.equal(checkOutcome(channels, cancelled, scenes.customerWithTargetThroughLocal(TO_103)), 'not_yet', 'the customer is with 103: not a cancel')
})

t.test('completed', async (t) => {
  t.equal(checkOutcome(channels, completed, scenes.customerWithTargetThroughLocal(TO_103)), 'confirmed', 'through the Local pair')
  t.equal(checkOutcome(channels, completed, scenes.talking(TO_103)), 'not_yet')
  t.equal(checkOutcome(channels, completed, snapshotOf([TARGET_103])), 'customer_gone')
  t.equal(checkOutcome({ agent: AGENT, peer: CUSTOMER }, completed, scenes.customerWithTarget(TO_103)), 'confirmed', 'target leg not known yet: anyone but the agent')
  t.equal(checkOutcome({ agent: AGENT, peer: CUSTOMER }, completed, scenes.talking(TO_103)), 'not_yet')
})
