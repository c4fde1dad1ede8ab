import t from 'tap'
import type { PbxEvent } from '../../src/asterisk/ami-events.js'
import {
  advanceConsultation,
  describeMissing,
  initialProgress,
  isConsultationStarted,
  type ConsultationExpectation,
  type ConsultationProgress
} from '../../src/transfers/consultation.js'

const AGENT = 'PJSIP/101-0000002a'
const PEER = 'PJSIP/trunk-00000029'
const LOCAL_1 = 'Local/103@from-internal-00000001;1'
const TARGET_LEG = 'PJSIP/103-0000002c'

const expected: ConsultationExpectation = {
  agentChannel: AGENT,
  peerChannel: PEER,
  target: '103',
  context: 'from-internal',
  technology: 'PJSIP'
}

const ref = (channel: string): { channel: string, uniqueId: string, linkedId: string } => ({ channel, uniqueId: `u-${channel}`, linkedId: 'call-1' })
const hold = (channel: string): PbxEvent => ({ type: 'hold', ...ref(channel) })
const unhold = (channel: string): PbxEvent => ({ type: 'unhold', ...ref(channel) })
const hangup = (channel: string): PbxEvent => ({ type: 'hangup', ...ref(channel), cause: 'Normal Clearing' })
const newChannel = (channel: string, exten = '103'): PbxEvent => ({ type: 'newChannel', ...ref(channel), exten, context: 'from-internal', state: 'Down' })
const dialBegin = (destChannel: string, channel?: string): PbxEvent => ({
  type: 'dialBegin', channel, destChannel, destUniqueId: `u-${destChannel}`, destExten: '103', dialString: '103'
})

/** Feeds the events in order from the initial progress. */
function run (...events: PbxEvent[]): ConsultationProgress {
  return events.reduce((progress, event) => advanceConsultation(progress, event, expected), initialProgress)
}

t.test('nothing seen yet: not started, both parts missing', async (t) => {
  t.equal(isConsultationStarted(initialProgress), false)
  t.equal(describeMissing(initialProgress), 'no Hold and no dial to the target seen')
})

t.test('Hold on the agent channel counts', async (t) => {
  const progress = run(hold(AGENT))
  t.equal(progress.held, true)
  t.equal(isConsultationStarted(progress), false)
  t.equal(describeMissing(progress), 'no dial to the target seen')
})

t.test('Hold on the peer channel counts', async (t) => {
  t.equal(run(hold(PEER)).held, true)
})

t.test('Hold on an unrelated channel is ignored', async (t) => {
  const progress = run(hold('PJSIP/102-00000030'), hold('PJSIP/1010-00000031'))
  t.equal(progress.held, false)
  t.equal(describeMissing(progress), 'no Hold and no dial to the target seen')
})

t.test('Unhold does not count as Hold', async (t) => {
  t.equal(run(unhold(AGENT)).held, false)
})

t.test('Newchannel of a Local half to target@context is the consultation channel', async (t) => {
  const progress = run(newChannel(LOCAL_1))
  t.equal(progress.consultationChannel, LOCAL_1)
  t.equal(isConsultationStarted(progress), false, 'no Hold yet')
  t.equal(describeMissing(progress), 'no Hold seen')
})

t.test('Newchannel of a Local half to another extension or context is ignored', async (t) => {
  t.equal(run(newChannel('Local/104@from-internal-00000001;1', '104')).consultationChannel, undefined)
  t.equal(run(newChannel('Local/1030@from-internal-00000001;1', '1030')).consultationChannel, undefined)
  t.equal(run(newChannel('Local/103@from-queue-00000001;1')).consultationChannel, undefined)
})

t.test('DialBegin to a Local half to the target is the consultation channel', async (t) => {
  t.equal(run(dialBegin(LOCAL_1, AGENT)).consultationChannel, LOCAL_1)
})

t.test('DialBegin to the target\'s own leg is the consultation channel', async (t) => {
  t.equal(run(dialBegin(TARGET_LEG, 'Local/103@from-internal-00000001;2')).consultationChannel, TARGET_LEG)
})

t.test('DialBegin to another target is ignored', async (t) => {
  for (const dest of ['PJSIP/104-0000002d', 'PJSIP/1030-0000002d', 'PJSIP/10-0000002d', 'SIP/103-0000002d', 'Local/104@from-internal-00000002;1']) {
    t.equal(run(dialBegin(dest, AGENT)).consultationChannel, undefined, dest)
  }
})

t.test('Hold then dial: started, with the dialed channel', async (t) => {
  const progress = run(hold(AGENT), newChannel(LOCAL_1))
  t.equal(isConsultationStarted(progress), true)
  t.equal(progress.consultationChannel, LOCAL_1)
})

t.test('dial then Hold: started too', async (t) => {
  const progress = run(dialBegin(TARGET_LEG), hold(PEER))
  t.equal(isConsultationStarted(progress), true)
  t.equal(progress.consultationChannel, TARGET_LEG)
})

t.test('the first channel dialing the target is kept', async (t) => {
  const progress = run(newChannel(LOCAL_1), dialBegin(TARGET_LEG, 'Local/103@from-internal-00000001;2'), hold(AGENT))
  t.equal(progress.consultationChannel, LOCAL_1)
})

t.test('hangup of the agent channel is a failure', async (t) => {
  const progress = run(hold(AGENT), hangup(AGENT))
  t.equal(progress.failure, `${AGENT} hung up`)
  t.equal(isConsultationStarted(progress), false)
  t.equal(describeMissing(progress), `${AGENT} hung up`)
})

t.test('hangup of the peer channel is a failure', async (t) => {
  t.equal(run(hangup(PEER)).failure, `${PEER} hung up`)
})

t.test('hangup of an unrelated channel is ignored', async (t) => {
  const progress = run(hangup('PJSIP/102-00000030'), hold(AGENT), newChannel(LOCAL_1))
  t.equal(progress.failure, undefined)
  t.equal(isConsultationStarted(progress), true)
})

t.test('a failure is sticky: later Hold and dial change nothing', async (t) => {
  const failed = run(hangup(AGENT))
  const after = [hold(AGENT), newChannel(LOCAL_1), dialBegin(TARGET_LEG), hangup(PEER)]
    .reduce((progress, event) => advanceConsultation(progress, event, expected), failed)
  t.same(after, { held: false, failure: `${AGENT} hung up` })
  t.equal(isConsultationStarted(after), false)
})

t.test('advancing never mutates the progress it was given', async (t) => {
  run(hold(AGENT), newChannel(LOCAL_1), hangup(AGENT))
  t.same(initialProgress, { held: false })
})
