// Transfers into and out of queues, on a fake PBX: the customer's place in the queue (QUEUE_PRIO) and
// the queue_log line a transfer of a queue call adds (option queueLog).
import t, { type Test } from 'tap'
import { AgentDirectory } from '../../src/agents/agent-directory.js'
import type { PbxEvent } from '../../src/asterisk/ami-events.js'
import type { Destination } from '../../src/domain/destination.js'
import { silentLogger } from '../../src/support/logger.js'
import { TransferPolicy } from '../../src/transfers/transfer-policy.js'
import { TransferService, type CallLookup, type TransferRequest, type TransferServiceOptions } from '../../src/transfers/transfer-service.js'
import { AGENT, CONTEXT, CUSTOMER, FakePbx, TARGET_102, TARGET_103, scenes, sequences } from '../helpers/fake-pbx.js'
import { ManualClock } from '../helpers/manual-clock.js'

const TO_102 = { agent: AGENT, customer: CUSTOMER, target: TARGET_102 }
const TO_103 = { agent: AGENT, customer: CUSTOMER, target: TARGET_103 }

function setup (t: Test, destinations: Record<string, Destination> = {}, options: Partial<TransferServiceOptions> = {}): { pbx: FakePbx, service: TransferService } {
  const pbx = new FakePbx(scenes.talking(TO_102))
  pbx.dialplan.add('500@queues')
  const policy = new TransferPolicy(new AgentDirectory([], new FakePbx(), 'PJSIP'), { destinations, transferContext: CONTEXT, allowFreeDialing: true }, undefined, silentLogger)
  const service = new TransferService(pbx, { transferContext: CONTEXT, channelTechnology: 'PJSIP', consultationTimeoutMs: 100, policy, ...options })
  service.start()
  t.teardown(() => service.stop())
  return { pbx, service }
}

const request = (overrides: Partial<TransferRequest> = {}): TransferRequest =>
  ({ extension: '101', targetExtension: '102', transferType: 'blind', requestedBy: '101', ...overrides })

const support = { kind: 'queue', context: 'queues', exten: '500', priority: 10 } as const

t.test('a blind transfer into a queue with a priority: QUEUE_PRIO set on the customer in front of the Redirect, and recorded', async (t) => {
  const { pbx, service } = setup(t, { support })
  let priorityAtRedirect: string | undefined
  pbx.hooks.redirect = () => { priorityAtRedirect = pbx.variables.get(CUSTOMER)?.get('QUEUE_PRIO') }
  const transfer = await service.execute(request({ targetExtension: 'support' }))
  t.equal(priorityAtRedirect, '10', 'the customer carries the priority when the Redirect moves them')
  t.same(pbx.actions(), [{ method: 'redirect', args: [CUSTOMER, '500', 'queues'] }])
  t.match(transfer, { status: 'redirected', destination: 'support', queue: { name: 'support', priority: 10 } })
  t.equal(pbx.variables.get(AGENT)?.get('QUEUE_PRIO'), undefined, 'the agent is not given it')
})

t.test('a queue without a priority: a plain Redirect, the queue recorded (under the name Asterisk knows it by, when given)', async (t) => {
  const { pbx, service } = setup(t, { support: { kind: 'queue', context: 'queues', exten: '500', queue: 'helpdesk' } })
  const transfer = await service.execute(request({ targetExtension: 'support' }))
  t.same(transfer.queue, { name: 'helpdesk' })
  t.equal(pbx.variables.get(CUSTOMER)?.get('QUEUE_PRIO'), undefined)
  const toAgent = setup(t, { support })
  t.equal((await toAgent.service.execute(request())).queue, undefined, 'a transfer to an agent names no queue')
})

t.test('an attended transfer into a queue: the consultation that waits there inherits the priority, once', async (t) => {
  // The fake's consultation dials 103: the queue's extension here.
  const { pbx, service } = setup(t, { support: { ...support, context: CONTEXT, exten: '103' } })
  let atAtxfer: string | undefined
  pbx.hooks.attendedTransfer = async () => {
    atAtxfer = pbx.variables.get(AGENT)?.get('_QUEUE_PRIO')
    pbx.snapshotValue = scenes.consultation(TO_103)
    void pbx.emitLater(...sequences.consultationStarts(TO_103))
  }
  const transfer = await service.execute(request({ targetExtension: 'support', transferType: 'attended' }))
  t.equal(atAtxfer, '10', 'set on the agent\'s channel (inherited by the channel Atxfer dials) before the Atxfer')
  t.match(transfer, { status: 'consulting', queue: { name: 'support', priority: 10 } })
  t.equal(pbx.variables.get(AGENT)?.get('_QUEUE_PRIO'), '', 'cleared once the consultation began')
})

t.test('an attended transfer into a queue found again after a restart of the host app still names its queue', async (t) => {
  const destinations = { support: { ...support, context: CONTEXT, exten: '103' } }
  const first = setup(t, destinations)
  first.pbx.hooks.attendedTransfer = async () => {
    first.pbx.snapshotValue = scenes.consultation(TO_103)
    void first.pbx.emitLater(...sequences.consultationStarts(TO_103), ...sequences.targetAnswers(TO_103))
  }
  const { id } = await first.service.execute(request({ targetExtension: 'support', transferType: 'attended' }))
  await first.service.stop()
  // The restarted host app, the same destinations, its call monitor in sync with the consultation.
  const snapshot = scenes.consultation(TO_103)
  const calls: CallLookup = { inSync: true, snapshotOf: () => snapshot, snapshotAround: () => snapshot, allCalls: () => [{ extension: '101', channel: AGENT, uniqueId: AGENT, linkedId: AGENT, state: 'in_consultation', startedAt: '' }] }
  const policy = new TransferPolicy(new AgentDirectory([], new FakePbx(), 'PJSIP'), { destinations, transferContext: CONTEXT, allowFreeDialing: true }, undefined, silentLogger)
  const restarted = new TransferService(first.pbx, { transferContext: CONTEXT, channelTechnology: 'PJSIP', consultationTimeoutMs: 100, policy, calls })
  restarted.start()
  t.teardown(() => restarted.stop())
  t.equal((await restarted.restore()).length, 1)
  t.match(restarted.getHere(id), { destination: 'support', queue: { name: 'support', priority: 10 } })
})

