import t from 'tap'
import { abortInput, DEFAULT_ATXFER_NO_ANSWER_MS, interpretEvent, type TrackedTransfer } from '../../src/transfers/tracker.js'
import { AGENT, CUSTOMER, LOCAL_1, LOCAL_2, TARGET_103, attendedTransfer, bridgeEnter, bridgeLeave, dialBegin, dialEnd, hangup, hold, newLocal, unhold } from '../helpers/fake-pbx.js'

const OTHER = 'PJSIP/trunk-00000031'

const blind = (target?: string): TrackedTransfer =>
  ({ type: 'blind', status: 'redirected', channels: { agent: AGENT, peer: CUSTOMER, ...(target === undefined ? {} : { target }) } })

const attended = (channels: Partial<TrackedTransfer['channels']> = { consultation: LOCAL_1 }): TrackedTransfer =>
  ({ type: 'attended', status: 'consulting', channels: { agent: AGENT, peer: CUSTOMER, ...channels } })

t.test('blind: the customer\'s DialBegin records the target leg, and is no outcome yet', async (t) => {
  t.same(interpretEvent(blind(), dialBegin(CUSTOMER, TARGET_103)), { channels: { target: TARGET_103 } })
})

t.test('blind: the customer\'s DialEnd status is the outcome', async (t) => {
  t.same(interpretEvent(blind(), dialEnd(CUSTOMER, TARGET_103, 'ANSWER')), { input: { type: 'target_answered' }, channels: { target: TARGET_103 } })
  const failures = { BUSY: 'target_busy', NOANSWER: 'no_answer', CHANUNAVAIL: 'target_unavailable', CONGESTION: 'target_unavailable' }
  for (const [status, reason] of Object.entries(failures)) {
    t.same(interpretEvent(blind(), dialEnd(CUSTOMER, TARGET_103, status)), { input: { type: 'target_failed', reason } }, status)
  }
})

t.test('DialEnd CANCEL (the caller gave up the dial) is no outcome', async (t) => {
  t.equal(interpretEvent(blind(), dialEnd(CUSTOMER, TARGET_103, 'CANCEL')), undefined)
  t.equal(interpretEvent(attended(), dialEnd(LOCAL_2, TARGET_103, 'CANCEL')), undefined)
})

t.test('a queue (several legs rung): only the answer counts, with the leg that took the call', async (t) => {
  const queue: TrackedTransfer = { ...blind(), multiLeg: true }
  t.equal(interpretEvent(queue, dialBegin(CUSTOMER, TARGET_103)), undefined)
  t.equal(interpretEvent(queue, dialEnd(CUSTOMER, TARGET_103, 'NOANSWER')), undefined)
  t.same(interpretEvent(queue, dialEnd(CUSTOMER, 'PJSIP/104-00000030', 'ANSWER')), { input: { type: 'target_answered' }, channels: { target: 'PJSIP/104-00000030' } })
})

t.test('dials of another channel, or of no channel, are ignored', async (t) => {
  for (const event of [dialBegin(OTHER, TARGET_103), dialEnd(OTHER, TARGET_103, 'ANSWER'), dialEnd(AGENT, TARGET_103, 'BUSY')]) {
    t.equal(interpretEvent(blind(), event), undefined)
  }
  t.equal(interpretEvent(blind(), { type: 'dialEnd', destChannel: TARGET_103, destUniqueId: 'u', dialStatus: 'ANSWER' }), undefined)
})

t.test('attended: the dialing channel is the Local;2 counterpart of the consultation channel', async (t) => {
  t.same(interpretEvent(attended(), dialBegin(LOCAL_2, TARGET_103)), { channels: { target: TARGET_103 } })
  t.same(interpretEvent(attended(), dialEnd(LOCAL_2, TARGET_103, 'ANSWER')), { input: { type: 'target_answered' }, channels: { target: TARGET_103 } })
  t.same(interpretEvent(attended(), dialEnd(LOCAL_2, TARGET_103, 'NOANSWER')), { input: { type: 'target_failed', reason: 'no_answer' } })
  t.equal(interpretEvent(attended(), dialEnd(LOCAL_1, TARGET_103, 'ANSWER')), undefined, 'not the consultation half itself')
  t.equal(interpretEvent(attended(), dialEnd(CUSTOMER, TARGET_103, 'ANSWER')), undefined, 'not the customer')
})

