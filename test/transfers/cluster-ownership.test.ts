// The cluster path of the transfer service: several instances of the host app sharing their transfers
// (test/helpers/fake-cluster.ts, the Redis store's semantics in memory) in front of one Asterisk (one
// FakePbx, whose events every instance sees, as each has its own AMI connection to it). Each test
// takes one branch of the service's cluster logic: a request routed to the transfer's owner, taken over
// from a gone owner, taken back, refused without the owner; leases renewed, lost and taken over; the
// shared store unreachable; a phone's own transfer claimed by exactly one instance. Only the service's
// public API is driven.
import t, { type Test } from 'tap'
import type { PbxEvent } from '../../src/asterisk/ami-events.js'
import { channelKey, DEFAULT_SERVER } from '../../src/domain/server.js'
import { isFinal, type Transfer } from '../../src/domain/transfer.js'
import type { Identity } from '../../src/identity.js'
import type { StoredTransfer } from '../../src/store/transfer-store.js'
import { PHONE_GRACE_MS } from '../../src/store/transfer-store.js'
import { TRANSFER_EVENTS } from '../../src/transfers/transfer-events.js'
import { TransferService, type Peers, type TransferServiceOptions } from '../../src/transfers/transfer-service.js'
import { FakeCluster, type ClusterInstance } from '../helpers/fake-cluster.js'
import {
  AGENT, CONTEXT, CUSTOMER, FakePbx, LOCAL_1, LOCAL_2, TARGET_102, TARGET_103,
  attendedTransfer, blindTransfer, channel, dialBegin, dialEnd, hangup, hold, scenes, sequences, snapshotOf, unhold
} from '../helpers/fake-pbx.js'

const TO_103 = { agent: AGENT, customer: CUSTOMER, target: TARGET_103 }
const SETTLE_MS = 1000
const CONSULTATION_MS = 100
const AGENT_101: Identity = { extension: '101', role: 'agent' }
/** A channel as the shared store locks it: on the one Asterisk of these tests. */
const key = (channel: string): string => channelKey(DEFAULT_SERVER, channel)

interface Member {
  instance: ClusterInstance
  service: TransferService
  /** Every transfer event this instance published, as `event status`. */
  published: string[]
}

/** A cluster of instances in front of one Asterisk whose agent 101 talks with a customer. */
class World {
  readonly cluster = new FakeCluster()
  readonly pbx = new FakePbx(scenes.talking(TO_103))
  readonly #t: Test

  constructor (t: Test) {
    this.#t = t
  }

  /** A new instance: its service started, answering its peers' requests. */
  member (name: string, options: Partial<TransferServiceOptions> & { leaseRenewMs?: number } & Pick<Peers, 'lastPublished' | 'ended'> = {}): Member {
    const { leaseRenewMs, lastPublished, ended, ...serviceOptions } = options
    const instance = this.cluster.join(name, leaseRenewMs)
    const service = new TransferService(this.pbx, {
      transferContext: CONTEXT,
      channelTechnology: 'PJSIP',
      consultationTimeoutMs: CONSULTATION_MS,
      settleTimeoutMs: SETTLE_MS,
      store: instance.store,
      peers: { ...instance.peers, ...(lastPublished === undefined ? {} : { lastPublished }), ...(ended === undefined ? {} : { ended }) },
      ...serviceOptions
    })
    const published: string[] = []
    for (const name of TRANSFER_EVENTS) service.events.on(name, (transfer) => { published.push(`${name} ${transfer.status}`) })
    service.start()
    instance.listen(async (command) => await service.handleRemote(command))
    this.#t.teardown(async () => {
      // A process that ends while Redis is unreachable drops what it had queued for it (ioredis rejects
      // its offline queue on disconnect); the fake's equivalent is a crash.
      if (!instance.reachable) instance.crash()
      await service.stop()
    })
    return { instance, service, published }
  }

  /** Asterisk's answers to the actions of an attended transfer to 103, and to its complete and cancel. */
  scriptAttended ({ answered = true } = {}): void {
    const { pbx } = this
    pbx.hooks.attendedTransfer = async () => {
      pbx.snapshotValue = scenes.consultation(TO_103)
      void pbx.emitLater(...sequences.consultationStarts(TO_103), ...(answered ? sequences.targetAnswers(TO_103) : []))
    }
    pbx.hooks.hangup = () => {
      pbx.snapshotValue = scenes.customerWithTargetThroughLocal(TO_103)
      pbx.emit(...sequences.agentLeaves(TO_103))
    }
    pbx.hooks.cancelAttendedTransfer = () => {
      pbx.snapshotValue = scenes.talking(TO_103)
      void pbx.emitLater(...sequences.consultationCancelled(TO_103))
    }
  }

  /**
   * `member` starts an attended transfer from 101 to 103; returned once 103 answered (unless told) and
   * the shared store has the owner's latest write (each write reaches it a round trip later).
   */
  async consultation (member: Member, { answered = true } = {}): Promise<Transfer> {
    this.scriptAttended({ answered })
    const { id } = await member.service.execute({ extension: '101', targetExtension: '103', transferType: 'attended', requestedBy: '101' })
    const transfer = await reaches(member, id, answered ? 'target_answered' : 'consulting')
    await this.recorded(id, transfer.status)
    return transfer
  }

  /** Once the shared store shows the transfer in `status`. */
  async recorded (id: string, status: Transfer['status']): Promise<void> {
    await until(() => this.cluster.get(id)?.stored.record.status === status)
  }
}

const later = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

/** The transfer as `member` follows it once it reaches `status` (or as it is after `withinMs`). */
/** Two members, A and B, and an attended transfer whose target answered, owned by A. */
async function consultationOwnedByA (t: Test): Promise<{ world: World, a: Member, b: Member, id: string }> {
  const world = new World(t)
  const a = world.member('A')
  const b = world.member('B')
  const { id } = await world.consultation(a)
  return { world, a, b, id }
}

async function reaches (member: Member, id: string, status: Transfer['status'], withinMs = 3000): Promise<Transfer> {
  const deadline = Date.now() + withinMs
  while (member.service.getHere(id)?.status !== status && Date.now() < deadline) await later(5)
  return member.service.getHere(id) as Transfer
}

/** Until `done` holds, or `withinMs` passed. */
async function until (done: () => boolean, withinMs = 3000): Promise<void> {
  const deadline = Date.now() + withinMs
  while (!done() && Date.now() < deadline) await later(5)
}

