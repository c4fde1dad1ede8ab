import { once } from 'node:events'
import net from 'node:net'
import t, { type Test } from 'tap'
import { AmiClient, eventNameFilter, type AmiClientOptions, type AmiMessage } from '../../src/asterisk/ami-client.js'
import { FakeAmiServer, listAnswer, type FakeAmiServerOptions } from '../helpers/fake-ami-server.js'

const AGENT = 'PJSIP/101-0000002a'
const REDIRECT = { Action: 'Redirect', Channel: AGENT, Exten: '103', Context: 'from-internal', Priority: 1 } as const

interface Setup {
  server: FakeAmiServer
  client: AmiClient
}

function newClient (port: number, options: Partial<AmiClientOptions> = {}): AmiClient {
  return new AmiClient({
    host: '127.0.0.1',
    port,
    username: 'admin',
    password: 'secret',
    actionTimeoutMs: 150,
    reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
    pingIntervalMs: 0,
    ...options
  })
}

/** A fake server and a client for it (not started); both are closed when the test ends. */
async function setup (t: Test, options: Partial<AmiClientOptions> = {}, serverOptions: FakeAmiServerOptions = {}): Promise<Setup> {
  const server = await FakeAmiServer.start(serverOptions)
  const client = newClient(server.port, options)
  t.teardown(async () => {
    await client.close()
    await server.close()
  })
  return { server, client }
}

/** Like setup, with the client started (logged in). */
async function connected (t: Test, options: Partial<AmiClientOptions> = {}): Promise<Setup> {
  const result = await setup(t, options)
  await result.client.start()
  return result
}

interface Outcome<T> {
  value?: T
  error?: Error & { code?: string, statusCode?: number }
  /** Date.now() when the promise settled. */
  at: number
}

/** Waits for a promise to settle and tells how and when, without throwing. */
async function outcome<T> (promise: Promise<T>): Promise<Outcome<T>> {
  try {
    const value = await promise
    return { value, at: Date.now() }
  } catch (error) {
    return { error: error as Outcome<T>['error'], at: Date.now() }
  }
}

/** Resolves with the arguments of the next `event` emitted, or rejects after `ms`. */
async function next (emitter: AmiClient, event: 'connected' | 'disconnected' | 'event', ms = 2000): Promise<unknown[]> {
  return await once(emitter, event, { signal: AbortSignal.timeout(ms) })
}

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `condition` until it holds or `ms` passed; returns whether it held. */
async function eventually (condition: () => boolean, ms = 1000): Promise<boolean> {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) return false
    await sleep(5)
  }
  return true
}

async function unusedPort (): Promise<number> {
  const probe = net.createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as net.AddressInfo
  await new Promise((resolve) => probe.close(resolve))
  return port
}

t.test('connecting', async (t) => {
  t.test('start() resolves after the login and the client is ready', async (t) => {
    const { server, client } = await setup(t)
    t.equal(client.ready, false, 'not ready before start')
    const connectedEvent = next(client, 'connected')
    await client.start()
    t.equal(client.ready, true)
    await connectedEvent
    const [login] = server.actions
    t.equal(server.actions.length, 1)
    t.equal(login?.name, 'login')
    t.equal(login?.get('Username'), 'admin')
    t.equal(login?.get('Secret'), 'secret')
  })

  t.test('wrong password: start() rejects with XFER_AMI_LOGIN_FAILED', async (t) => {
    const { client } = await setup(t, { password: 'wrong' })
    let connectedEmitted = false
    client.on('connected', () => { connectedEmitted = true })
    await t.rejects(client.start(), { code: 'XFER_AMI_LOGIN_FAILED', message: /Authentication failed/ })
    t.equal(client.ready, false)
    t.equal(connectedEmitted, false)
  })

  t.test('nothing listening: start() rejects with XFER_ASTERISK_UNAVAILABLE', async (t) => {
    const port = await unusedPort()
    const client = newClient(port)
    t.teardown(async () => await client.close())
    await t.rejects(client.start(), { code: 'XFER_ASTERISK_UNAVAILABLE', statusCode: 503, message: new RegExp(`127\\.0\\.0\\.1:${port}`) })
    t.equal(client.ready, false)
  })

  t.test('Login never answered: start() rejects with XFER_ASTERISK_TIMEOUT', async (t) => {
    const { server, client } = await setup(t)
    server.script('Login', 'hold')
    const started = Date.now()
    await t.rejects(client.start(), { code: 'XFER_ASTERISK_TIMEOUT' })
    t.ok(Date.now() - started >= 140, 'after actionTimeoutMs')
    t.equal(client.ready, false)
  })
})

