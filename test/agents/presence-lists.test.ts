// The PBX lists the agent states are built from (AsteriskPbx.deviceStates and queueMembers), against a
// fake AMI answering with what the Asterisk 22 test bed answered. (Here rather than in
// test/asterisk/pbx.test.ts: they exist for the agents.)
import t, { type Test } from 'tap'
import { EventEmitter } from 'node:events'
import type { AriClient } from '../../src/asterisk/ari-client.js'
import type { AsteriskPbx } from '../../src/asterisk/pbx.js'
import { listAnswer, type FakeAmiServer } from '../helpers/fake-ami-server.js'
import { pbxOnFakeAmi } from '../helpers/pbx-on-fake-ami.js'

async function setup (t: Test): Promise<{ server: FakeAmiServer, pbx: AsteriskPbx }> {
  return await pbxOnFakeAmi(t, Object.assign(new EventEmitter(), { ready: true }) as unknown as AriClient)
}

const queueMember = (name: string, paused: string, reason: string): Record<string, string> => ({
  Event: 'QueueMember',
  Queue: 'sales',
  Name: name,
  Location: name,
  StateInterface: name,
  Membership: 'static',
  Penalty: '0',
  CallsTaken: '1',
  LastCall: '0',
  LastPause: '0',
  LoginTime: '1795632789',
  InCall: '0',
  Status: '1',
  Paused: paused,
  PausedReason: reason,
  Wrapuptime: '0'
})

t.test('deviceStates: every item of DeviceStateList (sent as DeviceStateChange events)', async (t) => {
  const { server, pbx } = await setup(t)
  server.script('DeviceStateList', listAnswer([
    { Event: 'DeviceStateChange', Device: 'PJSIP/107', State: 'UNAVAILABLE' },
    { Event: 'DeviceStateChange', Device: 'PJSIP/101', State: 'NOT_INUSE' },
    { Event: 'DeviceStateChange', Device: 'Queue:sales_pause_PJSIP/105', State: 'INUSE' }
  ], 'DeviceStateListComplete'))
  const live: unknown[] = []
  pbx.events.on('event', (event) => live.push(event))
  t.same(await pbx.deviceStates(), [
    { device: 'PJSIP/107', state: 'UNAVAILABLE' },
    { device: 'PJSIP/101', state: 'NOT_INUSE' },
    { device: 'Queue:sales_pause_PJSIP/105', state: 'INUSE' }
  ])
  t.same(live, [], 'the list items are not repeated as live events')
})

t.test('queueMembers: the QueueMember items of QueueStatus, the queue parameters left out', async (t) => {
  const { server, pbx } = await setup(t)
  server.script('QueueStatus', listAnswer([
    { Event: 'QueueParams', Queue: 'sales', Max: '0', Strategy: 'ringall', Calls: '0' },
    queueMember('PJSIP/105', '1', 'lunch'),
    queueMember('PJSIP/104', '0', ''),
    { Event: 'QueueEntry', Queue: 'sales', Position: '1', Channel: 'PJSIP/customer1-00000001' }
  ], 'QueueStatusComplete'))
  t.same(await pbx.queueMembers(), [
    { queue: 'sales', interface: 'PJSIP/105', stateInterface: 'PJSIP/105', paused: true, pausedReason: 'lunch' },
    { queue: 'sales', interface: 'PJSIP/104', stateInterface: 'PJSIP/104', paused: false, pausedReason: '' }
  ])
})

t.test('queueMembers: no queue at all when app_queue is not loaded (AMI does not know QueueStatus)', async (t) => {
  const { server, pbx } = await setup(t)
  server.script('QueueStatus', { Response: 'Error', Message: 'Invalid/unknown command: QueueStatus. Use Action: ListCommands to show available commands.' })
  t.same(await pbx.queueMembers(), [])
})

t.test('queueMembers: other refusals and timeouts are errors, not an empty call center', async (t) => {
  const { server, pbx } = await setup(t)
  server.script('QueueStatus', { Response: 'Error', Message: 'Permission denied' })
  await t.rejects(pbx.queueMembers(), { code: 'XFER_ASTERISK_REFUSED' })
  server.script('QueueStatus', 'hold')
  await t.rejects(pbx.queueMembers(), { code: 'XFER_ASTERISK_TIMEOUT' })
})
