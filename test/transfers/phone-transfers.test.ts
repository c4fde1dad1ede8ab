import t from 'tap'
import type { PbxEvent } from '../../src/asterisk/ami-events.js'
import { PhoneTransferDetector, type PhoneTransfer } from '../../src/transfers/phone-transfers.js'
import { AGENT, CUSTOMER, LOCAL_1, attendedTransfer, blindTransfer, hangup, hold, newLocal, unhold } from '../helpers/fake-pbx.js'

/** A channel of another technology than the agents'. */
const SIP_PHONE = 'SIP/101-0000002a'

interface Detector {
  detector: PhoneTransferDetector
  reported: PhoneTransfer[]
  /** Channels the plugin already follows. */
  tracked: Set<string>
  /** Answers the pending `peerOf` questions. */
  answerPeer: (peer: string | undefined) => void
  /** Local channels the plugin itself is creating for its own consultations. */
  ownConsultations: Set<string>
}

/** A detector for PJSIP agents; `peerOf` answers CUSTOMER at once, or waits for `answerPeer` when `slowPeer`. */
function setup ({ slowPeer = false } = {}): Detector {
  const reported: PhoneTransfer[] = []
  const tracked = new Set<string>()
  const ownConsultations = new Set<string>()
  let answerPeer: Detector['answerPeer'] = () => {}
  const detector = new PhoneTransferDetector({
    technology: 'pjsip',
    isTracked: (channel) => tracked.has(channel),
    isOwnConsultation: (channel) => ownConsultations.has(channel),
    peerOf: async () => slowPeer ? await new Promise<string | undefined>((resolve) => { answerPeer = resolve }) : CUSTOMER,
    onTransfer: (transfer) => reported.push(transfer)
  })
  return { detector, reported, tracked, ownConsultations, answerPeer: (peer) => answerPeer(peer) }
}

const settle = async (): Promise<void> => await new Promise((resolve) => setImmediate(resolve))

/** The agent put on hold, and the peer lookup done. */
async function held (detector: PhoneTransferDetector): Promise<void> {
  detector.observe(hold(AGENT))
  await settle()
}

const attendedReport: PhoneTransfer = {
  type: 'attended',
  extension: '101',
  targetExtension: '103',
  channels: { agent: AGENT, peer: CUSTOMER, consultation: LOCAL_1 },
  inputs: [{ type: 'consultation_started' }]
}

t.test('blind: a successful BlindTransfer from an agent channel is reported as redirected', async (t) => {
  const { detector, reported } = setup()
  detector.observe(blindTransfer(AGENT, CUSTOMER, '102'))
  t.same(reported, [{
    type: 'blind',
    extension: '101',
    targetExtension: '102',
    channels: { agent: AGENT, peer: CUSTOMER },
    inputs: [{ type: 'redirect_accepted' }]
  }])
})

t.test('blind: ignored when either channel is tracked', async (t) => {
  for (const channel of [AGENT, CUSTOMER]) {
    const { detector, reported, tracked } = setup()
    tracked.add(channel)
    detector.observe(blindTransfer(AGENT, CUSTOMER, '102'))
    t.same(reported, [], channel)
  }
})

t.test('blind: ignored when it failed, has no transferee, or the transferer is no agent of the technology', async (t) => {
  const { detector, reported } = setup()
  detector.observe(blindTransfer(AGENT, CUSTOMER, '102', 'Fail'))
  detector.observe({ type: 'blindTransfer', result: 'Success', transferer: AGENT, exten: '102', context: 'from-internal' })
  detector.observe(blindTransfer(SIP_PHONE, CUSTOMER, '102'))
  detector.observe(blindTransfer(LOCAL_1, CUSTOMER, '102'))
  t.same(reported, [])
})

t.test('attended: Hold then a Local;1 channel, peer already known: reported synchronously', async (t) => {
  const { detector, reported } = setup()
  await held(detector)
  detector.observe(newLocal('103'))
  t.same(reported, [attendedReport])
})

t.test('attended: the Local;1 of the plugin\'s own consultation is not paired with another agent\'s Hold', async (t) => {
  const { detector, reported, ownConsultations } = setup()
  await held(detector)
  const local = newLocal('103')
  ownConsultations.add((local as { channel: string }).channel)
  detector.observe(local)
  t.same(reported, [])
})

t.test('attended: peer not known yet when the Local;1 appears: reported once it is', async (t) => {
  const { detector, reported, answerPeer } = setup({ slowPeer: true })
  detector.observe(hold(AGENT))
  detector.observe(newLocal('103'))
  t.same(reported, [], 'not yet')
  answerPeer(CUSTOMER)
  await settle()
  t.same(reported, [attendedReport])
})

t.test('attended: nothing when the peer turns out unknown, or the agent got tracked meanwhile', async (t) => {
  const unknown = setup({ slowPeer: true })
  unknown.detector.observe(hold(AGENT))
  unknown.detector.observe(newLocal('103'))
  unknown.answerPeer(undefined)
  const adopted = setup({ slowPeer: true })
  adopted.detector.observe(hold(AGENT))
  adopted.detector.observe(newLocal('103'))
  adopted.tracked.add(AGENT)
  adopted.answerPeer(CUSTOMER)
  await settle()
  t.same([...unknown.reported, ...adopted.reported], [])
})