t.test('attended: without a consultation channel, no dial is the transfer\'s', async (t) => {
  t.equal(interpretEvent(attended({}), dialEnd(LOCAL_2, TARGET_103, 'ANSWER')), undefined)
})

t.test('attended: AttendedTransfer from the agent completes on Success once the target answered, is an abort otherwise', async (t) => {
  const answered = { ...attended(), status: 'target_answered' as const }
  t.same(interpretEvent(answered, attendedTransfer(AGENT, CUSTOMER, LOCAL_1)), { input: { type: 'completed' } })
  t.same(interpretEvent(answered, attendedTransfer(AGENT, CUSTOMER, LOCAL_1, 'Fail')), { aborted: true })
  t.same(interpretEvent(attended(), attendedTransfer(AGENT, CUSTOMER, LOCAL_1, 'Fail')), { aborted: true })
})

t.test('attended: Success while the target rings hands the customer over; the target\'s answer completes, its failure fails', async (t) => {
  t.same(interpretEvent(attended(), attendedTransfer(AGENT, CUSTOMER, LOCAL_1)), { handedOver: true }, 'no outcome yet')
  const handedOver = { ...attended(), handedOver: true }
  t.same(interpretEvent(handedOver, dialEnd(LOCAL_2, TARGET_103, 'ANSWER')), { input: { type: 'completed' }, channels: { target: TARGET_103 } })
  t.same(interpretEvent(handedOver, dialEnd(LOCAL_2, TARGET_103, 'NOANSWER')), { input: { type: 'target_failed', reason: 'no_answer' } })
  t.same(interpretEvent(handedOver, hangup(CUSTOMER)), { input: { type: 'customer_hung_up' } })
})

t.test('AttendedTransfer from someone else, or for a blind transfer, is ignored', async (t) => {
  t.equal(interpretEvent(attended(), attendedTransfer('PJSIP/102-0000002b', CUSTOMER, LOCAL_1)), undefined)
  t.equal(interpretEvent(blind(), attendedTransfer(AGENT, CUSTOMER, LOCAL_1)), undefined)
})

t.test('the agent\'s Unhold is an abort for attended transfers alone (while the target rings, maybe a swap)', async (t) => {
  t.same(interpretEvent(attended(), unhold(AGENT)), { aborted: true, mayBeSwap: true })
  t.equal(interpretEvent(blind(), unhold(AGENT)), undefined)
  t.equal(interpretEvent(attended(), unhold(CUSTOMER)), undefined, 'the customer\'s Unhold')
})

t.test('the customer hanging up abandons either type', async (t) => {
  t.same(interpretEvent(blind(), hangup(CUSTOMER)), { input: { type: 'customer_hung_up' } })
  t.same(interpretEvent(attended(), hangup(CUSTOMER)), { input: { type: 'customer_hung_up' } })
})

t.test('the target leg hanging up, once known', async (t) => {
  t.same(interpretEvent(blind(TARGET_103), hangup(TARGET_103)), { input: { type: 'target_hung_up' } })
  const answered: TrackedTransfer = { ...attended({ consultation: LOCAL_1, target: TARGET_103 }), status: 'target_answered' }
  t.same(interpretEvent(answered, hangup(TARGET_103)), { input: { type: 'target_hung_up' }, targetHungUp: true })
  t.equal(interpretEvent(blind(), hangup(TARGET_103)), undefined, 'a leg nobody recorded')
})

t.test('attended: a ringing target\'s leg ending is no outcome (the Local\'s DialEnd or the abort says what it was)', async (t) => {
  t.equal(interpretEvent(attended({ consultation: LOCAL_1, target: TARGET_103 }), hangup(TARGET_103)), undefined)
})

t.test('attended: the target\'s leg ending after our own cancel is the cancel\'s consequence', async (t) => {
  const cancelling: TrackedTransfer = { ...attended({ consultation: LOCAL_1, target: TARGET_103 }), status: 'target_answered', cancelRequested: true }
  t.equal(interpretEvent(cancelling, hangup(TARGET_103)), undefined)
})

