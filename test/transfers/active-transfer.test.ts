// The protocol of what may be under way on a transfer (see active-transfer.ts).
import t from 'tap'
import { ActiveTransfer } from '../../src/transfers/active-transfer.js'
import { AGENT, CUSTOMER, hangup } from '../helpers/fake-pbx.js'
import { transferRecord } from '../helpers/transfer-records.js'
import { ManualClock } from '../helpers/manual-clock.js'

const record = transferRecord()
const newTransfer = (): ActiveTransfer => new ActiveTransfer(record, 'default', { exten: '103', context: 'from-internal', kind: 'agent' })

t.test('an action in flight buffers events; its end hands them back once, in order, and buffering stops', async (t) => {
  const transfer = newTransfer()
  t.equal(transfer.buffer(hangup(AGENT)), false, 'nothing in flight: track it now')
  const action = transfer.beginAction()
  t.equal(transfer.actionInFlight, true)
  t.equal(transfer.buffer(hangup(AGENT)), true)
  t.equal(transfer.buffer(hangup(CUSTOMER)), true)
  t.same(action.end().map((event) => 'channel' in event ? event.channel : ''), [AGENT, CUSTOMER])
  t.same(action.end(), [], 'a second end hands back nothing')
  t.equal(transfer.actionInFlight, false)
  t.equal(transfer.buffer(hangup(AGENT)), false)
})

t.test('a second action while one is in flight is a programming error', async (t) => {
  const transfer = newTransfer()
  transfer.beginAction()
  t.throws(() => transfer.beginAction(), /already in flight/)
})

t.test('one outcome check and one settlement at a time; each ends once', async (t) => {
  const transfer = newTransfer()
  const confirm = transfer.tryConfirm()
  t.ok(confirm)
  t.equal(transfer.confirming, true)
  t.equal(transfer.tryConfirm(), undefined, 'a second check is refused')
  confirm?.end()
  confirm?.end()
  t.equal(transfer.confirming, false)
  const again = transfer.tryConfirm()
  t.ok(again, 'free again after the end')
  const settle = transfer.trySettle()
  t.ok(settle, 'a settlement may run beside a check')
  t.equal(transfer.trySettle(), undefined)
  settle?.end()
  t.ok(transfer.trySettle())
})

t.test('disposed: nothing begins, nothing is buffered, its deadline never fires', async (t) => {
  const clock = new ManualClock()
  const transfer = newTransfer()
  let fired = 0
  transfer.armDeadline(clock, 1000, () => { fired++ })
  transfer.dispose()
  await clock.advance(5000)
  t.equal(fired, 0)
  t.equal(transfer.tryConfirm(), undefined)
  const action = transfer.beginAction()
  t.equal(transfer.buffer(hangup(AGENT)), false, 'an action begun after the end buffers nothing')
  t.same(action.end(), [])
})

t.test('a deadline re-armed replaces the previous one', async (t) => {
  const clock = new ManualClock()
  const transfer = newTransfer()
  const fired: string[] = []
  transfer.armDeadline(clock, 1000, () => { fired.push('first') })
  await clock.advance(500)
  transfer.armDeadline(clock, 1000, () => { fired.push('second') })
  await clock.advance(999)
  t.same(fired, [])
  await clock.advance(1)
  t.same(fired, ['second'])
})

t.test('what is stored survives a takeover; the momentary facts do not', async (t) => {
  const transfer = newTransfer()
  transfer.tracking.handedOver = true
  transfer.tracking.consultingSince = 42
  transfer.momentary.agentHeld = true
  const stored = transfer.nextSave()
  t.same(stored.tracking, { handedOver: true, reached: false, cancelRequested: false, targetHungUp: false, consultingSince: 42 })
  const taken = newTransfer()
  taken.resume(stored)
  t.equal(taken.tracked().handedOver, true)
  t.equal(taken.tracked().agentHeld, false, 'agentHeld is learned again from the events, not carried over')
  stored.tracking.reached = true
  t.equal(taken.tracking.reached, false, 'resume copies: the stored object is not shared')
})

t.test('each save has the next revision; a taken-over transfer goes on from the stored one', async (t) => {
  const transfer = newTransfer()
  t.same([transfer.nextSave().revision, transfer.nextSave().revision, transfer.nextSave().revision], [1, 2, 3])
  const taken = newTransfer()
  taken.resume({ tracking: transfer.tracking, revision: 3 })
  t.equal(taken.nextSave().revision, 4, 'above every save of the previous owner the store kept')
  const opened = newTransfer()
  opened.resume({ tracking: transfer.tracking })
  t.equal(opened.nextSave().revision, 1, 'a record saved before revisions existed counts as 0')
})