t.test('actions', async (t) => {
  t.test('resolves with the response, keys lowercased', async (t) => {
    const { server, client } = await connected(t)
    server.script('Getvar', { Response: 'Success', Variable: 'DIALPLAN_EXISTS(from-internal,103,1)', Value: '1' })
    const response = await client.action({ Action: 'Getvar', Variable: 'DIALPLAN_EXISTS(from-internal,103,1)' })
    t.match(response, { response: 'Success', value: '1' })
    const sent = server.actionsAfterLogin()
    t.equal(sent.length, 1)
    t.equal(sent[0]?.get('Variable'), 'DIALPLAN_EXISTS(from-internal,103,1)')
    t.equal(response.actionid, sent[0]?.actionId, 'the response is the one to this action')
  })

  t.test('every action gets its own ActionID, and answers are matched by it', async (t) => {
    const { server, client } = await connected(t)
    server.script('Getvar', 'hold')
    const first = client.action({ Action: 'Getvar', Variable: 'A' })
    const second = client.action({ Action: 'Getvar', Variable: 'B' })
    t.ok(await eventually(() => server.held.length === 2))
    const [heldA, heldB] = server.held
    t.not(heldA?.actionId, heldB?.actionId)
    if (heldA === undefined || heldB === undefined) return
    server.answer(heldB, { Response: 'Success', Value: 'b' })
    server.answer(heldA, { Response: 'Success', Value: 'a' })
    t.equal((await first).value, 'a')
    t.equal((await second).value, 'b')
  })

  t.test('ActionIDs differ between clients of one process: instances in containers share pids', async (t) => {
    const { server, client } = await connected(t)
    const other = newClient(server.port)
    t.teardown(async () => await other.close())
    await other.start()
    server.script('Getvar', { Response: 'Success', Value: '1' })
    await client.action({ Action: 'Getvar', Variable: 'A' })
    await other.action({ Action: 'Getvar', Variable: 'A' })
    const ids = server.actionsAfterLogin().map((action) => action.actionId)
    t.equal(ids.length, 2)
    const prefixOf = (id: string | undefined): string => (id ?? '').replace(/\d+$/, '')
    t.not(prefixOf(ids[0]), prefixOf(ids[1]), 'each client numbers its actions under its own random prefix')
    t.notMatch(ids[0] ?? '', `fat${process.pid}-`, 'not the pid, which repeats from one container to the next')
  })

  t.test('an Error response rejects with XFER_ASTERISK_REFUSED and Asterisk\'s message', async (t) => {
    const { server, client } = await connected(t)
    server.script('Originate', { Response: 'Error', Message: 'Extension does not exist.' })
    await t.rejects(client.action({ Action: 'Originate', Channel: 'PJSIP/101', Exten: '999', Context: 'from-internal', Priority: 1 }), {
      code: 'XFER_ASTERISK_REFUSED',
      statusCode: 502,
      message: /Originate.*Extension does not exist/
    })
  })

  t.test('"Channel does not exist" for an action naming a Channel rejects with XFER_CHANNEL_GONE', async (t) => {
    const { server, client } = await connected(t)
    for (const message of ['Channel does not exist', 'Channel specified does not exist', 'No such channel']) {
      server.script('Redirect', { Response: 'Error', Message: message })
      await t.rejects(client.action(REDIRECT), { code: 'XFER_CHANNEL_GONE', statusCode: 409, message: /PJSIP\/101-0000002a/ }, message)
    }
  })

  t.test('"Channel does not exist" without a Channel field stays XFER_ASTERISK_REFUSED', async (t) => {
    const { server, client } = await connected(t)
    server.script('Getvar', { Response: 'Error', Message: 'Channel does not exist' })
    await t.rejects(client.action({ Action: 'Getvar', Variable: 'X' }), { code: 'XFER_ASTERISK_REFUSED' })
  })

  t.test('an unanswered action rejects with XFER_ASTERISK_TIMEOUT after actionTimeoutMs; the client stays usable', async (t) => {
    const { server, client } = await connected(t)
    server.script('Redirect', 'hold')
    const sentAt = Date.now()
    const result = await outcome(client.action(REDIRECT))
    t.match(result.error, { code: 'XFER_ASTERISK_TIMEOUT', statusCode: 504, message: /Redirect.*150 ms/ })
    const elapsed = result.at - sentAt
    t.ok(elapsed >= 140 && elapsed < 1000, `rejected after ${elapsed} ms`)

    const [late] = server.held
    if (late !== undefined) server.answer(late, { Response: 'Success', Message: 'Redirect successful' })
    await sleep(20)
    t.equal(client.ready, true)
    t.match(await client.action({ Action: 'Ping' }), { response: 'Success', ping: 'Pong' })
  })

  t.test('an action while disconnected is refused at once and never sent, not even after reconnecting', async (t) => {
    const { server, client } = await connected(t)
    let whileDown: Promise<Outcome<AmiMessage>> | undefined
    let refusedAt = 0
    client.once('disconnected', () => {
      refusedAt = Date.now()
      whileDown = outcome(client.action({ Action: 'Hangup', Channel: AGENT }))
    })
    const reconnected = next(client, 'connected')
    server.drop()
    await reconnected
    const result = await whileDown
    t.match(result?.error, { code: 'XFER_ASTERISK_UNAVAILABLE', message: /Hangup not sent/ })
    t.ok(result !== undefined && result.at - refusedAt < 50, 'refused at once')
    await client.action({ Action: 'Ping' })
    t.same(server.actions.map((action) => action.name), ['login', 'login', 'ping'], 'the Hangup never reached the server')
  })

  t.test('an action before start() is refused at once', async (t) => {
    const { server, client } = await setup(t)
    await t.rejects(client.action({ Action: 'Ping' }), { code: 'XFER_ASTERISK_UNAVAILABLE' })
    t.equal(server.connectionCount, 0)
  })

  t.test('a value with CRLF is refused with XFER_UNSAFE_AMI_VALUE and nothing is written', async (t) => {
    const { server, client } = await connected(t)
    await t.rejects(client.action({ ...REDIRECT, Exten: '102\r\nAction: Hangup' }), { code: 'XFER_UNSAFE_AMI_VALUE', statusCode: 400 })
    await t.rejects(client.action({ Action: 'Hangup', Channel: '/PJSIP/.*/' }), { code: 'XFER_UNSAFE_AMI_VALUE' })
    await t.rejects(client.list({ Action: 'CoreShowChannels', Filter: 'x\ny' }), { code: 'XFER_UNSAFE_AMI_VALUE' })
    // TCP keeps order: had anything been written before this Ping, the server would have it first.
    await client.action({ Action: 'Ping' })
    t.same(server.actionsAfterLogin().map((action) => action.name), ['ping'])
    t.notOk(server.actions.some((action) => /hangup|redirect|coreshowchannels/i.test(action.raw)), 'no trace of the refused actions')
  })
})