/** A consultation with 103 answered, 101 talking with 103, as an owner records it in the shared store. */
function answeredConsultation (fields: Partial<Transfer> = {}): Transfer {
  const now = new Date().toISOString()
  return {
    id: '00000000-0000-4000-8000-0000000000a1',
    type: 'attended',
    status: 'target_answered',
    origin: 'plugin',
    extension: '101',
    targetExtension: '103',
    requestedBy: '101',
    talkingTo: 'target',
    channels: { agent: AGENT, peer: CUSTOMER, consultation: LOCAL_1, target: TARGET_103 },
    createdAt: now,
    updatedAt: now,
    ...fields
  }
}

/**
 * Puts a transfer in the shared store as `owner` recorded it, with its calls locked, without any
 * service of this test following it: what is there when its owner is another process.
 */
function seed (world: World, owner: string, record: Transfer, tracking: Partial<StoredTransfer['tracking']> = {}): Transfer {
  world.pbx.snapshotValue = scenes.consultation(TO_103)
  const stored: StoredTransfer = {
    record,
    dialTarget: { exten: record.targetExtension, context: CONTEXT, kind: 'agent' },
    tracking: { handedOver: false, reached: false, cancelRequested: false, targetHungUp: false, ...tracking }
  }
  const { agent, peer, consultation, target } = record.channels
  const channels = [agent, peer, consultation, consultation === undefined ? undefined : LOCAL_2, target].filter((name): name is string => name !== undefined).map(key)
  const opened = world.cluster.open(owner, stored, channels, 100)
  if (!opened.ok) throw new Error(`seed refused: ${JSON.stringify(opened)}`)
  return record
}

const failure = async (promise: Promise<unknown>): Promise<Error & { code?: string, statusCode?: number, transferId?: string }> =>
  await promise.then(() => { throw new Error('expected a rejection') }, (error: Error) => error)

t.test('a request for a transfer another instance owns is sent to its owner and answered with its result', async (t) => {
  const { world, a, b, id } = await consultationOwnedByA(t)
  t.equal(world.cluster.ownerOf(id), 'A')
  const completed = await b.service.complete(id, AGENT_101)
  t.match(completed, { id, status: 'completed', channels: { target: TARGET_103 } }, 'the owner\'s result')
  t.same(b.instance.peers.sent, [{ owner: 'A', command: { action: 'complete', transferId: id, identity: AGENT_101 }, timeoutMs: SETTLE_MS + CONSULTATION_MS }],
    'sent once, to A, with who asks, given the time to settle and to start a consultation')
  t.equal(world.pbx.count('hangup'), 1, 'one action on the PBX: the owner\'s')
  t.equal(a.service.getHere(id)?.status, 'completed', 'A acted and followed it to the end')
  t.equal(b.service.getHere(id), undefined, 'B never followed it')
  t.same(b.published, [], 'nor announced anything: the owner did')
  await world.recorded(id, 'completed')
  t.equal(world.cluster.get(id)?.owner, undefined, 'the owner recorded the end; nobody owns it now')
})

t.test('each action is answered by the owner through handleRemote: complete, cancel, swap, three_way; an unknown one is refused', async (t) => {
  t.test('cancel', async (t) => {
    const { world, a, b, id } = await consultationOwnedByA(t)
    t.match(await b.service.cancel(id), { id, status: 'cancelled' })
    t.same(b.instance.peers.sent.map(({ command }) => command.action), ['cancel'])
    t.same(world.pbx.actions().at(-1), { method: 'cancelAttendedTransfer', args: [AGENT] })
    t.equal(a.service.getHere(id)?.status, 'cancelled')
  })

  t.test('swap and three_way', async (t) => {
    const { world, a, b, id } = await consultationOwnedByA(t)
    await world.pbx.setVariable(AGENT, 'FEATURE(atxferswap)', '*4')
    await world.pbx.setVariable(AGENT, 'FEATURE(atxferthreeway)', '*3')
    world.pbx.hooks.pressDigits = (_, digits) => {
      world.pbx.snapshotValue = digits === '*4' ? scenes.swappedToCustomer(TO_103) : scenes.threeWay(TO_103)
      void world.pbx.emitLater(...(digits === '*4' ? [hold(AGENT), unhold(AGENT)] : [attendedTransfer(AGENT, CUSTOMER, LOCAL_1, 'Success', 'Threeway'), hangup(LOCAL_1)]))
    }
    t.match(await b.service.swap(id), { id, status: 'target_answered', talkingTo: 'customer' })
    t.match(await b.service.threeWay(id), { id, status: 'three_way', talkingTo: 'both' })
    t.same(b.instance.peers.sent.map(({ command }) => command.action), ['swap', 'three_way'])
    t.same(world.pbx.actions().filter((action) => action.method === 'pressDigits').map((action) => action.args), [[AGENT, '*4'], [AGENT, '*3']])
    t.equal(a.service.getHere(id)?.status, 'three_way', 'A followed both')
  })

  t.test('complete, asked of the owner directly', async (t) => {
    const world = new World(t)
    const a = world.member('A')
    const { id } = await world.consultation(a)
    t.match(await a.service.handleRemote({ action: 'complete', transferId: id, identity: AGENT_101 }), { id, status: 'completed' })
  })

  t.test('an action the owner does not know: 409 naming it, nothing done', async (t) => {
    const world = new World(t)
    const a = world.member('A')
    const { id } = await world.consultation(a)
    const before = world.pbx.actions().length
    await t.rejects(a.service.handleRemote({ action: 'transfer_again', transferId: id }), { code: 'XFER_TRANSFER_STATE', statusCode: 409, message: /unknown action transfer_again/ })
    t.equal(world.pbx.actions().length, before)
    t.equal(a.service.getHere(id)?.status, 'target_answered')
  })
})

/** The shared feed, as `member` publishes on it: the transfer's end, as the asker's mirror reads it. */
function endsPublishedBy (member: Member): NonNullable<Peers['ended']> {
  return async (id, signal) => await new Promise((resolve) => {
    const published = (transfer: Transfer): void => { if (transfer.id === id && isFinal(transfer.status) && !signal.aborted) resolve(transfer) }
    for (const name of TRANSFER_EVENTS) member.service.events.on(name, published)
  })
}

