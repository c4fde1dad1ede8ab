import t from 'tap'
import { canCancel, canComplete, canSwap, canThreeWay, transition, type TransferInput } from '../../src/transfers/state.js'
import { isFinal, type TransferStatus } from '../../src/domain/transfer.js'

const inputs: Record<TransferInput['type'], TransferInput> = {
  redirect_accepted: { type: 'redirect_accepted' },
  consultation_started: { type: 'consultation_started' },
  target_answered: { type: 'target_answered' },
  target_failed: { type: 'target_failed', reason: 'target_busy' },
  target_hung_up: { type: 'target_hung_up' },
  completed: { type: 'completed' },
  cancelled: { type: 'cancelled' },
  customer_hung_up: { type: 'customer_hung_up' },
  action_failed: { type: 'action_failed', reason: 'asterisk_refused' },
  delivered: { type: 'delivered' },
  recall_started: { type: 'recall_started', reason: 'no_answer' },
  recalled: { type: 'recalled', recall: { to: 'agent' } },
  lost: { type: 'lost', reason: 'asterisk_restarted' },
  swapped: { type: 'swapped', talkingTo: 'customer' },
  three_way: { type: 'three_way' }
}

/** Every transition the machine allows; every other (state, input) pair must be refused. */
const allowed: Array<[TransferStatus, TransferInput['type'], TransferStatus, string?]> = [
  ['initiated', 'redirect_accepted', 'redirected'],
  ['initiated', 'consultation_started', 'consulting'],
  ['initiated', 'action_failed', 'failed', 'asterisk_refused'],
  ['initiated', 'customer_hung_up', 'abandoned'],
  ['redirected', 'target_answered', 'answered'],
  ['redirected', 'target_failed', 'failed', 'target_busy'],
  ['redirected', 'target_hung_up', 'failed', 'target_hung_up'],
  ['redirected', 'action_failed', 'failed', 'asterisk_refused'],
  ['redirected', 'customer_hung_up', 'abandoned'],
  ['consulting', 'target_answered', 'target_answered'],
  ['consulting', 'target_failed', 'failed', 'target_busy'],
  ['consulting', 'target_hung_up', 'failed', 'target_hung_up'],
  ['consulting', 'completed', 'completed'],
  ['consulting', 'cancelled', 'cancelled'],
  ['consulting', 'action_failed', 'failed', 'asterisk_refused'],
  ['consulting', 'customer_hung_up', 'abandoned'],
  ['consulting', 'three_way', 'three_way'],
  ['consulting', 'swapped', 'consulting'],
  ['target_answered', 'completed', 'completed'],
  ['target_answered', 'cancelled', 'cancelled'],
  ['target_answered', 'target_hung_up', 'failed', 'target_hung_up'],
  ['target_answered', 'customer_hung_up', 'abandoned'],
  // A swap changes whom the agent talks to, not where the transfer is.
  ['target_answered', 'swapped', 'target_answered'],
  ['target_answered', 'three_way', 'three_way'],
  // From a three-way: the agent leaves (completed), the target leaves (cancelled), the customer hangs up.
  ['three_way', 'completed', 'completed'],
  ['three_way', 'cancelled', 'cancelled'],
  ['three_way', 'customer_hung_up', 'abandoned'],
  ['three_way', 'lost', 'failed', 'asterisk_restarted'],
  ['redirected', 'delivered', 'answered'],
  ['redirected', 'recall_started', 'recalling', 'no_answer'],
  ['recalling', 'recalled', 'failed'],
  ['recalling', 'customer_hung_up', 'abandoned'],
  ['recalling', 'lost', 'failed', 'asterisk_restarted'],
  // Every state that is not final can be lost (reconciliation, deadline), with the reason.
  ['initiated', 'lost', 'failed', 'asterisk_restarted'],
  ['redirected', 'lost', 'failed', 'asterisk_restarted'],
  ['consulting', 'lost', 'failed', 'asterisk_restarted'],
  ['target_answered', 'lost', 'failed', 'asterisk_restarted']
]

const states: TransferStatus[] = ['initiated', 'redirected', 'recalling', 'answered', 'consulting', 'target_answered', 'three_way', 'completed', 'cancelled', 'failed', 'abandoned']

t.test('every allowed transition leads where the lifecycle says, with the failure reason', async (t) => {
  for (const [from, input, to, reason] of allowed) {
    const next = transition({ state: from }, inputs[input])
    t.same(next, reason === undefined ? { state: to } : { state: to, reason }, `${from} + ${input}`)
  }
})

t.test('every other (state, input) pair is refused and changes nothing', async (t) => {
  let refused = 0
  for (const state of states) {
    for (const input of Object.values(inputs)) {
      if (allowed.some(([from, type]) => from === state && type === input.type)) continue
      t.equal(transition({ state }, input), undefined, `${state} + ${input.type}`)
      refused++
    }
  }
  t.equal(refused, states.length * Object.keys(inputs).length - allowed.length)
})

t.test('final states accept nothing, so a finished transfer can never move again', async (t) => {
  for (const state of states.filter(isFinal)) {
    for (const input of Object.values(inputs)) t.equal(transition({ state }, input), undefined)
  }
  t.same(states.filter(isFinal), ['answered', 'completed', 'cancelled', 'failed', 'abandoned'])
})

t.test('the failure reason comes from the input', async (t) => {
  t.same(transition({ state: 'consulting' }, { type: 'target_failed', reason: 'no_answer' }), { state: 'failed', reason: 'no_answer' })
  t.same(transition({ state: 'initiated' }, { type: 'action_failed', reason: 'timed_out' }), { state: 'failed', reason: 'timed_out' })
  t.same(transition({ state: 'initiated' }, { type: 'action_failed', reason: 'unknown_target' }), { state: 'failed', reason: 'unknown_target' })
  t.same(transition({ state: 'target_answered' }, { type: 'lost', reason: 'deadline_exceeded' }), { state: 'failed', reason: 'deadline_exceeded' })
  t.same(transition({ state: 'redirected' }, { type: 'lost', reason: 'call_ended' }), { state: 'failed', reason: 'call_ended' })
})

t.test('a recall ends failed with the reason the target failed with, found when it started', async (t) => {
  const recalling = transition({ state: 'redirected' }, { type: 'recall_started', reason: 'target_busy' })
  t.same(recalling, { state: 'recalling', reason: 'target_busy' })
  t.same(transition(recalling as { state: 'recalling', reason: 'target_busy' }, { type: 'recalled', recall: { to: 'fallback', destination: 'sales' } }), { state: 'failed', reason: 'target_busy' })
  t.same(transition({ state: 'recalling', reason: 'no_answer' }, { type: 'customer_hung_up' }), { state: 'abandoned' }, 'the customer hanging up while it rings back')
})

t.test('a consultation can be cancelled answered or not, completed only once the target answered', async (t) => {
  t.same(states.filter(canCancel), ['consulting', 'target_answered', 'three_way'])
  t.same(states.filter(canComplete), ['target_answered', 'three_way'])
})

t.test('swap and three-way only once the target answered, while Asterisk\'s attended transfer runs', async (t) => {
  t.same(states.filter(canSwap), ['target_answered'])
  t.same(states.filter(canThreeWay), ['target_answered'])
})