t.test('lists', async (t) => {
  const item = (channel: string): Record<string, string> => ({ Event: 'CoreShowChannel', Channel: channel, ChannelStateDesc: 'Up', Uniqueid: `u-${channel}` })

  t.test('list() resolves with exactly the items, which are not re-emitted as events', async (t) => {
    const { server, client } = await connected(t)
    server.script('CoreShowChannels', listAnswer([item(AGENT), item('PJSIP/trunk-00000029')], 'CoreShowChannelsComplete'))
    const emitted: AmiMessage[] = []
    client.on('event', (message) => emitted.push(message))
    const items = await client.list({ Action: 'CoreShowChannels' })
    t.equal(items.length, 2)
    t.match(items, [
      { event: 'CoreShowChannel', channel: AGENT, channelstatedesc: 'Up' },
      { event: 'CoreShowChannel', channel: 'PJSIP/trunk-00000029' }
    ])
    await sleep(20)
    t.same(emitted, [], 'neither the items nor the Complete event are emitted')
  })

  t.test('an unrelated event arriving in the middle of a list is emitted, not collected', async (t) => {
    const { server, client } = await connected(t)
    server.script('CoreShowChannels', 'hold')
    const emitted: AmiMessage[] = []
    client.on('event', (message) => emitted.push(message))
    const listed = client.list({ Action: 'CoreShowChannels' })
    const action = await server.nextAction('CoreShowChannels')
    const [start, first, second, complete] = listAnswer([item(AGENT), item('PJSIP/trunk-00000029')], 'CoreShowChannelsComplete')
    server.answer(action, [start ?? {}, first ?? {}])
    server.send({ Event: 'Hold', Channel: 'PJSIP/102-00000030' })
    server.answer(action, [second ?? {}, complete ?? {}])
    const items = await listed
    t.same(items.map((message) => message.channel), [AGENT, 'PJSIP/trunk-00000029'])
    t.same(emitted.map((message) => [message.event, message.channel]), [['Hold', 'PJSIP/102-00000030']])
  })

  t.test('an empty list resolves with no items', async (t) => {
    const { server, client } = await connected(t)
    server.script('CoreShowChannels', listAnswer([], 'CoreShowChannelsComplete'))
    t.same(await client.list({ Action: 'CoreShowChannels' }), [])
  })

  t.test('a refused list action rejects', async (t) => {
    const { server, client } = await connected(t)
    server.script('QueueStatus', { Response: 'Error', Message: 'Permission denied' })
    await t.rejects(client.list({ Action: 'QueueStatus' }), { code: 'XFER_ASTERISK_REFUSED', message: /Permission denied/ })
  })

  t.test('a list that never completes times out', async (t) => {
    const { server, client } = await connected(t)
    const [start, first] = listAnswer([item(AGENT)], 'CoreShowChannelsComplete')
    server.script('CoreShowChannels', [start ?? {}, first ?? {}])
    await t.rejects(client.list({ Action: 'CoreShowChannels' }), { code: 'XFER_ASTERISK_TIMEOUT' })
  })
})

