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
  t.ok(needsCheck('attended', { type: 'swapped', talkingTo: 'customer' }))
  t.ok(needsCheck('attended', { type: 'three_way' }))
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

t.test('blind answered with a Local half as the target (its far half dialled before the customer\'s DialBegin named it): whoever is behind it', async (t) => {
  const answered = { type: 'target_answered' } as const
  const throughLocal = { agent: AGENT, peer: CUSTOMER, target: LOCAL_1 }
  t.equal(checkOutcome(throughLocal, answered, snapshotOf([CUSTOMER, LOCAL_1], [LOCAL_2, TARGET_103])), 'confirmed', 'through the Local pair')
  t.equal(checkOutcome(throughLocal, answered, snapshotOf([CUSTOMER, TARGET_103])), 'confirmed', 'after Asterisk optimised the pair away')
  t.equal(checkOutcome(throughLocal, answered, scenes.talking(TO_103)), 'not_yet', 'still with the agent')
  t.equal(checkOutcome(throughLocal, answered, snapshotOf([CUSTOMER], [AGENT])), 'not_yet', 'the customer alone')
})

t.test('swapped to the customer: the agent with the customer, the target waiting', async (t) => {
  const toCustomer = { type: 'swapped', talkingTo: 'customer' } as const
  t.equal(checkOutcome(channels, toCustomer, scenes.swappedToCustomer(TO_103)), 'confirmed')
  t.equal(checkOutcome(channels, toCustomer, scenes.consultation(TO_103)), 'not_yet', 'still with the target')
  t.equal(checkOutcome(channels, toCustomer, snapshotOf([AGENT, LOCAL_1], [LOCAL_2, TARGET_103])), 'customer_gone')
})

t.test('swapped back to the target: the agent with the target through the Local pair, the customer waiting', async (t) => {
  const toTarget = { type: 'swapped', talkingTo: 'target' } as const
  t.equal(checkOutcome(channels, toTarget, scenes.consultation(TO_103)), 'confirmed')
  t.equal(checkOutcome(channels, toTarget, scenes.swappedToCustomer(TO_103)), 'not_yet', 'still with the customer')
  t.equal(checkOutcome(channels, toTarget, snapshotOf([CUSTOMER], [AGENT, LOCAL_1], [LOCAL_2, 'PJSIP/104-00000031'])), 'not_yet', 'with another leg than the target\'s')
  t.equal(checkOutcome({ agent: AGENT, peer: CUSTOMER }, toTarget, scenes.consultation(TO_103)), 'confirmed', 'target leg not known: anyone but the customer')
  t.equal(checkOutcome(channels, toTarget, scenes.threeWay(TO_103)), 'not_yet', 'a three-way is no swap')
})

t.test('three-way: customer, agent and a third party in one bridge', async (t) => {
  const threeWay = { type: 'three_way' } as const
  t.equal(checkOutcome(channels, threeWay, scenes.threeWay(TO_103)), 'confirmed')
  t.equal(checkOutcome(channels, threeWay, scenes.threeWayThroughLocal(TO_103)), 'confirmed', 'before the Local pair is optimised away')
  t.equal(checkOutcome(channels, threeWay, scenes.consultation(TO_103)), 'not_yet')
  t.equal(checkOutcome(channels, threeWay, scenes.swappedToCustomer(TO_103)), 'not_yet', 'agent and customer alone together')
  t.equal(checkOutcome(channels, threeWay, snapshotOf([CUSTOMER, TARGET_103, 'PJSIP/104-00000031'], [AGENT])), 'not_yet', 'the agent is not in it')
})

t.test('from a three-way: the agent leaving completes, the target leaving cancels', async (t) => {
  t.equal(checkOutcome(channels, completed, scenes.customerWithTarget(TO_103)), 'confirmed')
  t.equal(checkOutcome(channels, completed, scenes.threeWay(TO_103)), 'not_yet', 'the agent is still there')
  t.equal(checkOutcome(channels, cancelled, scenes.talking(TO_103)), 'confirmed')
  t.equal(checkOutcome(channels, cancelled, scenes.threeWay(TO_103)), 'not_yet', 'the target is still there')
})