t.test('the owner\'s answer lost on the way back (a failover moving the subscriptions): the end it published answers', async (t) => {
  for (const [action, status] of [['complete', 'completed'], ['cancel', 'cancelled']] as const) {
    t.test(`${action}: the owner's result, from the feed, not a timeout`, async (t) => {
      const world = new World(t)
      const a = world.member('A')
      const b = world.member('B', { ended: endsPublishedBy(a) })
      const { id } = await world.consultation(a)
      world.cluster.loseAnswers = true
      t.match(await b.service[action](id, AGENT_101), { id, status })
      t.equal(world.pbx.count(action === 'complete' ? 'hangup' : 'cancelAttendedTransfer'), 1, 'done once, by the owner')
      t.same(b.published, [], 'nothing announced by the asker')
    })
  }

  t.test('without the feed: 504 once the owner\'s time is up, although it acted', async (t) => {
    const { world, b, id } = await consultationOwnedByA(t)
    world.cluster.loseAnswers = true
    t.match(await failure(b.service.complete(id, AGENT_101)), { code: 'XFER_ASTERISK_TIMEOUT', statusCode: 504 })
    t.equal(world.pbx.count('hangup'), 1)
  })
})

t.test('the owner\'s refusal comes back as it is, and the transfer stays the owner\'s', async (t) => {
  const { world, b, id } = await consultationOwnedByA(t)
  // No atxferswap digits on the agent's channel: the owner refuses the swap.
  const error = await failure(b.service.swap(id))
  t.match(error, { code: 'XFER_FEATURE_NOT_CONFIGURED', statusCode: 409, message: /atxferswap/ })
  t.equal(world.cluster.ownerOf(id), 'A', 'not taken over: its owner answered')
  t.equal(b.service.getHere(id), undefined)
  t.same(b.instance.store.calls.filter((call) => call === 'takeOver'), [])
})

t.test('the owner gone: the transfer is taken over here, checked against the PBX, and acted on', async (t) => {
  const { world, a, b, id } = await consultationOwnedByA(t)
  a.instance.crash()
  await a.service.stop()
  t.equal(world.cluster.ownerOf(id), 'A', 'its lease still runs')
  const snapshotsBefore = world.pbx.count('snapshot')
  const completed = await b.service.complete(id)
  t.match(completed, { id, status: 'completed', channels: { target: TARGET_103 } })
  t.same(b.instance.peers.sent.map(({ owner }) => owner), ['A'], 'A was asked first')
  t.ok(world.pbx.count('snapshot') > snapshotsBefore, 'the PBX was looked at')
  t.equal(b.service.getHere(id)?.status, 'completed', 'B followed it to the end')
  t.same(b.published, ['call:ami_attended_transfer_completed completed'], 'not announced again when taken over: its clients saw it from A')
  await world.recorded(id, 'completed')
  t.match(world.cluster.get(id), { owner: undefined, stored: { record: { status: 'completed' } } }, 'B recorded the end; nobody owns it now')
})

t.test('the owner gone, and another instance took the transfer over first: 503 XFER_STORE_UNAVAILABLE naming it', async (t) => {
  const world = new World(t)
  const a = world.member('A')
  const b = world.member('B')
  const c = world.member('C')
  const { id } = await world.consultation(a)
  a.instance.crash()
  await a.service.stop()
  // Both find A gone and race for the transfer.
  const [fromB, fromC] = await Promise.allSettled([b.service.cancel(id), c.service.cancel(id)])
  const outcomes = [fromB, fromC]
  const won = outcomes.filter((outcome) => outcome.status === 'fulfilled')
  const lost = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected')
  t.equal(won.length, 1, 'one instance acts')
  t.equal(lost.length, 1)
  t.match(lost[0]?.reason, { code: 'XFER_STORE_UNAVAILABLE', statusCode: 503, transferId: id, message: new RegExp(`transfer ${id} is being taken over by another instance`) })
  t.match(won[0], { value: { id, status: 'cancelled' } })
  t.equal(world.pbx.count('cancelAttendedTransfer'), 1, 'one CancelAtxfer sent')
})

t.test('a transfer recorded as this instance\'s that it does not follow is taken back and acted on', async (t) => {
  const world = new World(t)
  const a = world.member('A')
  const { id } = seed(world, 'A', answeredConsultation())
  t.equal(a.service.getHere(id), undefined, 'A does not follow it')
  world.scriptAttended()
  t.match(await a.service.complete(id), { id, status: 'completed' })
  t.same(a.instance.peers.sent, [], 'nobody asked: it is A\'s')
  t.same(world.pbx.actions(), [{ method: 'hangup', args: [AGENT] }])
  t.equal(a.service.getHere(id)?.status, 'completed')
})

t.test('two requests at once for a transfer recorded as this instance\'s: taken back once, acted on once, the other refused', async (t) => {
  const world = new World(t)
  const a = world.member('A')
  const { id } = seed(world, 'A', answeredConsultation())
  world.scriptAttended()
  const [first, second] = await Promise.allSettled([a.service.complete(id), a.service.complete(id)])
  const outcomes = [first, second]
  t.equal(outcomes.filter((outcome) => outcome.status === 'fulfilled').length, 1)
  t.match(outcomes.find((outcome) => outcome.status === 'rejected'), { reason: { code: 'XFER_TRANSFER_STATE', message: /already being/ } })
  t.equal(world.pbx.count('hangup'), 1)
})

t.test('a transfer nobody owns (its owner stopped renewing) is taken over by the instance asked, without asking anyone', async (t) => {
  const world = new World(t)
  const b = world.member('B')
  const { id } = seed(world, 'A', answeredConsultation())
  world.cluster.expireLeasesOf('A')
  world.scriptAttended()
  t.match(await b.service.cancel(id), { id, status: 'cancelled' })
  t.same(b.instance.peers.sent, [], 'no owner to ask')
  t.same(world.pbx.actions(), [{ method: 'cancelAttendedTransfer', args: [AGENT] }])
})