t.test('events option: only the events of those names are emitted, the others are dropped unread', async (t) => {
  const { server, client } = await connected(t, { events: new Set(['hold', 'newstate']) })
  const emitted: AmiMessage[] = []
  client.on('event', (message) => emitted.push(message))
  server.send({ Event: 'VarSet', Channel: AGENT, Variable: 'DIALSTATUS', Value: '' })
  server.send({ Event: 'Hold', Channel: AGENT })
  server.send({ Event: 'Newexten', Channel: AGENT, Application: 'Dial' })
  server.send({ Event: 'NewState', Channel: AGENT, ChannelStateDesc: 'Up' })
  t.ok(await eventually(() => emitted.length >= 2))
  await sleep(20)
  t.same(emitted.map((message) => message.event), ['Hold', 'NewState'], 'names matched case-insensitively')
})

t.test('events option: a list answered with events of other names still gets every item, and events arriving meanwhile are emitted', async (t) => {
  const { server, client } = await connected(t, { events: new Set(['hold']) })
  const item = (device: string): Record<string, string> => ({ Event: 'DeviceStateChange', Device: device, State: 'NOT_INUSE' })
  server.script('DeviceStateList', 'hold')
  const emitted: AmiMessage[] = []
  client.on('event', (message) => emitted.push(message))
  const listed = client.list({ Action: 'DeviceStateList' })
  const action = await server.nextAction('DeviceStateList')
  const [start, first, second, complete] = listAnswer([item('PJSIP/101'), item('PJSIP/102')], 'DeviceStateListComplete')
  server.answer(action, [start ?? {}, first ?? {}])
  server.send({ Event: 'Hold', Channel: AGENT })
  server.answer(action, [second ?? {}, complete ?? {}])
  t.same((await listed).map((message) => message.device), ['PJSIP/101', 'PJSIP/102'])
  // Once the list is complete, events of other names are dropped again.
  server.send({ Event: 'DeviceStateChange', Device: 'PJSIP/103', State: 'INUSE' })
  server.send({ Event: 'Hold', Channel: 'PJSIP/102-00000030' })
  t.ok(await eventually(() => emitted.length >= 2))
  await sleep(20)
  t.same(emitted.map((message) => [message.event, message.channel]), [['Hold', AGENT], ['Hold', 'PJSIP/102-00000030']])
})

