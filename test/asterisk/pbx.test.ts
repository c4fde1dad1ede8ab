import { EventEmitter, once } from 'node:events'
import t, { type Test } from 'tap'
import type { PbxEvent } from '../../src/asterisk/ami-events.js'
import type { AriClient, PbxBridge, PbxChannel, PbxEndpoint } from '../../src/asterisk/ari-client.js'
import type { AsteriskPbx } from '../../src/asterisk/pbx.js'
import type { FakeAmiServer } from '../helpers/fake-ami-server.js'
import { pbxOnFakeAmi } from '../helpers/pbx-on-fake-ami.js'

const AGENT = 'PJSIP/101-0000002a'

/** The slice of AriClient that AsteriskPbx uses, serving fixed data. */
function fakeAri (data: { channels?: PbxChannel[], bridges?: PbxBridge[], endpoints?: PbxEndpoint[] } = {}): AriClient {
  return Object.assign(new EventEmitter(), {
    ready: true,
    listChannels: async () => data.channels ?? [],
    listBridges: async () => data.bridges ?? [],
    listEndpoints: async () => data.endpoints ?? []
  }) as unknown as AriClient
}

async function setup (t: Test, ari: AriClient = fakeAri()): Promise<{ server: FakeAmiServer, pbx: AsteriskPbx }> {
  return await pbxOnFakeAmi(t, ari)
}

/** The headers of the last action received, Action and ActionID left out. */
function lastActionHeaders (server: FakeAmiServer): Record<string, string> {
  const action = server.actions.at(-1)
  return Object.fromEntries((action?.headers ?? []).filter(([key]) => key.toLowerCase() !== 'actionid'))
}

t.test('redirect sends AMI Redirect for the channel to exten@context, priority 1', async (t) => {
  const { server, pbx } = await setup(t)
  await pbx.redirect(AGENT, '103', 'from-internal')
  t.same(lastActionHeaders(server), { Action: 'Redirect', Channel: AGENT, Exten: '103', Context: 'from-internal', Priority: '1' })
})

t.test('attendedTransfer sends AMI Atxfer for the channel to exten@context', async (t) => {
  const { server, pbx } = await setup(t)
  await pbx.attendedTransfer(AGENT, '103', 'from-internal')
  t.same(lastActionHeaders(server), { Action: 'Atxfer', Channel: AGENT, Exten: '103', Context: 'from-internal' })
})

t.test('a redirect of a vanished channel fails with XFER_CHANNEL_GONE', async (t) => {
  const { server, pbx } = await setup(t)
  server.script('Redirect', { Response: 'Error', Message: 'Channel specified does not exist' })
  await t.rejects(pbx.redirect(AGENT, '103', 'from-internal'), { code: 'XFER_CHANNEL_GONE' })
})

t.test('extensionExists asks DIALPLAN_EXISTS through Getvar and reads its value', async (t) => {
  const { server, pbx } = await setup(t)
  const existing = new Set(['DIALPLAN_EXISTS(from-internal,103,1)'])
  server.script('Getvar', (action) => ({ Response: 'Success', Value: existing.has(action.get('Variable') ?? '') ? '1' : '0' }))
  t.equal(await pbx.extensionExists('from-internal', '103'), true)
  t.equal(lastActionHeaders(server).Variable, 'DIALPLAN_EXISTS(from-internal,103,1)')
  t.equal(await pbx.extensionExists('from-internal', '999'), false)
  t.equal(await pbx.extensionExists('other-context', '103'), false)
})

t.test('extensionExists is false when Getvar answers an empty value', async (t) => {
  const { server, pbx } = await setup(t)
  server.script('Getvar', { Response: 'Success', Value: '' })
  t.equal(await pbx.extensionExists('from-internal', '103'), false)
})

t.test('AMI events the plugin uses are forwarded as typed events; others are not', async (t) => {
  const { server, pbx } = await setup(t)
  const received: PbxEvent[] = []
  pbx.events.on('event', (event) => received.push(event))
  server.send({ Event: 'VarSet', Channel: AGENT, Variable: 'X', Value: '1' })
  server.send({ Event: 'Hold', Channel: AGENT, Uniqueid: '1712000000.42', Linkedid: '1712000000.40' })
  await once(pbx.events, 'event')
  t.same(received, [{ type: 'hold', channel: AGENT, uniqueId: '1712000000.42', linkedId: '1712000000.40' }])
})

t.test('AMI connection changes are announced with the state of both sides', async (t) => {
  const { server, pbx } = await setup(t)
  t.same(pbx.connectionState(), { ami: true, ari: true })
  const lost = once(pbx.events, 'connection')
  server.drop()
  t.same(await lost, [{ ami: false, ari: true }])
  t.same(await once(pbx.events, 'connection'), [{ ami: true, ari: true }])
})

