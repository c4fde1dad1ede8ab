// The pure parts of `transfer`: what counts as success, who the customer must be with, and the hints.
import t from 'tap'
import { transferFixture } from './fixtures/transfer.js'
import { Printer } from '../../src/cli/output.js'
import { expectedPartner, failureProblem, hintFor, verificationLines, wantedStates, type TransferCommand } from '../../src/cli/transfer.js'

const settings = {
  name: 'default',
  ami: { host: '127.0.0.1', port: 5038, username: 'transfer', password: 'x' },
  ari: { url: 'http://127.0.0.1:8088', username: 'transfer', password: 'x' },
  transferContext: 'from-internal',
  channelTechnology: 'PJSIP'
}

function command (overrides: Partial<TransferCommand> = {}): TransferCommand {
  return { name: 'transfer', kind: 'blind', from: '101', to: '102', after: 'leave', steps: [], timeoutMs: 30_000, ...overrides }
}

const transfer = transferFixture

t.test('the state each command asks for', async (t) => {
  t.same(wantedStates(command()), ['answered'])
  t.same(wantedStates(command({ kind: 'attended', after: 'complete' })), ['completed'])
  t.same(wantedStates(command({ kind: 'attended', after: 'cancel' })), ['cancelled'])
  t.same(wantedStates(command({ kind: 'attended' })), ['consulting', 'target_answered'])
  t.same(wantedStates(command({ kind: 'attended', steps: ['swap'] })), ['target_answered'], 'left up after a swap')
  t.same(wantedStates(command({ kind: 'attended', steps: ['swap', 'three_way'] })), ['three_way'], 'left up in a three-way')
  t.same(wantedStates(command({ kind: 'attended', steps: ['three_way'], after: 'cancel' })), ['cancelled'])
})

t.test('who the customer must be bridged with', async (t) => {
  const answered = expectedPartner(transfer(), 'PJSIP')!
  t.ok(answered.matches('PJSIP/102-00000002'), 'a leg of the target')
  t.notOk(answered.matches('PJSIP/1020-00000002'))
  t.notOk(answered.matches('PJSIP/101-00000001'))
  t.notOk(answered.matches('Local/102@from-internal-00000001;1'), 'a Local half is not the target yet')

  const named = expectedPartner(transfer({ channels: { agent: 'PJSIP/101-01', peer: 'PJSIP/customer1-00', target: 'PJSIP/105-09' } }), 'PJSIP')!
  t.ok(named.matches('PJSIP/105-09'), 'the leg the events named (a queue member answering)')
  t.notOk(named.matches('PJSIP/102-03'))

  // The service's rule (transfers/outcome-check.ts): a Local half named as the target stands for the leg behind it.
  const throughLocal = expectedPartner(transfer({ channels: { agent: 'PJSIP/101-01', peer: 'PJSIP/customer1-00', target: 'Local/102@from-internal-00000001;1' } }), 'PJSIP')!
  t.ok(throughLocal.matches('PJSIP/102-07'), 'the leg behind a Local half named as the target')
  t.notOk(throughLocal.matches('PJSIP/101-01'), 'never the agent')

  const completed = expectedPartner(transfer({ type: 'attended', status: 'completed', targetExtension: '103' }), 'PJSIP')!
  t.ok(completed.matches('PJSIP/103-00000004'))

  const cancelled = expectedPartner(transfer({ type: 'attended', status: 'cancelled' }), 'PJSIP')!
  t.ok(cancelled.matches('PJSIP/101-00000001'), 'back with the agent\'s own leg')
  t.notOk(cancelled.matches('PJSIP/101-00000009'), 'not another call of the agent')

  t.equal(expectedPartner(transfer({ type: 'attended', status: 'consulting' }), 'PJSIP'), undefined, 'a consultation left up: nothing to check')
  t.equal(expectedPartner(transfer({ status: 'failed' }), 'PJSIP'), undefined)
})

t.test('verification lines', async (t) => {
  const printer = new Printer({ write: () => true }, { fancy: false, animate: false })
  const done = transfer()
  const expectation = expectedPartner(done, 'PJSIP')!
  t.same(verificationLines(done, expectation, { ok: true, partner: 'PJSIP/102-00000002' }, printer),
    ['[ok]   verified on Asterisk: customer PJSIP/customer1-00000000 is bridged with PJSIP/102-00000002'])
  t.same(verificationLines(done, expectation, { ok: false, partner: 'PJSIP/101-00000001' }, printer), [
    '[FAIL] verified on Asterisk: customer PJSIP/customer1-00000000 is bridged with PJSIP/101-00000001, not with 102',
    '       hint: Asterisk reported the outcome but the bridges do not show it: look at Asterisk\'s log'
  ])
  t.match(verificationLines(done, expectation, { ok: false, partner: undefined }, printer)[0], /is not bridged with anyone, not with 102/)
})

t.test('hints name the extensions and the context concerned', async (t) => {
  t.match(hintFor('XFER_NO_ACTIVE_CHANNEL', command({ from: '104' }), settings), /^104 has no call to transfer; fastify-asterisk-transfer check lists/)
  t.match(hintFor('XFER_UNKNOWN_TARGET', command({ to: '999' }), settings), /999 cannot be dialed in context from-internal/)
  t.match(hintFor('XFER_CONSULTATION_NOT_STARTED', command({ kind: 'attended' }), settings), /atxfer feature code.*tT/)
  t.match(hintFor('target_busy', command(), settings), /102 is busy/)
  t.match(hintFor('XFER_SOMETHING_NEW', command(), settings), /check/, 'an unknown code still gets a hint')
})

t.test('a transfer that ended elsewhere than asked: what happened and what to do', async (t) => {
  t.same(failureProblem(transfer({ status: 'failed', failureReason: 'target_busy' }), command(), settings), {
    message: 'transfer failed (target_busy) instead of answered',
    hint: '102 is busy'
  })
  t.match(failureProblem(transfer({ status: 'abandoned' }), command({ to: '107' }), settings), {
    message: 'transfer abandoned instead of answered',
    hint: /the customer hung up, or the dialplan ended the call because 107 could not be reached/
  })
  t.match(failureProblem(transfer({ type: 'attended', status: 'cancelled' }), command({ kind: 'attended', after: 'complete', to: '107' }), settings), {
    message: 'transfer cancelled instead of completed',
    hint: /107 did not take the call .* 101 is back with the customer/
  })
  t.same(failureProblem(transfer({ status: 'failed', failureReason: 'asterisk_refused', error: { code: 'XFER_ASTERISK_REFUSED', message: 'Asterisk refused AMI Redirect: Permission denied' } }), command(), settings), {
    message: 'XFER_ASTERISK_REFUSED: Asterisk refused AMI Redirect: Permission denied',
    hint: 'run fastify-asterisk-transfer check: the AMI user may lack a write permission'
  })
})
