// What the bridges show of a consultation a previous run of the host app left, and who owns a held half.
import t from 'tap'
import { consultationOf, foundOnBridges, loneConsultationHalves, mayBeInConsultation, ownersOfHalves, swappedAwayFrom, threeWayOf } from '../../src/transfers/restore-topology.js'
import { AGENT, CUSTOMER, LOCAL_1, LOCAL_2, TARGET_103, localChannel, scenes, snapshotOf } from '../helpers/fake-pbx.js'

const LEGS = { agent: AGENT, customer: CUSTOMER, target: TARGET_103 }

t.test('a consultation: the agent with the near half, the customer held in a bridge of its own', async (t) => {
  const snapshot = scenes.consultation(LEGS)
  t.same(consultationOf(snapshot, AGENT, CUSTOMER), { status: 'consulting', channels: { consultation: LOCAL_1 } })
  t.same(foundOnBridges(snapshot, AGENT, CUSTOMER), { status: 'consulting', channels: { consultation: LOCAL_1 } })
  t.equal(mayBeInConsultation(snapshot, AGENT), true)
  t.equal(consultationOf(snapshot, AGENT, 'PJSIP/trunk-00000099'), undefined, 'another customer: not this record\'s consultation')
  t.equal(consultationOf(scenes.talking(LEGS), AGENT, CUSTOMER), undefined, 'agent and customer together')
  t.equal(mayBeInConsultation(scenes.talking(LEGS), AGENT), false)
})

t.test('a three-way, through the Local half or once the pair is optimised away; found before the consultation it also looks like', async (t) => {
  t.same(threeWayOf(scenes.threeWay(LEGS), AGENT, CUSTOMER), { status: 'three_way', channels: { target: TARGET_103 } })
  const throughLocal = scenes.threeWayThroughLocal(LEGS)
  t.same(threeWayOf(throughLocal, AGENT, CUSTOMER), { status: 'three_way', channels: { consultation: LOCAL_1, target: TARGET_103 } })
  t.same(foundOnBridges(throughLocal, AGENT, CUSTOMER)?.status, 'three_way')
  t.equal(threeWayOf(scenes.consultation(LEGS), AGENT, CUSTOMER), undefined)
})

t.test('a consultation swapped away from: its near half waits alone; the target answered when bridged with the far half', async (t) => {
  const swapped = scenes.swappedToCustomer(LEGS)
  t.same(loneConsultationHalves(swapped), [LOCAL_1])
  t.same(swappedAwayFrom(swapped, LOCAL_1), { status: 'target_answered', channels: { consultation: LOCAL_1, target: TARGET_103 }, talkingTo: 'customer' })
  const ringing = snapshotOf([CUSTOMER, AGENT], [LOCAL_1], [LOCAL_2])
  t.same(swappedAwayFrom(ringing, LOCAL_1), { status: 'consulting', channels: { consultation: LOCAL_1 }, talkingTo: 'customer' })
  t.same(loneConsultationHalves(scenes.consultation(LEGS)), [], 'no half alone during a consultation')
  t.same(loneConsultationHalves(snapshotOf([CUSTOMER], [localChannel('104', 2)])), [], 'a far half alone is no held consultation')
})

t.test('owners of held halves: one candidate owns it, two or more contest it and nobody does', async (t) => {
  const { owned, contested } = ownersOfHalves(new Map([
    ['Local/103@from-internal-00000001;1', ['agent 101']],
    ['Local/104@from-internal-00000002;1', ['agent 101', 'agent 105']]
  ]))
  t.same(owned, [['Local/103@from-internal-00000001;1', 'agent 101']])
  t.same(contested, [['Local/104@from-internal-00000002;1', ['agent 101', 'agent 105']]])
})
