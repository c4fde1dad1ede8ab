import t from 'tap'
import { crossedVerdict, predatesRestart, restarted } from '../../src/transfers/restart-verdict.js'

t.test('a restart is another start time than the one known; nothing known or nothing read is no restart', async (t) => {
  t.equal(restarted('2026-01-05 09:00:00', '2026-01-05 09:10:00'), true)
  t.equal(restarted('2026-01-05 09:00:00', '2026-01-05 09:00:00'), false)
  t.equal(restarted(undefined, '2026-01-05 09:10:00'), false, 'the first reading is the reference')
  t.equal(restarted('2026-01-05 09:00:00', undefined), false, 'an unreadable start time proves nothing')
})

t.test('a transfer predates the restart when it was created no later than the link was lost', async (t) => {
  const lost = Date.parse('2026-01-05T09:05:00.000Z')
  t.equal(predatesRestart('2026-01-05T09:04:59.000Z', lost), true)
  t.equal(predatesRestart('2026-01-05T09:05:00.000Z', lost), true)
  t.equal(predatesRestart('2026-01-05T09:05:01.000Z', lost), false, 'created on the new Asterisk')
  t.equal(predatesRestart('2026-01-05T09:04:59.000Z', undefined), false, 'no restart seen')
})

t.test('crossedVerdict: a consultation across, its far half gone, is lost and its trunk leg here hung up', async (t) => {
  const answered = { type: 'attended' as const, status: 'target_answered', channels: { target: 'PJSIP/pbx2-00000004' } }
  t.same(crossedVerdict(answered, { inboundAlive: false, restarted: true }), { input: { type: 'lost', reason: 'asterisk_restarted' }, hangUp: 'PJSIP/pbx2-00000004' })
  t.same(crossedVerdict(answered, { inboundAlive: false, restarted: false }), { input: { type: 'lost', reason: 'call_ended' }, hangUp: 'PJSIP/pbx2-00000004' })
  t.same(crossedVerdict({ ...answered, status: 'three_way' }, { inboundAlive: false, restarted: true })?.hangUp, 'PJSIP/pbx2-00000004', 'a three-way too')
  t.equal(crossedVerdict(answered, { inboundAlive: true, restarted: true }), undefined, 'the far half still there: nothing (the trunk call outlived a reconnect)')
})

t.test('crossedVerdict: the far half never learned (the target rang) counts as gone only when that server restarted', async (t) => {
  const ringing = { type: 'attended' as const, status: 'consulting', channels: { target: 'PJSIP/pbx2-00000004' } }
  t.same(crossedVerdict(ringing, { inboundAlive: undefined, restarted: true }), { input: { type: 'lost', reason: 'asterisk_restarted' }, hangUp: 'PJSIP/pbx2-00000004' })
  t.equal(crossedVerdict(ringing, { inboundAlive: undefined, restarted: false }), undefined)
  t.same(crossedVerdict({ ...ringing, channels: {} }, { inboundAlive: undefined, restarted: true }), { input: { type: 'lost', reason: 'asterisk_restarted' } }, 'no leg dialled yet: nothing to hang up')
})

t.test('crossedVerdict: finished transfers and blind ones are left alone (a blind transfer\'s dial ends by itself, recall follows)', async (t) => {
  for (const status of ['completed', 'cancelled', 'failed', 'initiated']) {
    t.equal(crossedVerdict({ type: 'attended', status, channels: { target: 'PJSIP/pbx2-1' } }, { inboundAlive: false, restarted: true }), undefined, status)
  }
  t.equal(crossedVerdict({ type: 'blind', status: 'redirected', channels: { target: 'PJSIP/pbx2-1' } }, { inboundAlive: false, restarted: true }), undefined)
})
