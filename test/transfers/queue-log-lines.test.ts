import t from 'tap'
import type { QueueCall } from '../../src/calls/queue-calls.js'
import { asteriskLogsItself, queueLogLine, secondsBetween, type TransferMoment } from '../../src/transfers/queue-log-lines.js'

const connectedAt = Date.parse('2026-01-05T09:00:00.000Z')

const throughLocal: QueueCall = {
  queue: 'support',
  uniqueId: '1796613177.1101',
  position: 3,
  memberName: 'Agent 106',
  memberInterface: 'Local/106@from-internal/n',
  memberChannel: 'Local/106@from-internal-00000012;1',
  holdTimeSeconds: 14,
  connectedAt
}

const direct: QueueCall = { ...throughLocal, queue: 'sales', memberName: 'PJSIP/104', memberInterface: 'PJSIP/104', memberChannel: 'PJSIP/104-00000031' }

const moment = (overrides: Partial<TransferMoment['record']> = {}, at = connectedAt + 61_900): TransferMoment => ({
  record: { type: 'blind', origin: 'plugin', channels: { agent: 'PJSIP/106-00000013', peer: 'PJSIP/customer1-00000011' }, ...overrides },
  target: { exten: '102', context: 'from-internal' },
  bridgeId: 'b7c0ffee',
  at
})

t.test('a blind transfer: BLINDTRANSFER exten|context|holdtime|calltime|origposition, the caller\'s uniqueid, the queue, the member\'s name', async (t) => {
  t.same(queueLogLine(throughLocal, moment()), {
    queue: 'support',
    event: 'BLINDTRANSFER',
    uniqueId: '1796613177.1101',
    agent: 'Agent 106',
    message: '102|from-internal|14|61|3'
  })
})

t.test('an attended transfer: ATTENDEDTRANSFER BRIDGE|bridge|holdtime|calltime|origposition', async (t) => {
  t.same(queueLogLine(throughLocal, moment({ type: 'attended' }, connectedAt + 5000)), {
    queue: 'support',
    event: 'ATTENDEDTRANSFER',
    uniqueId: '1796613177.1101',
    agent: 'Agent 106',
    message: 'BRIDGE|b7c0ffee|14|5|3'
  })
})

t.test('the plugin\'s blind transfer (a Redirect) is written even for a member dialed on the agent\'s own channel', async (t) => {
  const record = { channels: { agent: direct.memberChannel, peer: 'PJSIP/customer1-00000011' } }
  t.match(queueLogLine(direct, moment(record)), { event: 'BLINDTRANSFER', queue: 'sales', agent: 'PJSIP/104' })
})

t.test('Asterisk writes its own line for a transfer made in the caller\'s bridge with the member: none is added', async (t) => {
  const onMember = { channels: { agent: direct.memberChannel, peer: 'PJSIP/customer1-00000011' } }
  t.ok(asteriskLogsItself(direct, { ...moment(onMember).record, type: 'attended' }), 'Atxfer on the member\'s channel')
  t.ok(asteriskLogsItself(direct, { ...moment(onMember).record, origin: 'phone' }), 'the phone\'s blind transfer key')
  t.equal(queueLogLine(direct, moment({ ...onMember, type: 'attended' })), undefined)
  t.equal(queueLogLine(direct, moment({ ...onMember, origin: 'phone' })), undefined)
  t.notOk(asteriskLogsItself(throughLocal, { ...moment().record, type: 'attended', origin: 'phone' }), 'behind a Local member Asterisk sees no transfer')
})

t.test('times are whole seconds, rounded down, never negative', async (t) => {
  t.equal(secondsBetween(connectedAt, connectedAt + 1999), 1)
  t.equal(secondsBetween(connectedAt, connectedAt), 0)
  t.equal(secondsBetween(connectedAt, connectedAt - 500), 0, 'a clock that stepped back')
})
