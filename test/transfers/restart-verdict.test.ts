import t from 'tap'
import { predatesRestart, restarted } from '../../src/transfers/restart-verdict.js'

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
