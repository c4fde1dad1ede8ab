// A transfer's record after an input: state, reason, whom the agent talks to, recall, error, time.
import t from 'tap'
import type { Transfer } from '../../src/domain/transfer.js'
import { nextRecord } from '../../src/transfers/record-transition.js'
import { AGENT, CUSTOMER, LOCAL_1 } from '../helpers/fake-pbx.js'
import { transferRecord } from '../helpers/transfer-records.js'

const NOW = Date.parse('2026-01-05T09:30:00.000Z')

function attended (status: Transfer['status'], fields: Partial<Transfer> = {}): Transfer {
  return transferRecord({ status, createdAt: '2026-01-05T09:00:00.000Z', updatedAt: '2026-01-05T09:00:00.000Z', ...fields }, { consultation: LOCAL_1 })
}

t.test('an input the state machine takes: the new state, the time it changed, the rest kept', async (t) => {
  const next = nextRecord(attended('consulting', { talkingTo: 'target' }), { type: 'target_answered' }, NOW)
  t.equal(next?.status, 'target_answered')
  t.equal(next?.updatedAt, '2026-01-05T09:30:00.000Z')
  t.equal(next?.createdAt, '2026-01-05T09:00:00.000Z')
  t.same(next?.channels, { agent: AGENT, peer: CUSTOMER, consultation: LOCAL_1 })
})

t.test('an input that means nothing in this state: undefined, the record is not touched', async (t) => {
  const record = attended('completed')
  t.equal(nextRecord(record, { type: 'target_answered' }, NOW), undefined)
  t.equal(record.updatedAt, '2026-01-05T09:00:00.000Z')
})

t.test('a failure carries its reason and the error of the action', async (t) => {
  const next = nextRecord(attended('initiated'), { type: 'action_failed', reason: 'asterisk_refused' }, NOW, { code: 'XFER_ASTERISK_REFUSED', message: 'no' })
  t.equal(next?.status, 'failed')
  t.equal(next?.failureReason, 'asterisk_refused')
  t.same(next?.error, { code: 'XFER_ASTERISK_REFUSED', message: 'no' })
})

t.test('whom the agent talks to follows a swap and is dropped once the transfer is over', async (t) => {
  const swapped = nextRecord(attended('target_answered', { talkingTo: 'target' }), { type: 'swapped', talkingTo: 'customer' }, NOW)
  t.equal(swapped?.status, 'target_answered')
  t.equal(swapped?.talkingTo, 'customer')
  const over = nextRecord(attended('target_answered', { talkingTo: 'target' }), { type: 'completed' }, NOW)
  t.equal(over?.status, 'completed')
  t.notOk(over !== undefined && 'talkingTo' in over, 'no talkingTo once completed')
})

t.test('a recalled customer: where they went is recorded', async (t) => {
  const recalling: Transfer = { ...attended('recalling'), type: 'blind', failureReason: 'no_answer' }
  const next = nextRecord(recalling, { type: 'recalled', recall: { to: 'agent' } }, NOW)
  t.equal(next?.status, 'failed')
  t.equal(next?.failureReason, 'no_answer', 'the failure keeps the target\'s reason')
  t.same(next?.recall, { to: 'agent' })
})