t.test('snapshot and endpoints come from ARI', async (t) => {
  const channel: PbxChannel = { id: 'a1', name: AGENT, state: 'Up', callerNumber: '101', connectedNumber: '', dialplan: { context: 'from-internal', exten: '103' }, createdAt: '' }
  const bridge: PbxBridge = { id: 'b1', technology: 'simple_bridge', bridgeType: 'mixing', channelIds: ['a1'] }
  const endpoint: PbxEndpoint = { technology: 'PJSIP', resource: '101', state: 'online', channelIds: ['a1'] }
  const { pbx } = await setup(t, fakeAri({ channels: [channel], bridges: [bridge], endpoints: [endpoint] }))
  t.same(await pbx.snapshot(), { channels: [channel], bridges: [bridge] })
  t.same(await pbx.endpoints(), [endpoint])
})

t.test('pressDigits sends one PlayDTMF with Receive: true per digit, in order', async (t) => {
  const { server, pbx } = await setup(t)
  await pbx.pressDigits(AGENT, '*4')
  const played = server.actions.filter((action) => action.get('Action') === 'PlayDTMF')
    .map((action) => Object.fromEntries(action.headers.filter(([key]) => key.toLowerCase() !== 'actionid')))
  t.same(played, [
    { Action: 'PlayDTMF', Channel: AGENT, Digit: '*', Duration: '120', Receive: 'true' },
    { Action: 'PlayDTMF', Channel: AGENT, Digit: '4', Duration: '120', Receive: 'true' }
  ])
})

t.test('pressDigits stops at the first digit Asterisk refuses (the channel is gone)', async (t) => {
  const { server, pbx } = await setup(t)
  server.script('PlayDTMF', { Response: 'Error', Message: 'Channel not found' })
  await t.rejects(pbx.pressDigits(AGENT, '*3'), { code: 'XFER_CHANNEL_GONE' })
  t.equal(server.actions.filter((action) => action.get('Action') === 'PlayDTMF').length, 1)
})

const RECALL_LINES = [
  { context: 'fastify-transfer-recall', exten: 'transfer', priority: 1, application: 'Dial', data: 'Local/${FASTIFY_XFER_TARGET}@from-internal,20' },
  { context: 'fastify-transfer-recall', exten: 'end', priority: 1, application: 'Hangup', data: '' }
]

t.test('redirectAfterSetup writes the variables, the dialplan and the Redirect at once, in that order: one round trip', async (t) => {
  const { server, pbx } = await setup(t)
  // Nothing answered until the Redirect has arrived: no action waited for the one before it.
  server.script('Setvar', 'hold')
  server.script('DialplanExtensionAdd', 'hold')
  const from = server.actions.length
  const sent = pbx.redirectAfterSetup(AGENT, 'transfer', 'fastify-transfer-recall', { variables: { FASTIFY_XFER_TARGET: '102', FASTIFY_XFER_AGENT: '101' }, dialplan: RECALL_LINES })
  await server.nextAction('Redirect', from)
  const received = server.actions.slice(from).map((action) => Object.fromEntries(action.headers.filter(([key]) => key.toLowerCase() !== 'actionid')))
  t.same(received, [
    { Action: 'Setvar', Channel: AGENT, Variable: 'FASTIFY_XFER_TARGET', Value: '102' },
    { Action: 'Setvar', Channel: AGENT, Variable: 'FASTIFY_XFER_AGENT', Value: '101' },
    { Action: 'DialplanExtensionAdd', Context: 'fastify-transfer-recall', Extension: 'transfer', Priority: '1', Application: 'Dial', ApplicationData: 'Local/${FASTIFY_XFER_TARGET}@from-internal,20', Replace: 'yes' },
    { Action: 'DialplanExtensionAdd', Context: 'fastify-transfer-recall', Extension: 'end', Priority: '1', Application: 'Hangup', ApplicationData: '', Replace: 'yes' },
    { Action: 'Redirect', Channel: AGENT, Exten: 'transfer', Context: 'fastify-transfer-recall', Priority: '1' }
  ])
  for (const action of [...server.held]) server.answer(action, { Response: 'Success' })
  t.same(await sent, {}, 'every step taken')
})

t.test('redirectAfterSetup: a refused dialplan line with the Redirect done is returned; the Redirect refused rejects', async (t) => {
  const { server, pbx } = await setup(t)
  server.script('DialplanExtensionAdd', { Response: 'Error', Message: 'Permission denied' })
  const { setupRefused } = await pbx.redirectAfterSetup(AGENT, 'transfer', 'fastify-transfer-recall', { variables: {}, dialplan: RECALL_LINES })
  t.match(setupRefused?.message, /Permission denied/)
  server.script('Redirect', { Response: 'Error', Message: 'Channel not found' })
  await t.rejects(pbx.redirectAfterSetup(AGENT, 'transfer', 'fastify-transfer-recall', { variables: {}, dialplan: RECALL_LINES }), { code: 'XFER_CHANNEL_GONE' })
})

t.test('redirectAfterSetup sends nothing at all when one step carries a line break', async (t) => {
  const { server, pbx } = await setup(t)
  const from = server.actions.length
  await t.rejects(pbx.redirectAfterSetup(AGENT, 'transfer', 'fastify-transfer-recall', { variables: { FASTIFY_XFER_TARGET: '102\r\nAction: Hangup' }, dialplan: RECALL_LINES }))
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.same(server.actions.slice(from).map((action) => action.name), [], 'not even the steps before it')
})
