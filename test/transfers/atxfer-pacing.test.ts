import t from 'tap'
import { AtxferPacing } from '../../src/transfers/atxfer-pacing.js'
import { AGENT, bridgeEnter, hangup, hold, unhold } from '../helpers/fake-pbx.js'

t.test('an Atxfer waits until the channel has been quiet since its last Unhold or bridge entry', async (t) => {
  let now = 1000
  const pacing = new AtxferPacing(800, () => now)
  t.equal(pacing.delayFor(AGENT), 0, 'a channel never seen: at once')
  pacing.observe(unhold(AGENT))
  now += 300
  t.equal(pacing.delayFor(AGENT), 500)
  now += 600
  t.equal(pacing.delayFor(AGENT), 0)
  pacing.observe(bridgeEnter(AGENT))
  t.equal(pacing.delayFor(AGENT), 800)
  pacing.observe(hold(AGENT))
  t.equal(pacing.delayFor(AGENT), 800, 'a Hold does not count')
  pacing.observe(hangup(AGENT))
  t.equal(pacing.delayFor(AGENT), 0)
  t.equal(pacing.size, 0, 'a hung up channel is forgotten')
})
