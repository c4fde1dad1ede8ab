// Transfers across two servers of the pool: an outcome only when both show it, the halves matched by Call-ID.
import t from 'tap'
import type { CallSnapshot } from '../../src/asterisk/pbx.js'
import { CALL_ID, checkAcross, type CheckedServer } from '../../src/transfers/cross-server-check.js'
import { AGENT, CUSTOMER, snapshotOf } from '../helpers/fake-pbx.js'

const TRUNK_ON_A = 'PJSIP/pbx-b-00000011'
const INBOUND_ON_B = 'PJSIP/pbx-a-00000003'
const TARGET_ON_B = 'PJSIP/401-00000004'
const transfer = { type: 'blind' as const, targetExtension: '401', channels: { agent: AGENT, peer: CUSTOMER } }

function server (name: string, calls: CallSnapshot | undefined, callIds: Record<string, string>, options: { reachable?: boolean } = {}): CheckedServer & { asked: string[] } {
  const asked: string[] = []
  const all = calls ?? { channels: [], bridges: [] }
  return {
    name,
    asked,
    reachable: () => options.reachable ?? true,
    callsOf: async () => all,
    around: async () => all,
    predatesRestart: () => false,
    getVariable: async (channel, variable) => {
      asked.push(`${channel} ${variable}`)
      return callIds[channel] ?? ''
    }
  }
}

const onA = snapshotOf([CUSTOMER, TRUNK_ON_A])

t.test('the target\'s server shows the target with the inbound leg of this call (same Call-ID): true', async (t) => {
  const a = server('a', onA, { [TRUNK_ON_A]: 'abc@127.0.0.1' })
  const b = server('b', snapshotOf([INBOUND_ON_B, TARGET_ON_B]), { [INBOUND_ON_B]: 'abc@127.0.0.1' })
  t.same(await checkAcross('target_answered', transfer, onA, a, b, 'PJSIP'), { seen: true, across: { server: 'b', inbound: INBOUND_ON_B, target: TARGET_ON_B } })
  t.same(a.asked, [`${TRUNK_ON_A} ${CALL_ID}`])
  t.same(b.asked, [`${INBOUND_ON_B} ${CALL_ID}`])
})

t.test('the target bridged with another call\'s inbound leg (another Call-ID): false', async (t) => {
  const a = server('a', onA, { [TRUNK_ON_A]: 'abc@127.0.0.1' })
  const b = server('b', snapshotOf([INBOUND_ON_B, TARGET_ON_B]), { [INBOUND_ON_B]: 'zzz@127.0.0.1' })
  t.same(await checkAcross('target_answered', transfer, onA, a, b, 'PJSIP'), { seen: false })
})

t.test('the target not bridged yet on its server: false, without asking anything', async (t) => {
  const a = server('a', onA, { [TRUNK_ON_A]: 'abc@127.0.0.1' })
  const b = server('b', snapshotOf([TARGET_ON_B]), {})
  t.same(await checkAcross('target_answered', transfer, onA, a, b, 'PJSIP'), { seen: false })
  t.same([...a.asked, ...b.asked], [])
})

t.test('no Call-ID readable on either side: false, never a match of two empty values', async (t) => {
  const a = server('a', onA, {})
  const b = server('b', snapshotOf([INBOUND_ON_B, TARGET_ON_B]), {})
  t.same(await checkAcross('target_answered', transfer, onA, a, b, 'PJSIP'), { seen: false })
})

t.test('nothing to check across: the target on the same server, or the customer bridged with the target\'s own phone', async (t) => {
  const a = server('a', onA, {})
  t.equal(await checkAcross('target_answered', transfer, onA, a, undefined, 'PJSIP'), undefined)
  t.equal(await checkAcross('target_answered', transfer, onA, a, server('a', undefined, {}), 'PJSIP'), undefined)
  const local = snapshotOf([CUSTOMER, 'PJSIP/401-00000009'])
  t.equal(await checkAcross('target_answered', transfer, local, a, server('b', undefined, {}), 'PJSIP'), undefined)
})

// Attended across: the consultation's Local pair dials the trunk on A; the record names the trunk leg as its target.
const LOCAL1 = 'Local/401@from-internal-00000001;1'
const LOCAL2 = 'Local/401@from-internal-00000001;2'
const consulting = { type: 'attended' as const, targetExtension: '401', channels: { agent: AGENT, peer: CUSTOMER, consultation: LOCAL1, target: TRUNK_ON_A } }
const consultationOnA = snapshotOf([CUSTOMER], [AGENT, LOCAL1], [LOCAL2, TRUNK_ON_A])

