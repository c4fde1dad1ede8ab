import t from 'tap'
import { withIds, type IdsOf } from '../../src/transfers/record-ids.js'
import { AGENT, CUSTOMER } from '../helpers/fake-pbx.js'
import { transferRecord } from '../helpers/transfer-records.js'

const TARGET = 'PJSIP/103-0000002c'

function lookup (ids: Record<string, { uniqueId: string, linkedId: string }>): IdsOf & { asked: string[] } {
  const asked: string[] = []
  return Object.assign((name: string) => { asked.push(name); return ids[name] }, { asked })
}

t.test('each channel gets its uniqueid; the linkedid is the customer\'s even when the agent\'s leg has another', async (t) => {
  const idsOf = lookup({
    [AGENT]: { uniqueId: '10.2', linkedId: '10.9' },
    [CUSTOMER]: { uniqueId: '10.1', linkedId: '10.1' },
    [TARGET]: { uniqueId: '10.5', linkedId: '10.1' }
  })
  const record = withIds(transferRecord({}, { target: TARGET }), idsOf)
  t.equal(record.linkedId, '10.1')
  t.same(record.uniqueIds, { agent: '10.2', peer: '10.1', target: '10.5' })
})

t.test('a channel the monitor does not know keeps no id; one learned later is added, the others kept', async (t) => {
  const first = withIds(transferRecord(), lookup({ [AGENT]: { uniqueId: '10.2', linkedId: '10.1' } }))
  t.same(first.uniqueIds, { agent: '10.2' })
  t.equal(first.linkedId, '10.1', 'the agent\'s linkedid while the customer\'s is unknown')
  // The agent's leg is gone (a blind transfer): its uniqueid stays; the target's is learned.
  const later = withIds({ ...first, channels: { ...first.channels, target: TARGET } }, lookup({ [TARGET]: { uniqueId: '10.5', linkedId: '10.1' } }))
  t.same(later.uniqueIds, { agent: '10.2', target: '10.5' })
  t.equal(later.linkedId, '10.1')
})

t.test('a known linkedid is never replaced, and a linkedid not known yet (\'\', after an ARI snapshot) is not taken', async (t) => {
  const known = withIds(transferRecord({ linkedId: '10.1' }), lookup({ [CUSTOMER]: { uniqueId: '10.1', linkedId: '11.7' } }))
  t.equal(known.linkedId, '10.1')
  const unknown = withIds(transferRecord(), lookup({ [CUSTOMER]: { uniqueId: '10.1', linkedId: '' } }))
  t.equal(unknown.linkedId, undefined)
  t.same(unknown.uniqueIds, { peer: '10.1' })
})

t.test('nothing new: the same object, not a copy', async (t) => {
  const idsOf = lookup({ [AGENT]: { uniqueId: '10.2', linkedId: '10.1' }, [CUSTOMER]: { uniqueId: '10.1', linkedId: '10.1' } })
  const record = withIds(transferRecord(), idsOf)
  t.equal(withIds(record, idsOf), record)
  const bare = transferRecord()
  t.equal(withIds(bare, lookup({})), bare)
})

t.test('a target channel replaced (a Local half by the leg behind it) gets the new channel\'s uniqueid', async (t) => {
  const local = 'Local/106@from-internal-00000002;1'
  const idsOf = lookup({ [local]: { uniqueId: '10.6', linkedId: '10.1' }, 'PJSIP/106-0000000b': { uniqueId: '10.8', linkedId: '10.1' } })
  const before = withIds(transferRecord({}, { target: local }), idsOf)
  t.equal(before.uniqueIds?.target, '10.6')
  t.equal(withIds({ ...before, channels: { ...before.channels, target: 'PJSIP/106-0000000b' } }, idsOf).uniqueIds?.target, '10.8')
})