t.test('the owner\'s saves never reached the store, its feed events did: the takeover goes on from the published state', async (t) => {
  /** As A opened it: `initiated`, its saves of `consulting` and `target_answered` lost with A. */
  const openedByA = (): Transfer => {
    const { talkingTo, ...answered } = answeredConsultation({ updatedAt: new Date(Date.now() - 2000).toISOString() })
    return { ...answered, status: 'initiated', channels: { agent: AGENT, peer: CUSTOMER } }
  }
  const publishedByA = (fields: Partial<Transfer> = {}): Transfer => answeredConsultation({ updatedAt: new Date(Date.now() - 1000).toISOString(), ...fields })

  t.test('the agent left meanwhile: completed, as the PBX shows, and the store catches up', async (t) => {
    const world = new World(t)
    const { id } = seed(world, 'A', openedByA())
    world.cluster.expireLeasesOf('A')
    const published = publishedByA()
    const b = world.member('B', { lastPublished: (asked) => asked === id ? published : undefined })
    world.pbx.snapshotValue = scenes.customerWithTarget(TO_103)
    await b.service.keepLeases()
    t.equal(b.service.getHere(id)?.status, 'completed', 'from target_answered, the agent gone and the customer with 103 is completed')
    t.same(b.published, ['call:ami_attended_transfer_completed completed'], 'only the end is new to the clients')
    await world.recorded(id, 'completed')
    t.same(world.cluster.activeIds(), [])
  })

  t.test('still consulting: followed with the published channels, and completed on the agent\'s hangup', async (t) => {
    const world = new World(t)
    const { id } = seed(world, 'A', openedByA())
    world.cluster.expireLeasesOf('A')
    const b = world.member('B', { lastPublished: () => publishedByA() })
    await b.service.keepLeases()
    t.match(b.service.getHere(id), { status: 'target_answered', channels: { consultation: LOCAL_1, target: TARGET_103 } })
    await world.recorded(id, 'target_answered')
    t.match(world.cluster.get(id), { owner: 'B', stored: { record: { status: 'target_answered' } } }, 'recorded as B\'s, in the published state')
    world.scriptAttended()
    t.match(await b.service.complete(id), { id, status: 'completed' })
  })

  t.test('its end was published, not stored: recorded as ended, nothing announced again or sent to Asterisk', async (t) => {
    const world = new World(t)
    const { id } = seed(world, 'A', openedByA())
    world.cluster.expireLeasesOf('A')
    const b = world.member('B', { lastPublished: () => publishedByA({ status: 'completed', talkingTo: undefined }) })
    world.pbx.snapshotValue = scenes.customerWithTarget(TO_103)
    await b.service.keepLeases()
    t.equal(b.service.getHere(id), undefined, 'not followed')
    t.same(b.published, [])
    t.match(world.cluster.get(id), { owner: undefined, stored: { record: { status: 'completed' } } })
    t.same(world.cluster.activeIds(), [])
    t.same(world.pbx.actions(), [])
  })

  t.test('what was published is older than what is stored: the stored state', async (t) => {
    const world = new World(t)
    const { id } = seed(world, 'A', answeredConsultation())
    world.cluster.expireLeasesOf('A')
    const b = world.member('B', { lastPublished: () => ({ ...openedByA(), id }) })
    await b.service.keepLeases()
    t.equal(b.service.getHere(id)?.status, 'target_answered')
  })
})

t.test('a look at the PBX that fails while taking over does not stop the action', async (t) => {
  const world = new World(t)
  const b = world.member('B')
  const { id } = seed(world, 'A', answeredConsultation())
  world.cluster.expireLeasesOf('A')
  world.scriptAttended()
  world.pbx.snapshotError = new Error('ARI down')
  const hangupHook = world.pbx.hooks.hangup
  world.pbx.hooks.hangup = (...args) => {
    world.pbx.snapshotError = undefined
    return hangupHook?.(...args)
  }
  t.match(await b.service.complete(id), { id, status: 'completed' })
  await world.recorded(id, 'completed')
  t.equal(world.cluster.get(id)?.owner, undefined)
})

t.test('what the owner knew travels with the record: a blind transfer sent through the recall context is recalled, not failed', async (t) => {
  const world = new World(t)
  const a = world.member('A', { recall: { context: 'fastify-transfer-recall', fallback: 'sales', ensure: async () => true } })
  const { id } = await a.service.execute({ extension: '101', targetExtension: '102', transferType: 'blind', requestedBy: '101' })
  await world.recorded(id, 'redirected')
  t.same(world.cluster.get(id)?.stored.tracking.recall, { context: 'fastify-transfer-recall', fallback: 'sales' }, 'A recorded where the customer dials from')
  a.instance.crash()
  await a.service.stop()
  world.cluster.expireLeasesOf('A')
  // B knows nothing of a recall context of its own.
  const b = world.member('B')
  world.pbx.snapshotValue = snapshotOf([CUSTOMER])
  await b.service.keepLeases()
  t.equal(b.service.getHere(id)?.status, 'redirected', 'taken over')
  const local = 'Local/102@from-internal-00000009;1'
  world.pbx.emit(dialBegin(CUSTOMER, local), dialBegin('Local/102@from-internal-00000009;2', TARGET_102), dialEnd(CUSTOMER, local, 'NOANSWER'))
  t.match(b.service.getHere(id), { status: 'recalling', failureReason: 'no_answer' }, 'the customer comes back: recalling, not failed')
  world.pbx.emit({ type: 'newExten', channel: CUSTOMER, uniqueId: 'u', linkedId: 'l', context: 'fastify-transfer-recall', exten: 'fallback', application: 'Goto' })
  t.match(b.service.getHere(id), { status: 'failed', failureReason: 'no_answer', recall: { to: 'fallback', destination: 'sales' } }, 'and goes to A\'s fallback')
})

t.test('what the owner knew travels with the record: the agent had left while 103 rang, so its answer completes the transfer', async (t) => {
  const world = new World(t)
  const a = world.member('A')
  const { id } = await world.consultation(a, { answered: false })
  // The customer with the consultation's near half; the agent's leg stays until 103 answers; 103 rings.
  const handedOver = snapshotOf([CUSTOMER, LOCAL_1])
  world.pbx.snapshotValue = { channels: [...handedOver.channels, channel(AGENT, AGENT), channel(LOCAL_2, LOCAL_2), channel(TARGET_103, TARGET_103, 'Ringing')], bridges: handedOver.bridges }
  world.pbx.emit(...sequences.agentLeavesWhileTargetRings(TO_103))
  await until(() => world.cluster.get(id)?.stored.tracking.handedOver === true)
  t.equal(world.cluster.get(id)?.stored.tracking.handedOver, true, 'A recorded that Asterisk handed the customer over')
  a.instance.crash()
  await a.service.stop()
  world.cluster.expireLeasesOf('A')
  const b = world.member('B')
  await b.service.keepLeases()
  t.equal(b.service.getHere(id)?.status, 'consulting', 'taken over, still ringing')
  world.pbx.snapshotValue = scenes.customerWithTargetThroughLocal(TO_103)
  world.pbx.emit(...sequences.targetAnswers(TO_103), hangup(AGENT))
  t.equal((await reaches(b, id, 'completed')).status, 'completed', 'completed, not target_answered: B knew the agent had left')
})

