import t from 'tap'
import type { PbxEvent } from '../../src/asterisk/ami-events.js'
import { QueueCalls } from '../../src/calls/queue-calls.js'

const CALLER = 'PJSIP/customer1-00000011'
const ref = { channel: CALLER, uniqueId: '1796613177.1101', linkedId: '1796613177.1101' }
const join = (queue: string, position: number): PbxEvent => ({ type: 'queueCallerJoin', ...ref, queue, position })
const connect = (queue: string, holdTimeSeconds = 9): PbxEvent => ({
  type: 'agentConnect',
  ...ref,
  queue,
  memberName: 'Agent 106',
  memberInterface: 'Local/106@from-internal/n',
  memberChannel: 'Local/106@from-internal-00000012;1',
  holdTimeSeconds
})

t.test('a caller answered by a member: its queue, where it joined, the member, its hold time and when', async (t) => {
  const calls = new QueueCalls()
  calls.apply(join('support', 2), 1000)
  t.equal(calls.connectedOn(CALLER), undefined, 'waiting is not connected')
  calls.apply(connect('support'), 10_000)
  t.same(calls.connectedOn(CALLER), {
    queue: 'support',
    uniqueId: '1796613177.1101',
    position: 2,
    memberName: 'Agent 106',
    memberInterface: 'Local/106@from-internal/n',
    memberChannel: 'Local/106@from-internal-00000012;1',
    holdTimeSeconds: 9,
    connectedAt: 10_000
  })
})

t.test('a caller whose joining was not seen has position 0', async (t) => {
  const calls = new QueueCalls()
  calls.apply(join('sales', 4), 1000)
  calls.apply(connect('support'), 2000)
  t.equal(calls.connectedOn(CALLER)?.position, 0, 'joined another queue: not this one\'s position')
})

t.test('joining another queue later (a transfer into it) keeps the call answered until that queue answers', async (t) => {
  const calls = new QueueCalls()
  calls.apply(join('support', 1), 1000)
  calls.apply(connect('support'), 2000)
  calls.apply(join('sales', 3), 3000)
  t.equal(calls.connectedOn(CALLER)?.queue, 'support')
  calls.apply(connect('sales'), 4000)
  t.match(calls.connectedOn(CALLER), { queue: 'sales', position: 3, connectedAt: 4000 })
})

t.test('take hands the call out once; a hangup forgets the caller', async (t) => {
  const calls = new QueueCalls()
  calls.apply(join('support', 1), 1000)
  calls.apply(connect('support'), 2000)
  t.equal(calls.take(CALLER)?.queue, 'support')
  t.equal(calls.take(CALLER), undefined)
  calls.apply(join('support', 1), 3000)
  calls.apply(connect('support'), 4000)
  calls.apply({ type: 'hangup', ...ref, cause: 'Normal Clearing' }, 5000)
  t.equal(calls.connectedOn(CALLER), undefined)
  t.equal(calls.size, 0)
})

t.test('memory stays bounded when hangups are missed', async (t) => {
  const calls = new QueueCalls()
  for (let i = 0; i < 50_010; i++) calls.apply({ type: 'queueCallerJoin', channel: `PJSIP/c-${i}`, uniqueId: `u${i}`, linkedId: `u${i}`, queue: 'q', position: 1 }, i)
  t.equal(calls.size, 50_000, 'the oldest callers are forgotten first')
})