t.test('events option: Asterisk is asked, after every login, to send only those events (one AMI Filter each)', async (t) => {
  const { server, client } = await connected(t, { events: new Set(['hold', 'newstate']) })
  const filters = (): string[] => server.actions.filter((action) => action.name === 'filter').map((action) => `${action.get('Operation') ?? ''} ${action.get('Filter') ?? ''}`)
  t.ok(await eventually(() => filters().length === 2))
  t.same(filters(), ['Add ^Event: [Hh][Oo][Ll][Dd][[:space:]]', 'Add ^Event: [Nn][Ee][Ww][Ss][Tt][Aa][Tt][Ee][[:space:]]'])
  server.drop()
  t.ok(await eventually(() => filters().length === 4), 'asked again on the new session')
  t.ok(client.ready)
})

t.test('events option: a refused Filter (no write = system) is said once per login; the client works on', async (t) => {
  const server = await FakeAmiServer.start()
  server.script('Filter', { Response: 'Error', Message: 'Permission denied' })
  const said: string[] = []
  const client = newClient(server.port, { events: new Set(['hold', 'newstate']), logger: { debug: () => {}, info: (_: object, message?: string) => { said.push(message ?? '') }, warn: () => {}, error: () => {} } })
  t.teardown(async () => { await client.close(); await server.close() })
  await client.start()
  t.ok(await eventually(() => said.some((message) => /not filtered at Asterisk/.test(message))))
  await sleep(20)
  t.equal(said.filter((message) => /not filtered at Asterisk/.test(message)).length, 1)
  t.equal((await client.action({ Action: 'Ping' })).response, 'Success')
})

t.test('without the events option nothing is filtered at Asterisk', async (t) => {
  const { server } = await connected(t)
  await sleep(20)
  t.equal(server.actions.filter((action) => action.name === 'filter').length, 0)
})

t.test('eventNameFilter: the name in any case, ending there', async (t) => {
  const filter = new RegExp(eventNameFilter('hangup').replace('[[:space:]]', '\\s'))
  t.ok(filter.test('Event: Hangup\r\nChannel: x'))
  t.ok(filter.test('Event: HANGUP\r\n'))
  t.notOk(filter.test('Event: HangupRequest\r\n'), 'not a longer name')
  t.notOk(filter.test('Event: VarSet\r\nValue: Event: Hangup\r\n'), 'only the event\'s own name, at the start')
})

t.test('unsolicited events are emitted as `event`, keys lowercased', async (t) => {
  const { server, client } = await connected(t)
  const received = next(client, 'event')
  server.send({ Event: 'Newchannel', Channel: 'Local/103@from-internal-00000001;1', ChannelStateDesc: 'Down', Exten: '103', Context: 'from-internal', Uniqueid: '1712000001.50' })
  const [message] = await received
  t.same(message, {
    event: 'Newchannel',
    channel: 'Local/103@from-internal-00000001;1',
    channelstatedesc: 'Down',
    exten: '103',
    context: 'from-internal',
    uniqueid: '1712000001.50'
  })
})

t.test('connection loss', async (t) => {
  t.test('an action in flight is rejected at once, then the client reconnects and works again', async (t) => {
    const { server, client } = await connected(t, { actionTimeoutMs: 2000 })
    server.script('Redirect', 'hold')
    const inFlight = outcome(client.action(REDIRECT))
    await server.nextAction('Redirect')
    const disconnected = next(client, 'disconnected')
    const reconnected = next(client, 'connected')
    const droppedAt = Date.now()
    server.drop()

    const result = await inFlight
    t.match(result.error, { code: 'XFER_ASTERISK_UNAVAILABLE', statusCode: 503 })
    t.ok(result.at - droppedAt < 500, `rejected ${result.at - droppedAt} ms after the drop, timeout is 2000 ms`)
    const [reason] = await disconnected
    t.match(reason, /AMI connection lost/)

    await reconnected
    t.equal(client.ready, true)
    t.equal(server.connectionCount, 2)
    t.equal(server.actions.filter((action) => action.name === 'login').length, 2, 'logged in again')

    server.script('Redirect', { Response: 'Success', Message: 'Redirect successful' })
    t.match(await client.action(REDIRECT), { response: 'Success', message: 'Redirect successful' })
  })

  t.test('ready is false between the drop and the reconnection', async (t) => {
    const { server, client } = await connected(t, { reconnect: { initialDelayMs: 100, maxDelayMs: 100 } })
    const disconnected = next(client, 'disconnected')
    server.drop()
    await disconnected
    t.equal(client.ready, false)
    await next(client, 'connected')
    t.equal(client.ready, true)
  })

  t.test('keeps retrying while Asterisk is down, and connects when it is back', async (t) => {
    const { server, client } = await connected(t)
    server.script('Login', { Response: 'Error', Message: 'Authentication failed' })
    server.drop()
    t.ok(await eventually(() => server.connectionCount >= 3), 'several refused attempts')
    t.equal(client.ready, false)
    server.script('Login', { Response: 'Success', Message: 'Authentication accepted' })
    await next(client, 'connected')
    t.equal(client.ready, true)
  })
})