t.test('attended, answered: the consultation\'s trunk leg and the target\'s inbound leg share the Call-ID; the far half is found', async (t) => {
  const a = server('a', consultationOnA, { [TRUNK_ON_A]: 'abc@127.0.0.1' })
  const b = server('b', snapshotOf([INBOUND_ON_B, TARGET_ON_B]), { [INBOUND_ON_B]: 'abc@127.0.0.1' })
  t.same(await checkAcross('target_answered', consulting, consultationOnA, a, b, 'PJSIP'), { seen: true, across: { server: 'b', inbound: INBOUND_ON_B, target: TARGET_ON_B } })
  t.same(a.asked, [`${TRUNK_ON_A} ${CALL_ID}`], 'the leg asked is the consultation\'s trunk leg, not the customer\'s party (the customer waits alone)')
  const other = server('b', snapshotOf([INBOUND_ON_B, TARGET_ON_B]), { [INBOUND_ON_B]: 'zzz@127.0.0.1' })
  t.same(await checkAcross('target_answered', consulting, consultationOnA, a, other, 'PJSIP'), { seen: false }, 'another call\'s leg: not seen')
})

t.test('attended, the far half known: completed, swapped and three-way are seen while the target is still bridged with that very leg', async (t) => {
  const known = { ...consulting, across: { server: 'b', inbound: INBOUND_ON_B, target: TARGET_ON_B } }
  const a = server('a', undefined, {})
  const b = server('b', snapshotOf([INBOUND_ON_B, TARGET_ON_B]), {})
  for (const input of ['completed', 'swapped', 'three_way'] as const) {
    t.same(await checkAcross(input, known, consultationOnA, a, b, 'PJSIP'), { seen: true, across: known.across }, input)
  }
  t.same([...a.asked, ...b.asked], [], 'no Call-ID read again once the far half is known')
  const elsewhere = server('b', snapshotOf([INBOUND_ON_B], [TARGET_ON_B, 'PJSIP/pbx-a-00000009']), {})
  t.same(await checkAcross('completed', known, consultationOnA, a, elsewhere, 'PJSIP'), { seen: false }, 'the target with another leg: not seen')
  const gone = server('b', snapshotOf([TARGET_ON_B]), {})
  t.same(await checkAcross('completed', known, consultationOnA, a, gone, 'PJSIP'), { seen: false }, 'the inbound leg gone: not seen')
})

t.test('attended, cancelled: seen once the far half\'s inbound leg is gone; nothing to check when it was never learned or the server is down', async (t) => {
  const known = { ...consulting, across: { server: 'b', inbound: INBOUND_ON_B, target: TARGET_ON_B } }
  const a = server('a', undefined, {})
  t.same(await checkAcross('cancelled', known, consultationOnA, a, server('b', snapshotOf([INBOUND_ON_B, TARGET_ON_B]), {}), 'PJSIP'), { seen: false }, 'still there')
  t.same(await checkAcross('cancelled', known, consultationOnA, a, server('b', { channels: [], bridges: [] }, {}), 'PJSIP'), { seen: true, across: known.across }, 'gone')
  t.equal(await checkAcross('cancelled', consulting, consultationOnA, a, server('b', undefined, {}), 'PJSIP'), undefined, 'never learned (the target had not answered)')
  t.equal(await checkAcross('cancelled', known, consultationOnA, a, server('b', snapshotOf([INBOUND_ON_B, TARGET_ON_B]), {}, { reachable: false }), 'PJSIP'), undefined, 'the target\'s server unreachable: the customer\'s server decides')
})

t.test('attended to the target on the same server: the consultation\'s leg is the target\'s own phone, nothing across', async (t) => {
  const local = { ...consulting, channels: { ...consulting.channels, target: 'PJSIP/401-00000007' } }
  t.equal(await checkAcross('target_answered', local, consultationOnA, server('a', undefined, {}), server('b', undefined, {}), 'PJSIP'), undefined)
  const ringing = { ...consulting, channels: { agent: AGENT, peer: CUSTOMER, consultation: LOCAL1 } }
  t.equal(await checkAcross('target_answered', ringing, consultationOnA, server('a', undefined, {}), server('b', undefined, {}), 'PJSIP'), undefined, 'no leg dialled yet')
})
