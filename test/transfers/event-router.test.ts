// Which transfers an Asterisk event concerns.
import t from 'tap'
import type { ActiveTransfer } from '../../src/transfers/active-transfer.js'
import { channelsNamedBy, transfersConcernedBy } from '../../src/transfers/event-router.js'
import { AGENT, CUSTOMER, TARGET_103, attendedTransfer, hangup } from '../helpers/fake-pbx.js'

const transfer = (id: string): ActiveTransfer => ({ id }) as unknown as ActiveTransfer

t.test('the channels an event names: its channel, and an attended transfer\'s transferer', async (t) => {
  t.same(channelsNamedBy(hangup(AGENT)), [AGENT])
  const event = attendedTransfer(AGENT, CUSTOMER, TARGET_103)
  t.ok(channelsNamedBy(event).includes(AGENT))
})

t.test('no action in flight and one channel: the lookup\'s own answer, as is', async (t) => {
  const onAgent = [transfer('t1')]
  const answer = transfersConcernedBy(hangup(AGENT), new Set(), (channel) => channel === AGENT ? onAgent : [])
  t.equal(answer, onAgent, 'the same array: nothing allocated for the common case')
  t.same([...transfersConcernedBy(hangup(CUSTOMER), new Set(), () => [])], [])
})

t.test('a transfer whose action is in flight sees every event, once even when a channel also leads to it', async (t) => {
  const inFlight = transfer('t1')
  const other = transfer('t2')
  const concerned = [...transfersConcernedBy(hangup(TARGET_103), new Set([inFlight]), (channel) => channel === TARGET_103 ? [inFlight, other] : [])]
  t.same(concerned.map((x) => x.id).sort(), ['t1', 't2'])
  t.same([...transfersConcernedBy(hangup('PJSIP/999-00000001'), new Set([inFlight]), () => [])].map((x) => x.id), ['t1'], 'an unrelated channel too')
})
