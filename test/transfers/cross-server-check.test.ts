// A blind transfer across two servers of the pool: answered only when both show it, matched by Call-ID.
import t from 'tap'
import type { CallSnapshot } from '../../src/asterisk/pbx.js'
import { CALL_ID, acrossThePool, checkAcross, type CheckedServer } from '../../src/transfers/cross-server-check.js'
import { transferRecord } from '../helpers/transfer-records.js'
import { AGENT, CUSTOMER, snapshotOf } from '../helpers/fake-pbx.js'

const TRUNK_ON_A = 'PJSIP/pbx-b-00000011'
const INBOUND_ON_B = 'PJSIP/pbx-a-00000003'
const TARGET_ON_B = 'PJSIP/401-00000004'
const transfer = { targetExtension: '401', channels: { agent: AGENT, peer: CUSTOMER } }

function server (name: string, calls: CallSnapshot | undefined, callIds: Record<string, string>): CheckedServer & { asked: string[] } {
  const asked: string[] = []
  return {
    name,
    asked,
    snapshotOf: () => calls,
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
  t.equal(await checkAcross(transfer, onA, a, b, 'PJSIP'), true)
  t.same(a.asked, [`${TRUNK_ON_A} ${CALL_ID}`])
  t.same(b.asked, [`${INBOUND_ON_B} ${CALL_ID}`])
})

t.test('the target bridged with another call\'s inbound leg (another Call-ID): false', async (t) => {
  const a = server('a', onA, { [TRUNK_ON_A]: 'abc@127.0.0.1' })
  const b = server('b', snapshotOf([INBOUND_ON_B, TARGET_ON_B]), { [INBOUND_ON_B]: 'zzz@127.0.0.1' })
  t.equal(await checkAcross(transfer, onA, a, b, 'PJSIP'), false)
})

t.test('the target not bridged yet on its server: false, without asking anything', async (t) => {
  const a = server('a', onA, { [TRUNK_ON_A]: 'abc@127.0.0.1' })
  const b = server('b', snapshotOf([TARGET_ON_B]), {})
  t.equal(await checkAcross(transfer, onA, a, b, 'PJSIP'), false)
  t.same([...a.asked, ...b.asked], [])
})

t.test('no Call-ID readable on either side: false, never a match of two empty values', async (t) => {
  const a = server('a', onA, {})
  const b = server('b', snapshotOf([INBOUND_ON_B, TARGET_ON_B]), {})
  t.equal(await checkAcross(transfer, onA, a, b, 'PJSIP'), false)
})

t.test('nothing to check across: the target on the same server, or the customer bridged with the target\'s own phone', async (t) => {
  const a = server('a', onA, {})
  t.equal(await checkAcross(transfer, onA, a, undefined, 'PJSIP'), undefined)
  t.equal(await checkAcross(transfer, onA, a, server('a', undefined, {}), 'PJSIP'), undefined)
  const local = snapshotOf([CUSTOMER, 'PJSIP/401-00000009'])
  t.equal(await checkAcross(transfer, local, a, server('b', undefined, {}), 'PJSIP'), undefined)
})

t.test('waiting for the answer\'s other half: the next event of the target\'s server, not of this one', async (t) => {
  const waited: string[] = []
  const a = { ...server('a', onA, {}), nextEventOr: async () => { waited.push('a') } }
  const b = { ...server('b', undefined, {}), nextEventOr: async (ms: number) => { waited.push(`b ${ms}`) } }
  const check = acrossThePool('a', (name) => ({ a, b } as Record<string, CheckedServer>)[name], { agentServer: (extension) => extension === '401' ? 'b' : 'a', channelTechnology: 'PJSIP' })
  await check.nextEventThere?.({ record: transferRecord({ targetExtension: '401' }) }, 20)
  t.same(waited, ['b 20'])
})