t.test('a transfer taken over has its calls locked to it again at once: nobody else takes them meanwhile', async (t) => {
  const world = new World(t)
  const a = world.member('A')
  const { id } = await world.consultation(a)
  a.instance.crash()
  await a.service.stop()
  world.cluster.expireLeasesOf('A')
  const b = world.member('B')
  const c = world.member('C')
  await b.service.keepLeases()
  t.equal(world.cluster.ownerOf(id), 'B')
  await until(() => world.cluster.lockOf(key(AGENT)) !== undefined, 500)
  t.same([AGENT, CUSTOMER, LOCAL_1, LOCAL_2, TARGET_103].map((name) => world.cluster.lockOf(key(name))), [id, id, id, id, id], 'its calls are its again')
  // B completes it before its next renewal: C must not take Asterisk's AttendedTransfer for a phone's own.
  world.scriptAttended()
  t.equal((await b.service.complete(id)).status, 'completed')
  await later(20)
  t.same(c.published, [], 'C followed nothing')
  t.same(c.instance.store.calls.filter((call) => call === 'save'), [], 'nor wrote anything')
})

t.test('refusals made without the owner: nothing sent, the owner keeps it', async (t) => {
  const refused = async (t: Test, record: Transfer | undefined, act: (b: Member, id: string) => Promise<unknown>, expected: { code: string, statusCode?: number, message?: RegExp }): Promise<void> => {
    const world = new World(t)
    const b = world.member('B')
    const id = record === undefined ? '00000000-0000-4000-8000-0000000000ff' : seed(world, 'A', record).id
    await t.rejects(act(b, id), expected)
    t.same(b.instance.peers.sent, [], 'the owner was not asked')
    t.equal(world.cluster.ownerOf(id), record === undefined ? undefined : 'A')
    t.same(world.pbx.actions(), [])
  }
  t.test('unknown id: 404', async (t) => {
    await refused(t, undefined, async (b, id) => await b.service.complete(id), { code: 'XFER_TRANSFER_NOT_FOUND', statusCode: 404 })
  })
  t.test('another agent\'s transfer: 403', async (t) => {
    await refused(t, answeredConsultation(), async (b, id) => await b.service.cancel(id, { extension: '102', role: 'agent' }), { code: 'XFER_FORBIDDEN', statusCode: 403 })
  })
  t.test('over already: 409', async (t) => {
    await refused(t, answeredConsultation({ status: 'abandoned' }), async (b, id) => await b.service.cancel(id), { code: 'XFER_TRANSFER_STATE', statusCode: 409, message: /abandoned/ })
  })
  t.test('complete while 103 still rings: 409 saying why', async (t) => {
    await refused(t, answeredConsultation({ status: 'consulting', talkingTo: undefined }), async (b, id) => await b.service.complete(id), { code: 'XFER_TRANSFER_STATE', message: /103 has not answered yet/ })
  })
  t.test('blind: 409', async (t) => {
    const blind = answeredConsultation({ type: 'blind', status: 'redirected', talkingTo: undefined, channels: { agent: AGENT, peer: CUSTOMER } })
    await refused(t, blind, async (b, id) => await b.service.swap(id), { code: 'XFER_TRANSFER_STATE', message: /blind and redirected/ })
  })
})

t.test('the shared store unreachable: the request path answers 503 and does nothing', async (t) => {
  t.test('complete, find, list', async (t) => {
    const { world, a, b, id } = await consultationOwnedByA(t)
    b.instance.disconnect()
    const before = world.pbx.actions().length
    await t.rejects(b.service.complete(id), { code: 'XFER_STORE_UNAVAILABLE', statusCode: 503 })
    await t.rejects(b.service.findAnywhere(id), { code: 'XFER_STORE_UNAVAILABLE', statusCode: 503 })
    await t.rejects(b.service.listAnywhere(), { code: 'XFER_STORE_UNAVAILABLE', statusCode: 503 })
    t.same(b.instance.peers.sent, [])
    t.equal(world.pbx.actions().length, before, 'nothing done on the PBX')
    t.equal(a.service.getHere(id)?.status, 'target_answered')
  })

  t.test('execute: refused before any PBX action; nothing is left behind', async (t) => {
    const world = new World(t)
    const b = world.member('B')
    b.instance.disconnect()
    await t.rejects(b.service.execute({ extension: '101', targetExtension: '102', transferType: 'blind', requestedBy: '101' }), { code: 'XFER_STORE_UNAVAILABLE', statusCode: 503 })
    t.same(world.pbx.actions(), [])
    t.same(b.service.activeHere(), [])
    t.same(b.published, [])
  })

  t.test('an error the store gives a plugin code already passes as it is', async (t) => {
    const world = new World(t)
    const b = world.member('B')
    b.instance.store.get = async () => { throw Object.assign(new Error('the store says no'), { code: 'XFER_SOMETHING', statusCode: 418 }) }
    await t.rejects(b.service.findAnywhere('00000000-0000-4000-8000-0000000000ff'), { code: 'XFER_SOMETHING', statusCode: 418, message: 'the store says no' })
  })

  t.test('a transfer this instance follows is still found, from memory', async (t) => {
    const world = new World(t)
    const a = world.member('A')
    const { id } = await world.consultation(a)
    a.instance.disconnect()
    t.match(await a.service.findAnywhere(id), { id, status: 'target_answered' })
  })
})

t.test('find and list answer through the shared store, whichever instance owns the transfer', async (t) => {
  const { b, id } = await consultationOwnedByA(t)
  t.match(await b.service.findAnywhere(id), { id, status: 'target_answered', channels: { consultation: LOCAL_1, target: TARGET_103 } }, 'A\'s latest state')
  t.equal(await b.service.findAnywhere('00000000-0000-4000-8000-0000000000ff'), undefined)
  t.same((await b.service.listAnywhere()).map((transfer) => transfer.id), [id], 'B lists A\'s transfer')
  t.same(b.service.activeHere(), [], 'though B follows nothing')
  await b.service.complete(id)
  t.same(await b.service.listAnywhere(), [], 'over: no longer in progress anywhere')
  t.match(await b.service.findAnywhere(id), { id, status: 'completed' }, 'and still found')
})

t.test('execute records the new transfer as this instance\'s, its calls locked to it', async (t) => {
  const world = new World(t)
  const a = world.member('A')
  const { id } = await world.consultation(a)
  t.equal(world.cluster.ownerOf(id), 'A')
  t.same([AGENT, CUSTOMER, LOCAL_1, LOCAL_2, TARGET_103].map((channel) => world.cluster.lockOf(key(channel))), [id, id, id, id, id])
})

