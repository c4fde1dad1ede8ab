import t from 'tap'
import { decodeChannelRecord, encodeChannelRecord } from '../../src/transfers/channel-record.js'

const record = { id: '0b9f8a52-7a43-4c1e-9b0e-2f5a1d3c4e6f', extension: '101', targetExtension: '103', requestedBy: '100', createdAt: '2026-11-29T10:00:00.000Z', peer: 'PJSIP/trunk-0000002a' }

t.test('a record survives the round trip through a channel variable, with and without a destination', async (t) => {
  t.same(decodeChannelRecord(encodeChannelRecord(record)), record)
  t.same(decodeChannelRecord(encodeChannelRecord({ ...record, destination: 'sales-queue' })), { ...record, destination: 'sales-queue' })
})

t.test('empty, foreign or damaged values are refused, never half trusted', async (t) => {
  for (const value of ['', 'v2|x', 'v1|not-a-uuid|101|103|100|2026-11-29T10:00:00.000Z|',
    `v1|${record.id}|101|103|100|yesterday|`, `v1|${record.id}|1 01|103|100|${record.createdAt}|`,
    `v1|${record.id}|101|103|100|${record.createdAt}||PJSIP/trunk-0000002a|extra`, `v1|${record.id}|101|103|100|${record.createdAt}|bad dest|PJSIP/trunk-0000002a`,
    `v1|${record.id}|101|103|100|${record.createdAt}||`, `v1|${record.id}|101|103|100|${record.createdAt}||not a channel`]) {
    t.equal(decodeChannelRecord(value), undefined, value)
  }
})