t.test('an aborted consultation: cancelled only when someone cancelled it', async (t) => {
  const since = 1_000_000
  const ringing: TrackedTransfer = { ...attended(), consultingSince: since, noAnswerTimeoutMs: 8000 }
  t.same(abortInput({ ...ringing, cancelRequested: true }, since + 9000), { type: 'cancelled' }, 'the plugin sent CancelAtxfer')
  t.same(abortInput(ringing, since + 8000), { type: 'target_failed', reason: 'no_answer' }, 'at atxfernoanswertimeout')
  t.same(abortInput(ringing, since + 7400), { type: 'target_failed', reason: 'no_answer' }, 'timers and events are a little late or early')
  t.same(abortInput(ringing, since + 3000), { type: 'cancelled' }, 'long before the timeout: the agent\'s abort code from the phone')
  const unknown: TrackedTransfer = { ...attended(), consultingSince: since }
  t.same(abortInput(unknown, since + DEFAULT_ATXFER_NO_ANSWER_MS), { type: 'target_failed', reason: 'no_answer' }, 'Asterisk\'s default when the channel\'s value is unknown')
  t.same(abortInput(unknown, since + 9000), { type: 'cancelled' })
  const answered: TrackedTransfer = { ...ringing, status: 'target_answered' }
  t.same(abortInput({ ...answered, targetHungUp: true }, since + 60_000), { type: 'target_hung_up' }, 'the target hung up')
  t.same(abortInput(answered, since + 60_000), { type: 'cancelled' }, 'answered, then aborted from the agent\'s phone: never no_answer')
})

t.test('attended, target answered: who leaves a bridge first says who ended the consultation', async (t) => {
  const answered: TrackedTransfer = { ...attended({ consultation: LOCAL_1, target: TARGET_103 }), status: 'target_answered', talkingTo: 'target' }
  t.same(interpretEvent(answered, bridgeLeave(TARGET_103, 'b3')), { firstToLeave: 'target' }, 'the target hung up')
  t.same(interpretEvent(answered, bridgeLeave(AGENT, 'b2')), { firstToLeave: 'agent' }, 'the agent moved: an abort or a swap')
  t.equal(interpretEvent({ ...answered, firstToLeave: 'target' }, bridgeLeave(AGENT, 'b2')), undefined, 'only the first counts')
  t.equal(interpretEvent(answered, bridgeLeave(LOCAL_2, 'b3')), undefined, 'not the Local halves')
  t.same(interpretEvent({ ...answered, firstToLeave: 'target' }, bridgeEnter(TARGET_103, 'b2')), { firstToLeave: null }, 'the target moved (its Local optimised away): counted again')
  t.equal(interpretEvent({ ...answered, firstToLeave: 'agent' }, bridgeEnter(AGENT, 'b1')), undefined, 'the agent back with the customer: an abort does that too')
  t.match(interpretEvent({ ...answered, firstToLeave: 'agent', agentHeld: true }, unhold(AGENT)), { firstToLeave: null, input: { type: 'swapped' } }, 'after a swap: counted again')
  t.equal(interpretEvent({ ...answered, talkingTo: 'customer' }, bridgeLeave(AGENT, 'b1')), undefined, 'swapped to the customer: the target\'s Hangup decides')
  t.equal(interpretEvent(attended({ consultation: LOCAL_1, target: TARGET_103 }), bridgeLeave(AGENT, 'b2')), undefined, 'while the target rings')
  t.same(interpretEvent({ ...answered, firstToLeave: 'agent' }, hangup(TARGET_103)), { aborted: true }, 'the target\'s leg ending after the agent left is the abort\'s consequence')
  t.same(abortInput({ ...answered, firstToLeave: 'target' }, Date.now()), { type: 'target_hung_up' }, 'the Hangup not seen yet')
  t.same(abortInput({ ...answered, firstToLeave: 'agent', targetHungUp: true }, Date.now()), { type: 'cancelled' }, 'the phone\'s abort, the Hangup that followed notwithstanding')
})

const RECALL = { context: 'fastify-transfer-recall', fallback: 'sales-queue' }
const LOCAL_TARGET_1 = 'Local/201@from-internal-00000007;1'
const LOCAL_TARGET_2 = 'Local/201@from-internal-00000007;2'
const TARGET_201 = 'PJSIP/201-00000040'
const recalled = (status: TrackedTransfer['status'] = 'redirected', fallback = true): TrackedTransfer =>
  ({ ...blind(LOCAL_TARGET_1), status, recall: fallback ? RECALL : { context: RECALL.context } })