t.test('attended: a Local;1 outside the hold window is no transfer', async (t) => {
  const { detector, reported } = setup()
  await held(detector)
  const heldAt = Date.now()
  t.capture(Date, 'now', () => heldAt + 5001)
  detector.observe(newLocal('103'))
  t.same(reported, [])
})

async function heldThen (...events: PbxEvent[]): Promise<PhoneTransfer[]> {
  const { detector, reported } = setup()
  await held(detector)
  for (const event of events) detector.observe(event)
  detector.observe(newLocal('103'))
  return reported
}

t.test('attended: after the agent\'s Unhold or Hangup, a Local;1 is no transfer', async (t) => {
  t.same(await heldThen(unhold(AGENT)), [])
  t.same(await heldThen(hangup(AGENT)), [])
})

t.test('attended: only the first half of a Local channel counts, and only after a Hold', async (t) => {
  t.same(await heldThen(newLocal('103', 2)), [attendedReport], 'the ;2 half alone pairs nothing')
  const { detector, reported } = setup()
  detector.observe(newLocal('103'))
  t.same(reported, [], 'no Hold')
})

t.test('attended: one Hold pairs with one consultation only', async (t) => {
  const { detector, reported } = setup()
  await held(detector)
  detector.observe(newLocal('103'))
  detector.observe(newLocal('104'))
  t.equal(reported.length, 1)
})

t.test('attended: a tracked agent\'s Hold, or a non-agent\'s, starts nothing', async (t) => {
  const { detector, reported, tracked } = setup()
  tracked.add(AGENT)
  await held(detector)
  detector.observe(hold(SIP_PHONE))
  await settle()
  detector.observe(newLocal('103'))
  t.same(reported, [])
})

t.test('attended: an AttendedTransfer from an untracked agent is reported completed', async (t) => {
  const { detector, reported } = setup()
  detector.observe(attendedTransfer(AGENT, CUSTOMER, LOCAL_1))
  t.same(reported, [{
    type: 'attended',
    extension: '101',
    targetExtension: '103',
    channels: { agent: AGENT, peer: CUSTOMER },
    inputs: [{ type: 'consultation_started' }, { type: 'completed' }]
  }])
})

t.test('attended: an AttendedTransfer that is tracked, failed, or not from an agent is ignored', async (t) => {
  const { detector, reported, tracked } = setup()
  detector.observe(attendedTransfer(AGENT, CUSTOMER, LOCAL_1, 'Fail'))
  detector.observe(attendedTransfer(SIP_PHONE, CUSTOMER, LOCAL_1))
  tracked.add(AGENT)
  detector.observe(attendedTransfer(AGENT, CUSTOMER, LOCAL_1))
  t.same(reported, [])
})

t.test('stop() forgets the agents on hold', async (t) => {
  const { detector, reported } = setup()
  await held(detector)
  detector.stop()
  detector.observe(newLocal('103'))
  t.same(reported, [])
})

t.test('a Local channel of another call (a queue dialing a member through Local) is not taken for the held agent\'s consultation', async (t) => {
  const { detector, reported } = setup()
  await held(detector)
  const queueMember = { ...newLocal('105'), linkedId: 'another-call' } as PbxEvent
  detector.observe(queueMember)
  t.same(reported, [], 'no phantom transfer')
  detector.observe(newLocal('103'))
  t.same(reported, [attendedReport], 'the agent\'s own consultation, which comes next, still is')
})

t.test('agents on hold in other calls, held later, are not paired with a call\'s consultation; an unnamed call still is a candidate', async (t) => {
  const { detector, reported } = setup()
  await held(detector)
  // Many agents on hold in their own calls after 101 (customers waiting on hold across the floor).
  for (let index = 0; index < 50; index++) {
    detector.observe({ ...hold(`PJSIP/3${String(index).padStart(2, '0')}-000001${String(index).padStart(2, '0')}`), linkedId: `other-call-${index}` } as PbxEvent)
  }
  await settle()
  detector.observe(newLocal('103'))
  t.same(reported, [attendedReport], '101, the agent of this call')
  // An agent whose call Asterisk did not name, held last: taken for the next consultation of any call.
  const unnamed = 'PJSIP/104-00000077'
  detector.observe({ ...hold(unnamed), linkedId: '' } as PbxEvent)
  await settle()
  detector.observe({ ...newLocal('105'), linkedId: 'other-call-3' } as PbxEvent)
  t.equal(reported.length, 2)
  t.equal(reported[1]?.channels.agent, unnamed, 'the latest hold among the call\'s agents and the unnamed ones')
})

t.test('within one call the agent held last is paired; one held again without an Unhold keeps its first place', async (t) => {
  const { detector, reported } = setup()
  const second = 'PJSIP/104-00000031'
  detector.observe(hold(AGENT))
  detector.observe(hold(second))
  detector.observe(hold(AGENT))
  await settle()
  detector.observe(newLocal('103'))
  t.equal(reported[0]?.channels.agent, second)
})