t.test('an attended transfer into a queue that Asterisk refuses: the priority does not stay on the agent\'s channel', async (t) => {
  const { pbx, service } = setup(t, { support: { ...support, context: CONTEXT, exten: '103' } })
  pbx.hooks.attendedTransfer = async () => { throw new Error('No such channel') }
  await t.rejects(service.execute(request({ targetExtension: 'support', transferType: 'attended' })))
  t.equal(pbx.variables.get(AGENT)?.get('_QUEUE_PRIO'), '')
})

const LOCAL_MEMBER = 'Local/106@from-internal-00000012;1'
/** The customer came through queue `sales` (third in line, 12 s on hold), answered by a member dialed on `memberChannel`. */
const cameThroughQueue = (memberChannel: string): PbxEvent[] => [
  { type: 'queueCallerJoin', channel: CUSTOMER, uniqueId: 'u-customer', linkedId: 'u-customer', queue: 'sales', position: 3 },
  { type: 'agentConnect', channel: CUSTOMER, uniqueId: 'u-customer', linkedId: 'u-customer', queue: 'sales', memberName: 'Agent 101', memberInterface: 'Local/101@agents/n', memberChannel, holdTimeSeconds: 12 }
]

t.test('queueLog: a blind transfer of a queue call writes one BLINDTRANSFER line, with the time since the member answered', async (t) => {
  const clock = new ManualClock()
  const { pbx, service } = setup(t, {}, { queueLog: true, clock })
  pbx.emit(...cameThroughQueue(LOCAL_MEMBER))
  await clock.advance(42_000)
  await service.execute(request())
  t.same(pbx.queueLogLines, [{ queue: 'sales', event: 'BLINDTRANSFER', uniqueId: 'u-customer', agent: 'Agent 101', message: '102|from-internal|12|42|3' }])
})

t.test('queueLog: the answer adds nothing, and the target transferring the same customer again is not the queue\'s call', async (t) => {
  const { pbx, service } = setup(t, {}, { queueLog: true })
  pbx.emit(...cameThroughQueue(LOCAL_MEMBER))
  const transfer = await service.execute(request())
  t.equal(pbx.queueLogLines.length, 1)
  pbx.snapshotValue = scenes.customerWithTarget(TO_102)
  pbx.emit(...sequences.redirected(TO_102, 'ANSWER'))
  const deadline = Date.now() + 3000
  while (service.getHere(transfer.id)?.status !== 'answered' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))
  t.equal(service.getHere(transfer.id)?.status, 'answered')
  t.equal(pbx.queueLogLines.length, 1, 'the answer adds nothing')
  const again = await service.execute(request({ extension: '102', requestedBy: '102', targetExtension: '103' }))
  t.equal(again.status, 'redirected')
  t.equal(pbx.queueLogLines.length, 1, 'no second line for the call')
})

/** Asterisk's answers to an attended transfer from 101 to 103 (answered) and to its completion. */
function scriptAttended (pbx: FakePbx): void {
  pbx.hooks.attendedTransfer = async () => {
    pbx.snapshotValue = scenes.consultation(TO_103)
    void pbx.emitLater(...sequences.consultationStarts(TO_103), ...sequences.targetAnswers(TO_103))
  }
  pbx.hooks.hangup = () => {
    pbx.snapshotValue = scenes.customerWithTargetThroughLocal(TO_103)
    pbx.emit(...sequences.agentLeaves(TO_103))
  }
}

t.test('queueLog: an attended transfer writes ATTENDEDTRANSFER when completed, not when it began', async (t) => {
  const { pbx, service } = setup(t, {}, { queueLog: true })
  pbx.emit(...cameThroughQueue(LOCAL_MEMBER))
  scriptAttended(pbx)
  const transfer = await service.execute(request({ targetExtension: '103', transferType: 'attended' }))
  t.same(pbx.queueLogLines, [], 'nothing while consulting')
  t.equal((await service.complete(transfer.id)).status, 'completed')
  t.match(pbx.queueLogLines, [{ queue: 'sales', event: 'ATTENDEDTRANSFER', uniqueId: 'u-customer', agent: 'Agent 101', message: /^BRIDGE\|[^|]*\|12\|\d+\|3$/ }])
  t.equal(pbx.queueLogLines.length, 1)
})

t.test('queueLog: an attended transfer on a member dialed on the agent\'s own channel is Asterisk\'s to write', async (t) => {
  const { pbx, service } = setup(t, {}, { queueLog: true })
  pbx.emit(...cameThroughQueue(AGENT))
  scriptAttended(pbx)
  const transfer = await service.execute(request({ targetExtension: '103', transferType: 'attended' }))
  t.equal((await service.complete(transfer.id)).status, 'completed')
  t.same(pbx.queueLogLines, [])
})

t.test('queueLog off (the default), or a call that came through no queue: no line', async (t) => {
  const off = setup(t)
  off.pbx.emit(...cameThroughQueue(LOCAL_MEMBER))
  await off.service.execute(request())
  t.same(off.pbx.queueLogLines, [])
  const direct = setup(t, {}, { queueLog: true })
  await direct.service.execute(request())
  t.same(direct.pbx.queueLogLines, [])
})