const step = (exten: string, application: string, context = RECALL.context) =>
  ({ type: 'newExten' as const, channel: CUSTOMER, uniqueId: 'u', linkedId: 'l', context, exten, application })

t.test('recall: the target\'s failure starts the recall instead of failing the transfer', async (t) => {
  const failures = { BUSY: 'target_busy', NOANSWER: 'no_answer', CHANUNAVAIL: 'target_unavailable', CONGESTION: 'target_unavailable' }
  for (const [status, reason] of Object.entries(failures)) {
    t.same(interpretEvent(recalled(), dialEnd(CUSTOMER, LOCAL_TARGET_1, status)), { input: { type: 'recall_started', reason } }, status)
  }
  t.equal(interpretEvent(recalled(), dialEnd(CUSTOMER, LOCAL_TARGET_1, 'CANCEL')), undefined)
})

t.test('recall: the real target leg is learned from the Local\'s far half, and kept when the Local answers', async (t) => {
  t.same(interpretEvent(recalled(), dialBegin(LOCAL_TARGET_2, TARGET_201)), { channels: { target: TARGET_201 } })
  const known: TrackedTransfer = { ...recalled(), channels: { ...recalled().channels, target: TARGET_201 } }
  t.same(interpretEvent(known, dialEnd(CUSTOMER, LOCAL_TARGET_1, 'ANSWER')), { input: { type: 'target_answered' } })
})

t.test('recall: the far half\'s Dial before the customer\'s DialBegin leaves the Local half as the target (the outcome check follows it)', async (t) => {
  // The order seen on a busy PBX: the Local's far half runs its Dial on its own thread.
  const unknown: TrackedTransfer = { ...recalled(), channels: { agent: AGENT, peer: CUSTOMER } }
  t.equal(interpretEvent(unknown, dialBegin(LOCAL_TARGET_2, TARGET_201)), undefined, 'the far half is not known to be this transfer\'s yet')
  t.same(interpretEvent(unknown, dialBegin(CUSTOMER, LOCAL_TARGET_1)), { channels: { target: LOCAL_TARGET_1 } })
  const named: TrackedTransfer = { ...unknown, channels: { ...unknown.channels, target: LOCAL_TARGET_1 } }
  t.same(interpretEvent(named, dialEnd(CUSTOMER, LOCAL_TARGET_1, 'ANSWER')), { input: { type: 'target_answered' }, channels: { target: LOCAL_TARGET_1 } })
})

t.test('recall: the ringing target\'s leg ending is no outcome; the customer\'s Dial decides', async (t) => {
  const known: TrackedTransfer = { ...recalled(), channels: { ...recalled().channels, target: TARGET_201 } }
  t.equal(interpretEvent(known, hangup(TARGET_201)), undefined)
})

t.test('recalling: the agent\'s answer, the fallback, or the end says where the customer went', async (t) => {
  t.same(interpretEvent(recalled('recalling'), dialEnd(CUSTOMER, 'Local/101@from-internal-00000008;1', 'ANSWER')), { input: { type: 'recalled', recall: { to: 'agent' } } })
  t.equal(interpretEvent(recalled('recalling'), dialEnd(CUSTOMER, 'Local/101@from-internal-00000008;1', 'NOANSWER')), undefined, 'the agent not answering: the fallback comes next')
  t.equal(interpretEvent(recalled('recalling'), dialBegin(CUSTOMER, 'Local/101@from-internal-00000008;1')), undefined, 'the recall leg is not the target')
  t.same(interpretEvent(recalled('recalling'), step('fallback', 'Goto')), { input: { type: 'recalled', recall: { to: 'fallback', destination: 'sales-queue' } } })
  t.equal(interpretEvent(recalled('recalling', false), step('fallback', 'Goto')), undefined, 'no fallback: on to the end')
  t.same(interpretEvent(recalled('recalling', false), step('end', 'Hangup')), { input: { type: 'recalled', recall: { to: 'none' } } })
  t.equal(interpretEvent(recalled('recalling'), step('recall', 'Dial')), undefined)
  t.equal(interpretEvent(recalled('recalling'), step('fallback', 'Goto', 'another-context')), undefined)
  t.same(interpretEvent(recalled('recalling'), hangup(CUSTOMER)), { input: { type: 'customer_hung_up' } })
})

