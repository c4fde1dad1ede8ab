// What a transfer takes from one tracker outcome: facts, the target leg, and what must follow.
import t from 'tap'
import type { Transfer } from '../../src/domain/transfer.js'
import { freshTracking } from '../../src/domain/tracking.js'
import { absorbOutcome, type AbsorbingTransfer } from '../../src/transfers/outcome-absorption.js'
import { transferRecord } from '../helpers/transfer-records.js'
import { LOCAL_1, LOCAL_2, TARGET_102, TARGET_103 } from '../helpers/fake-pbx.js'

function transfer (type: Transfer['type'], status: Transfer['status'], channels: Partial<Transfer['channels']> = {}, confirming = false): AbsorbingTransfer {
  return {
    record: transferRecord({ type, status }, channels),
    tracking: freshTracking(),
    momentary: { agentHeld: false },
    confirming
  }
}

t.test('facts are learned into copies: the transfer\'s own tracking is not changed in place', async (t) => {
  const before = transfer('attended', 'consulting', { consultation: LOCAL_1 })
  const absorbed = absorbOutcome(before, { handedOver: true, targetHungUp: true, agentHeld: true, firstToLeave: 'target' })
  t.same(absorbed.tracking, { ...freshTracking(), handedOver: true, targetHungUp: true })
  t.same(absorbed.momentary, { agentHeld: true, firstToLeave: 'target' })
  t.equal(absorbed.handedOver, true)
  t.same(before.tracking, freshTracking(), 'the original is untouched')
  t.same(absorbed.next, { kind: 'none' })
})

t.test('firstToLeave null: both are bridged again, nobody left first', async (t) => {
  const before = { ...transfer('attended', 'target_answered'), momentary: { agentHeld: false, firstToLeave: 'agent' as const } }
  t.equal(absorbOutcome(before, { firstToLeave: null }).momentary.firstToLeave, undefined)
})

t.test('the target leg: learned when none is known, a Local leg gives way to the real one, an answer names its leg', async (t) => {
  t.equal(absorbOutcome(transfer('blind', 'redirected'), { channels: { target: TARGET_102 } }).target, TARGET_102)
  t.equal(absorbOutcome(transfer('blind', 'redirected', { target: LOCAL_2 }), { channels: { target: TARGET_102 } }).target, TARGET_102)
  t.equal(absorbOutcome(transfer('attended', 'consulting', { target: TARGET_103 }), { channels: { target: TARGET_102 } }).target, undefined, 'a real leg is kept')
  t.equal(absorbOutcome(transfer('attended', 'consulting', { target: TARGET_103 }), { channels: { target: TARGET_102 }, input: { type: 'target_answered' } }).target, TARGET_102)
})

t.test('what follows: applied, confirmed on the bridges first, or an abort to judge', async (t) => {
  t.same(absorbOutcome(transfer('blind', 'redirected'), { input: { type: 'target_failed', reason: 'target_busy' } }).next, { kind: 'apply', input: { type: 'target_failed', reason: 'target_busy' } })
  t.same(absorbOutcome(transfer('blind', 'redirected'), { input: { type: 'target_answered' } }).next, { kind: 'confirm', input: { type: 'target_answered' } })
  t.same(absorbOutcome(transfer('attended', 'consulting'), { input: { type: 'target_answered' } }).next, { kind: 'apply', input: { type: 'target_answered' } }, 'an attended answer needs no look')
  t.same(absorbOutcome(transfer('attended', 'consulting'), { aborted: true, mayBeSwap: true }).next, { kind: 'judge_abort', mayBeSwap: true })
  t.same(absorbOutcome(transfer('attended', 'target_answered'), { aborted: true }).next, { kind: 'judge_abort', mayBeSwap: false })
})

t.test('while an outcome is being confirmed, only the customer hanging up is news', async (t) => {
  const confirming = transfer('attended', 'target_answered', {}, true)
  t.same(absorbOutcome(confirming, { aborted: true }).next, { kind: 'none' })
  t.same(absorbOutcome(confirming, { input: { type: 'target_hung_up' } }).next, { kind: 'none' })
  t.same(absorbOutcome(confirming, { input: { type: 'customer_hung_up' } }).next, { kind: 'apply', input: { type: 'customer_hung_up' } })
})

t.test('a skipped recall: the transfer no longer counts on it (the target\'s failure is its own outcome)', async (t) => {
  const before = { ...transfer('blind', 'redirected'), tracking: { ...freshTracking(), recall: { context: 'fastify-transfer-recall' } } }
  const absorbed = absorbOutcome(before, { recallSkipped: true })
  t.equal(absorbed.tracking.recall, undefined)
  t.same(before.tracking.recall, { context: 'fastify-transfer-recall' }, 'the original is untouched')
  t.same(absorbed.next, { kind: 'none' })
})