t.test('two instances asked for one call at once: one transfers it, the other is told which transfer has it', async (t) => {
  const world = new World(t)
  const a = world.member('A')
  const b = world.member('B')
  world.pbx.hooks.redirect = () => { world.pbx.snapshotValue = scenes.customerWithTarget({ ...TO_103, target: TARGET_102 }) }
  const request = { extension: '101', targetExtension: '102', transferType: 'blind', requestedBy: '101' } as const
  const [fromA, fromB] = await Promise.allSettled([a.service.execute(request), b.service.execute(request)])
  const won = [fromA, fromB].filter((outcome): outcome is PromiseFulfilledResult<Transfer> => outcome.status === 'fulfilled')
  const lost = [fromA, fromB].filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected')
  t.equal(won.length, 1)
  t.equal(lost.length, 1)
  const winner = won[0]?.value as Transfer
  t.match(lost[0]?.reason, { code: 'XFER_TRANSFER_IN_PROGRESS', statusCode: 409, transferId: winner.id })
  t.equal(world.pbx.count('redirect'), 1, 'one Redirect')
  t.same([...a.service.activeHere(), ...b.service.activeHere()].map((transfer) => transfer.id), [winner.id], 'followed by the winner alone')
})

t.test('the cap on transfers in progress counts every instance\'s', async (t) => {
  const world = new World(t)
  const a = world.member('A', { maxActive: 1 })
  const b = world.member('B', { maxActive: 1 })
  await world.consultation(a)
  world.pbx.snapshotValue = snapshotOf([CUSTOMER, LOCAL_1], ['PJSIP/trunk-00000050', 'PJSIP/104-00000051'])
  const before = world.pbx.actions().length
  await t.rejects(b.service.execute({ extension: '104', targetExtension: '102', transferType: 'blind', requestedBy: '104' }), { code: 'XFER_TOO_MANY_TRANSFERS', statusCode: 503 })
  t.equal(world.pbx.actions().length, before, 'nothing sent')
  t.same(b.service.activeHere(), [])
})

t.test('keepLeases', async (t) => {
  t.test('renews this instance\'s leases and its calls\' locks', async (t) => {
    const world = new World(t)
    const a = world.member('A')
    const { id } = await world.consultation(a)
    world.cluster.advance(world.cluster.leaseMs - 1)
    await a.service.keepLeases()
    world.cluster.advance(world.cluster.leaseMs - 1)
    t.equal(world.cluster.ownerOf(id), 'A', 'still A\'s, past the first lease')
    t.equal(world.cluster.lockOf(key(AGENT)), id)
    t.same(world.cluster.orphans(), [])
    world.cluster.advance(2)
    t.same(world.cluster.orphans(), [id], 'without the renewal it would be an orphan now')
  })

  t.test('a renewal that finds the transfer taken over by another instance stops following it here', async (t) => {
    const world = new World(t)
    const a = world.member('A')
    const { id } = await world.consultation(a)
    world.cluster.expireLeasesOf('A')
    const c = world.member('C')
    await c.service.keepLeases()
    t.equal(world.cluster.ownerOf(id), 'C')
    // C's next pass locks the transfer's calls again: they ran out with A's lease, and a takeover does
    // not lock them (until then A would take the end of C's transfer for a phone's own transfer).
    await c.service.keepLeases()
    await a.service.keepLeases()
    t.equal(a.service.getHere(id), undefined, 'A no longer follows it')
    const savesByA = a.instance.store.calls.filter((call) => call === 'save').length
    world.scriptAttended()
    t.match(await a.service.complete(id), { status: 'completed' }, 'a request to A goes to C')
    t.same(a.instance.peers.sent.map(({ owner }) => owner), ['C'])
    t.equal(a.instance.store.calls.filter((call) => call === 'save').length, savesByA, 'A wrote nothing of it')
    t.same(a.published.filter((step) => step.endsWith('completed')), [], 'nor announced its end')
  })

  t.test('orphans are taken over only while the PBX is connected; then followed, checked against it', async (t) => {
    const world = new World(t)
    const { id } = seed(world, 'A', answeredConsultation())
    world.cluster.expireLeasesOf('A')
    const b = world.member('B')
    let connected = false
    world.pbx.connectionState = () => ({ ami: connected, ari: true })
    await b.service.keepLeases()
    t.equal(b.service.getHere(id), undefined, 'not taken over: B could not check its calls')
    t.same(world.cluster.orphans(), [id])
    t.notOk(b.instance.store.calls.includes('orphans'), 'not even looked for')
    // Meanwhile, the agent left: the customer is with 103.
    world.pbx.snapshotValue = scenes.customerWithTarget(TO_103)
    connected = true
    await b.service.keepLeases()
    t.equal(b.service.getHere(id)?.status, 'completed', 'what the PBX shows was applied')
    t.same(b.published, ['call:ami_attended_transfer_completed completed'])
    await world.recorded(id, 'completed')
    t.same(world.cluster.activeIds(), [], 'and recorded')
  })

  t.test('an orphan taken over and still in consultation is followed: its events move it here', async (t) => {
    const world = new World(t)
    const { id } = seed(world, 'A', answeredConsultation())
    world.cluster.expireLeasesOf('A')
    const b = world.member('B')
    await b.service.keepLeases()
    t.equal(b.service.getHere(id)?.status, 'target_answered')
    world.pbx.snapshotValue = scenes.talking(TO_103)
    world.pbx.emit(...sequences.phoneAbortsAnswered(TO_103))
    t.equal((await reaches(b, id, 'cancelled')).status, 'cancelled')
  })

  t.test('two instances looking for orphans at once: one takes each over', async (t) => {
    const world = new World(t)
    const { id } = seed(world, 'A', answeredConsultation())
    world.cluster.expireLeasesOf('A')
    const b = world.member('B')
    const c = world.member('C')
    await Promise.all([b.service.keepLeases(), c.service.keepLeases()])
    const followers = [b, c].filter((member) => member.service.getHere(id) !== undefined)
    t.equal(followers.length, 1)
    t.equal(world.cluster.ownerOf(id), followers[0]?.instance.id)
  })

  t.test('the shared store unreachable: nothing renewed, nothing taken over, no error', async (t) => {
    const world = new World(t)
    const a = world.member('A')
    await world.consultation(a)
    seed(world, 'Z', answeredConsultation({ id: '00000000-0000-4000-8000-0000000000b2', channels: { agent: 'PJSIP/104-00000051', peer: 'PJSIP/trunk-00000050' } }))
    world.cluster.expireLeasesOf('Z')
    a.instance.disconnect()
    const asked = a.instance.store.calls.length
    await a.service.keepLeases()
    t.same(a.instance.store.calls.slice(asked), [], 'the store was not asked')
    t.same(world.cluster.orphans(), ['00000000-0000-4000-8000-0000000000b2'])
  })

  t.test('two passes asked at once are one', async (t) => {
    const world = new World(t)
    const a = world.member('A')
    await world.consultation(a)
    const asked = a.instance.store.calls.length
    await Promise.all([a.service.keepLeases(), a.service.keepLeases()])
    t.same(a.instance.store.calls.slice(asked), ['renew', 'orphans'])
  })

  t.test('started, the service renews by itself every leaseRenewMs', async (t) => {
    const world = new World(t)
    const a = world.member('A', { leaseRenewMs: 20 })
    const { id } = await world.consultation(a)
    const renewals = (): number => a.instance.store.calls.filter((call) => call === 'renew').length
    world.cluster.advance(world.cluster.leaseMs - 1)
    // One pass at a time: the second renewal after the clock moved began once the first was applied.
    const before = renewals()
    await until(() => renewals() >= before + 2)
    world.cluster.advance(2)
    t.equal(world.cluster.ownerOf(id), 'A', 'renewed without being asked')
    t.equal(world.cluster.lockOf(key(CUSTOMER)), id)
  })
})