t.test('recall: the entry found the context gone and sent the customer to the target the plain way: no recall for that transfer', async (t) => {
  t.equal(interpretEvent(recalled(), step('start', 'GotoIf')), undefined, 'at the entry')
  t.equal(interpretEvent(recalled(), step('transfer', 'Dial')), undefined, 'on through the recall context, as usual')
  t.same(interpretEvent(recalled(), step('201', 'Dial', 'from-internal')), { recallSkipped: true }, 'the target\'s own dialplan, from the customer\'s channel')
  t.equal(interpretEvent(recalled('recalling'), step('201', 'Dial', 'from-internal')), undefined, 'once recalling: the fallback\'s steps, not a skip')
  t.equal(interpretEvent({ ...recalled(), channels: { ...recalled().channels, peer: 'PJSIP/other' } }, step('201', 'Dial', 'from-internal')), undefined, 'another channel\'s step')
  t.equal(interpretEvent(blind(TARGET_103), step('103', 'Dial', 'from-internal')), undefined, 'without recall: nothing to skip')
})

t.test('hangups of the Local halves and of the agent are ignored', async (t) => {
  const transfer = attended({ consultation: LOCAL_1, target: TARGET_103 })
  for (const name of [LOCAL_1, LOCAL_2, AGENT]) t.equal(interpretEvent(transfer, hangup(name)), undefined, name)
  t.equal(interpretEvent(blind(TARGET_103), hangup(AGENT)), undefined, 'the agent leaves after a Redirect')
})

t.test('events that say nothing about the outcome are ignored', async (t) => {
  t.equal(interpretEvent(attended(), newLocal('103')), undefined)
  t.equal(interpretEvent(attended(), hold(AGENT)), undefined)
})

t.test('blind: a destination that answers by itself delivers the transfer; a configured queue waits for its member', async (t) => {
  const step = (application: string, channel = CUSTOMER) => ({ type: 'newExten' as const, channel, uniqueId: 'u', linkedId: 'l', context: 'c', exten: 'x', application })
  t.same(interpretEvent(blind(), step('VoiceMail')), { input: { type: 'delivered' } })
  t.same(interpretEvent(blind(), step('BackGround')), { input: { type: 'delivered' } }, 'an IVR menu')
  t.equal(interpretEvent(blind(), step('Dial')), undefined, 'a Dial decides by its DialEnd')
  t.equal(interpretEvent(blind(), step('Playback')), undefined, 'an announcement may come before a Dial')
  t.equal(interpretEvent(blind(), step('VoiceMail', AGENT)), undefined, 'only the customer\'s steps count')
  t.equal(interpretEvent({ ...blind(), status: 'answered' }, step('VoiceMail')), undefined)
  const queue = { ...blind(), multiLeg: true }
  t.same(interpretEvent(queue, step('Queue')), { reached: true })
  t.same(interpretEvent({ ...queue, reached: true }, hangup(CUSTOMER)), { input: { type: 'delivered' } }, 'hanging up while waiting in the queue: delivered, not abandoned')
  t.same(interpretEvent(queue, hangup(CUSTOMER)), { input: { type: 'customer_hung_up' } }, 'before reaching the queue: abandoned')
})

const answered = (fields: Partial<TrackedTransfer> = {}): TrackedTransfer =>
  ({ ...attended({ consultation: LOCAL_1, target: TARGET_103 }), status: 'target_answered', talkingTo: 'target', ...fields })

const threeWayEvent = attendedTransfer(AGENT, CUSTOMER, LOCAL_1, 'Success', 'Threeway')