t.test('keepalive ping', async (t) => {
  t.test('answered pings keep the same connection', async (t) => {
    const { server, client } = await connected(t, { pingIntervalMs: 50 })
    let disconnects = 0
    client.on('disconnected', () => { disconnects++ })
    await sleep(300)
    t.ok(server.actions.filter((action) => action.name === 'ping').length >= 3, 'pings were sent')
    t.equal(server.connectionCount, 1)
    t.equal(disconnects, 0)
    t.equal(client.ready, true)
  })

  t.test('a server that stops answering Ping is treated as dead: the client drops it and reconnects', async (t) => {
    const { server, client } = await connected(t, { pingIntervalMs: 50, actionTimeoutMs: 150 })
    server.script('Ping', 'hold')
    const [reason] = await next(client, 'disconnected')
    t.match(reason, /XFER_ASTERISK_TIMEOUT|did not answer AMI Ping/)
    server.script('Ping', { Response: 'Success', Ping: 'Pong' })
    await next(client, 'connected')
    t.equal(client.ready, true)
    t.ok(server.connectionCount >= 2, 'a new connection was opened')
    t.ok(await eventually(() => server.openConnections === 1), 'the dead connection was closed')
    t.match(await client.action({ Action: 'Ping' }), { ping: 'Pong' })
  })
})

t.test('close()', async (t) => {
  t.test('rejects pending actions, closes the socket and does not reconnect', async (t) => {
    const { server, client } = await connected(t, { actionTimeoutMs: 2000 })
    server.script('Redirect', 'hold')
    const pending = outcome(client.action(REDIRECT))
    await server.nextAction('Redirect')
    const closedAt = Date.now()
    await client.close()
    const result = await pending
    t.match(result.error, { code: 'XFER_ASTERISK_UNAVAILABLE', message: /closed/ })
    t.ok(result.at - closedAt < 500, 'rejected at once')
    t.equal(client.ready, false)
    t.ok(await eventually(() => server.openConnections === 0), 'the socket is closed')
    await sleep(200)
    t.equal(server.connectionCount, 1, 'no new connection')
    await t.rejects(client.action({ Action: 'Ping' }), { code: 'XFER_ASTERISK_UNAVAILABLE' })
  })

  t.test('during the reconnect delay: no new connection', async (t) => {
    const { server, client } = await connected(t, { reconnect: { initialDelayMs: 100, maxDelayMs: 100 } })
    const disconnected = next(client, 'disconnected')
    server.drop()
    await disconnected
    await client.close()
    await sleep(300)
    t.equal(server.connectionCount, 1)
  })

  t.test('after a refused login: the retries stop', async (t) => {
    const { server, client } = await setup(t, { password: 'wrong' })
    await t.rejects(client.start(), { code: 'XFER_AMI_LOGIN_FAILED' })
    await client.close()
    const attempts = server.connectionCount
    await sleep(300)
    t.equal(server.connectionCount, attempts)
  })

  t.test('while the connection is still being opened: start() fails and no socket stays open', async (t) => {
    const { server, client } = await setup(t, { actionTimeoutMs: 2000 })
    const started = outcome(client.start())
    await client.close()
    const result = await started
    t.ok(result.error !== undefined, 'start() rejects')
    await sleep(100)
    t.equal(server.openConnections, 0, 'no connection left open to Asterisk')
    t.equal(client.ready, false)
  })
})