t.test('a write the store refuses because another instance owns the transfer now: no longer followed here', async (t) => {
  const world = new World(t)
  const a = world.member('A')
  const { id } = await world.consultation(a)
  world.cluster.expireLeasesOf('A')
  const c = world.member('C')
  await c.service.keepLeases()
  t.equal(world.cluster.ownerOf(id), 'C')
  // A has not renewed yet: it still follows the transfer, until its next write is refused.
  t.equal(a.service.getHere(id)?.status, 'target_answered')
  world.pbx.snapshotValue = scenes.swappedToCustomer(TO_103)
  world.pbx.emit(hold(AGENT), unhold(AGENT))
  await until(() => a.service.getHere(id) === undefined && c.service.getHere(id)?.talkingTo === 'customer')
  t.equal(a.service.getHere(id), undefined, 'A stopped following it')
  t.equal(world.cluster.ownerOf(id), 'C')
  t.match(c.service.getHere(id), { status: 'target_answered', talkingTo: 'customer' }, 'C follows it on')
  t.match(world.cluster.get(id)?.stored.record, { talkingTo: 'customer' })
})

t.test('a write the store fails is logged; the transfer goes on here', async (t) => {
  const world = new World(t)
  const warnings: string[] = []
  const a = world.member('A', { logger: { debug () {}, info () {}, error () {}, warn (_, message) { warnings.push(message ?? '') } } })
  const { id } = await world.consultation(a)
  a.instance.store.save = async () => { throw new Error('OOM command not allowed when used memory > maxmemory') }
  world.pbx.snapshotValue = scenes.customerWithTargetThroughLocal(TO_103)
  world.pbx.emit(...sequences.agentLeaves(TO_103))
  t.equal((await reaches(a, id, 'completed')).status, 'completed')
  t.ok(warnings.includes('a transfer could not be recorded in the shared store'))
})

t.test('a save unanswered for a second is logged, and again when it lands, late', async (t) => {
  const world = new World(t)
  const warnings: string[] = []
  const a = world.member('A', { logger: { debug () {}, info () {}, error () {}, warn (_, message) { warnings.push(message ?? '') } } })
  const { id } = await world.consultation(a)
  t.same(warnings, [], 'saves answered at once: nothing said')
  a.instance.disconnect()
  world.pbx.snapshotValue = scenes.customerWithTargetThroughLocal(TO_103)
  world.pbx.emit(...sequences.agentLeaves(TO_103))
  t.equal((await reaches(a, id, 'completed')).status, 'completed')
  await until(() => warnings.length > 0, 2000)
  t.same(warnings, ['a transfer\'s state has not reached the shared store after 1000 ms'])
  await a.instance.reconnect()
  await until(() => warnings.length > 1)
  t.same(warnings.slice(1), ['a transfer\'s state reached the shared store late'])
})

t.test('while Redis is unreachable the owner goes on; its writes reach the store in order once it is back', async (t) => {
  const world = new World(t)
  const a = world.member('A')
  const { id } = await world.consultation(a)
  a.instance.disconnect()
  world.pbx.snapshotValue = scenes.customerWithTargetThroughLocal(TO_103)
  world.pbx.emit(...sequences.agentLeaves(TO_103))
  t.equal((await reaches(a, id, 'completed')).status, 'completed')
  t.equal(world.cluster.get(id)?.stored.record.status, 'target_answered', 'not written yet')
  await a.instance.reconnect()
  t.match(world.cluster.get(id), { owner: undefined, stored: { record: { status: 'completed' } } })
  t.same(world.cluster.activeIds(), [])
})

t.test('recordAll records every transfer this instance follows again (Redis lost its data)', async (t) => {
  const { world, a, b, id } = await consultationOwnedByA(t)
  world.cluster.flushAll()
  t.equal(await b.service.findAnywhere(id), undefined, 'forgotten by the store')
  a.service.recordAll()
  await until(() => world.cluster.ownerOf(id) !== undefined)
  t.match(await b.service.findAnywhere(id), { id, status: 'target_answered', channels: { target: TARGET_103 } })
  t.equal(world.cluster.ownerOf(id), 'A')
  t.equal(world.cluster.lockOf(key(CUSTOMER)), id, 'its calls locked again')
  t.match(await b.service.complete(id), { status: 'completed' }, 'and B\'s requests reach A again')
  t.same(b.instance.peers.sent.map(({ owner }) => owner), ['A'])
})

t.test('stop releases this instance\'s leases: another takes its transfers over at once', async (t) => {
  const world = new World(t)
  const a = world.member('A')
  const { id } = await world.consultation(a)
  await a.service.stop()
  a.instance.leave()
  t.same(world.cluster.orphans(), [id], 'an orphan without waiting for its lease')
  const b = world.member('B')
  await b.service.keepLeases()
  t.equal(world.cluster.ownerOf(id), 'B')
  t.equal(b.service.getHere(id)?.status, 'target_answered')
})