t.test('swap: the agent held then resumed, once the target answered, is a swap to the other side', async (t) => {
  t.same(interpretEvent(answered(), hold(AGENT)), { agentHeld: true }, 'Asterisk\'s swap holds the agent first')
  t.same(interpretEvent(answered({ agentHeld: true }), unhold(AGENT)), { agentHeld: false, firstToLeave: null, input: { type: 'swapped', talkingTo: 'customer' } })
  t.same(interpretEvent(answered({ agentHeld: true, talkingTo: 'customer' }), unhold(AGENT)), { agentHeld: false, firstToLeave: null, input: { type: 'swapped', talkingTo: 'target' } }, 'and back')
  t.same(interpretEvent(answered(), unhold(AGENT)), { aborted: true }, 'resumed without a hold: Asterisk\'s abort')
  t.equal(interpretEvent(attended(), hold(AGENT)), undefined, 'while the target rings, the hold is the consultation\'s own')
  t.equal(interpretEvent(answered(), hold(CUSTOMER)), undefined, 'only the agent\'s')
})

t.test('swapped to the customer, the target hanging up is the abort (Asterisk sends no Unhold then)', async (t) => {
  t.same(interpretEvent(answered({ talkingTo: 'customer' }), hangup(TARGET_103)), { aborted: true, targetHungUp: true })
  t.same(interpretEvent(answered({ talkingTo: 'customer', cancelRequested: true }), hangup(TARGET_103)), { aborted: true, targetHungUp: true }, 'also after our cancel (abortInput says cancelled)')
  t.same(abortInput(answered({ talkingTo: 'customer', cancelRequested: true, targetHungUp: true }), Date.now()), { type: 'cancelled' })
  t.same(abortInput(answered({ talkingTo: 'customer', targetHungUp: true }), Date.now()), { type: 'target_hung_up' })
})

t.test('while the target rings: the agent\'s Unhold may be an abort or the phone\'s swap to the customer; the swap back holds the agent', async (t) => {
  const ringing = (fields: Partial<TrackedTransfer> = {}): TrackedTransfer => ({ ...attended({ consultation: LOCAL_1, target: TARGET_103 }), status: 'consulting', talkingTo: 'target', ...fields })
  t.same(interpretEvent(ringing(), unhold(AGENT)), { aborted: true, mayBeSwap: true }, 'told apart by whether the consultation outlives it')
  t.same(interpretEvent(ringing({ cancelRequested: true }), unhold(AGENT)), { aborted: true }, 'after our cancel: the abort')
  t.same(interpretEvent(ringing({ talkingTo: 'customer' }), hold(AGENT)), { input: { type: 'swapped', talkingTo: 'target' } }, 'back to the ringing target: no Unhold follows')
  t.same(interpretEvent(ringing({ talkingTo: 'customer' }), hangup(TARGET_103)), { aborted: true }, 'swapped to the customer, the ringing leg ending is the abort')
  t.equal(interpretEvent(ringing(), hangup(TARGET_103)), undefined, 'with the agent on the consultation, the Local\'s DialEnd or the abort says what it was')
  t.same(interpretEvent(ringing(), threeWayEvent), { input: { type: 'three_way' } }, 'a three-way while the target rings')
})

t.test('three-way: AttendedTransfer with DestType Threeway', async (t) => {
  t.same(interpretEvent(answered(), threeWayEvent), { input: { type: 'three_way' } })
  t.same(interpretEvent(answered({ talkingTo: 'customer' }), threeWayEvent), { input: { type: 'three_way' } }, 'from either side')
})

t.test('in a three-way: the agent leaving completes, the target leaving cancels, the customer leaving abandons', async (t) => {
  const threeWay = answered({ status: 'three_way', talkingTo: 'both' })
  t.same(interpretEvent(threeWay, hangup(AGENT)), { input: { type: 'completed' } })
  t.same(interpretEvent(threeWay, hangup(TARGET_103)), { input: { type: 'cancelled' } })
  t.same(interpretEvent(threeWay, hangup(CUSTOMER)), { input: { type: 'customer_hung_up' } })
  t.equal(interpretEvent(threeWay, hangup(LOCAL_1)), undefined, 'the Local pair optimised away')
  t.equal(interpretEvent(threeWay, unhold(AGENT)), undefined, 'no attended transfer runs any more: nothing to abort')
  t.equal(interpretEvent(threeWay, hold(AGENT)), undefined)
  t.equal(interpretEvent(answered(), hangup(AGENT)), undefined, 'before the three-way, the agent\'s hangup is read from AttendedTransfer')
})