t.test('a phone\'s own transfer with several instances', async (t) => {
  const blindFromThePhone = (): PbxEvent => blindTransfer(AGENT, CUSTOMER, '102')

  t.test('claimed in the store: followed and announced by one instance; the events that came meanwhile are not lost', async (t) => {
    const world = new World(t)
    const a = world.member('A')
    const b = world.member('B')
    world.pbx.snapshotValue = scenes.customerWithTarget({ ...TO_103, target: TARGET_102 })
    // The customer's dial comes before the store answered either instance.
    world.pbx.emit(blindFromThePhone(), dialBegin(CUSTOMER, TARGET_102), dialEnd(CUSTOMER, TARGET_102, 'BUSY'))
    await until(() => world.cluster.get(world.cluster.lockOf(key(CUSTOMER)) ?? '')?.stored.record.status === 'failed')
    const followers = [a, b].filter((member) => member.published.length > 0)
    t.equal(followers.length, 1, 'one instance follows it')
    const follower = followers[0] as Member
    t.same(follower.published, ['call:transfer_initiated initiated', 'call:ami_transfer_complete redirected', 'call:ami_transfer_failed failed'], 'announced, and the busy target applied')
    t.match(follower.service.getHere(world.cluster.lockOf(key(CUSTOMER)) ?? ''), { origin: 'phone', type: 'blind', status: 'failed', failureReason: 'target_busy', channels: { target: TARGET_102 } })
    const other = follower === a ? b : a
    t.same(other.published, [], 'the other announced nothing')
    t.same(other.service.activeHere(), [])
  })

  t.test('not claimed (the call is another transfer\'s, or was until PHONE_GRACE_MS ago): discarded silently', async (t) => {
    const { world, a, b, id } = await consultationOwnedByA(t)
    // A completes it; B sees Asterisk's AttendedTransfer for a call it does not follow, like a phone's own.
    t.equal((await a.service.complete(id)).status, 'completed')
    await later(20)
    t.same(b.published, [], 'B took nothing for a phone\'s transfer')
    t.same(b.service.activeHere(), [])
    t.equal(world.cluster.lockOf(key(CUSTOMER)), id, 'the call stays locked to the finished transfer for a while')
    // The same call transferred by the phone, within the grace: left alone; after it: followed.
    world.pbx.emit(blindFromThePhone())
    await later(20)
    t.same(b.published, [])
    t.same(a.published.filter((step) => step.startsWith('call:transfer_initiated')).length, 1, 'nor A: only its own transfer was announced')
    world.cluster.advance(PHONE_GRACE_MS)
    world.pbx.emit(blindFromThePhone())
    await until(() => [...a.published, ...b.published].filter((step) => step.startsWith('call:transfer_initiated')).length === 2)
    t.equal([...a.published, ...b.published].filter((step) => step === 'call:ami_transfer_complete redirected').length, 1, 'after the grace, one instance follows it')
  })

  t.test('the store unreachable: not followed by that instance; one that reaches it does', async (t) => {
    const world = new World(t)
    const warnings: string[] = []
    const a = world.member('A', { logger: { debug () {}, info () {}, error () {}, warn (_, message) { warnings.push(message ?? '') } } })
    const b = world.member('B')
    a.instance.disconnect()
    world.pbx.emit(blindFromThePhone())
    await until(() => b.published.length > 0 && warnings.length > 0)
    t.same(a.published, [])
    t.same(a.service.activeHere(), [])
    t.ok(warnings.includes('phone transfer not followed: the shared store is not reachable'))
    t.match(b.service.activeHere(), [{ origin: 'phone', status: 'redirected' }])
  })

  t.test('beyond maxActive: not followed, the store not even asked', async (t) => {
    const world = new World(t)
    const a = world.member('A', { maxActive: 1 })
    await world.consultation(a)
    const opens = a.instance.store.calls.filter((call) => call === 'open').length
    world.pbx.emit(blindTransfer('PJSIP/104-00000051', 'PJSIP/trunk-00000050', '102'))
    await later(10)
    t.equal(a.instance.store.calls.filter((call) => call === 'open').length, opens)
    t.equal(a.service.activeHere().length, 1)
  })
})

t.test('a consultation left on an agent\'s channel that another instance follows is not restored here', async (t) => {
  const world = new World(t)
  const a = world.member('A')
  const { id } = await world.consultation(a)
  const snapshot = scenes.consultation(TO_103)
  const calls = { inSync: true, snapshotOf: () => snapshot, snapshotAround: () => snapshot, allCalls: () => [{ extension: '101', channel: AGENT, uniqueId: AGENT, linkedId: AGENT, state: 'in_consultation' as const, startedAt: '' }] }
  const b = world.member('B', { calls })
  t.same(await b.service.restore(), [], 'A follows it')
  t.equal(b.service.getHere(id), undefined)
  t.equal(world.cluster.ownerOf(id), 'A')
  // Without A's record in the store (Redis lost it, A gone), the same look restores it.
  world.cluster.flushAll()
  a.instance.leave()
  t.match(await b.service.restore(), [{ id, status: 'target_answered' }])
  t.equal(world.cluster.ownerOf(id), 'B')
})

t.test('queueLog with several instances: a transfer of a queue call is written to the queue_log once, by the instance that follows it', async (t) => {
  const cameThroughQueue = (): PbxEvent[] => [
    { type: 'queueCallerJoin', channel: CUSTOMER, uniqueId: 'u-customer', linkedId: 'u-customer', queue: 'sales', position: 1 },
    { type: 'agentConnect', channel: CUSTOMER, uniqueId: 'u-customer', linkedId: 'u-customer', queue: 'sales', memberName: 'Agent 101', memberInterface: 'Local/101@agents/n', memberChannel: 'Local/101@agents-00000001;1', holdTimeSeconds: 4 }
  ]

  t.test('asked through the API of one instance', async (t) => {
    const world = new World(t)
    const a = world.member('A', { queueLog: true })
    world.member('B', { queueLog: true })
    world.pbx.emit(...cameThroughQueue())
    await a.service.execute({ extension: '101', targetExtension: '102', transferType: 'blind', requestedBy: '101' })
    await later(20)
    t.match(world.pbx.queueLogLines, [{ event: 'BLINDTRANSFER', uniqueId: 'u-customer', queue: 'sales' }])
    t.equal(world.pbx.queueLogLines.length, 1, 'B, which sees the same events, wrote nothing')
  })

  t.test('the phone\'s own transfer, seen by both', async (t) => {
    const world = new World(t)
    const a = world.member('A', { queueLog: true })
    const b = world.member('B', { queueLog: true })
    world.pbx.emit(...cameThroughQueue())
    world.pbx.snapshotValue = scenes.customerWithTarget({ ...TO_103, target: TARGET_102 })
    world.pbx.emit(blindTransfer(AGENT, CUSTOMER, '102'))
    await until(() => [...a.published, ...b.published].includes('call:ami_transfer_complete redirected'))
    await later(20)
    t.match(world.pbx.queueLogLines, [{ event: 'BLINDTRANSFER', uniqueId: 'u-customer', agent: 'Agent 101' }])
    t.equal(world.pbx.queueLogLines.length, 1, 'one line for the two instances')
  })
})
