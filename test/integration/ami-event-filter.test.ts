// The plugin asks Asterisk to send its AMI session only the events it reads (AMI Filter): on the real
// Asterisk 22, a transfer's VarSet events (half of what a call emits) never reach its socket, while
// every event it reads, and every list action's items, still do. Without `write = system` the filter
// is refused and everything works as before, the unread events dropped in the client.
import t from 'tap'
import { AmiClient } from '../../src/asterisk/ami-client.js'
import { PBX_EVENT_NAMES } from '../../src/asterisk/ami-events.js'
import { callAgent, hangupAllCalls } from '../helpers/asterisk/calls.js'
import { pbx } from '../helpers/asterisk/testbed.js'
import { connectFeed } from '../helpers/feed-client.js'
import { startTransferHost } from '../helpers/transfer-host.js'
import type { FeedEnvelope, Transfer } from '../../src/index.js'

await hangupAllCalls()
t.afterEach(async () => { await hangupAllCalls() })

/** Each `Event:` name in AMI text, counted. */
function eventNames (text: string): Map<string, number> {
  const names = new Map<string, number>()
  for (const match of text.matchAll(/^Event: (\w+)\r?$/gm)) names.set(match[1] as string, (names.get(match[1] as string) ?? 0) + 1)
  return names
}

t.test('a blind transfer on a filtered session: no VarSet crosses the socket, the events read and the list items do', async (t) => {
  const host = await startTransferHost()
  t.teardown(host.close)
  const agent = await connectFeed(host.baseUrl, 'token-101')
  t.teardown(agent.close)
  const from = host.proxy.read().length
  await callAgent('101')
  const response = await host.as('101', { method: 'POST', url: '/api/transfers/execute', payload: { targetExtension: '102', transferType: 'blind' } })
  t.equal(response.statusCode, 200, response.body)
  const transfer = response.json<Transfer>()
  await agent.waitFor('answered', (event: FeedEnvelope) => (event.data as Transfer).id === transfer.id && (event.data as Transfer).status === 'answered')
  const names = eventNames(host.proxy.read().slice(from))
  t.notOk(names.has('VarSet'), `no VarSet: ${JSON.stringify([...names])}`)
  for (const name of ['Newchannel', 'DialBegin', 'DialEnd', 'BridgeEnter', 'Hangup']) t.ok(names.has(name), `${name} still comes`)
  for (const name of names.keys()) t.ok(PBX_EVENT_NAMES.has(name.toLowerCase()), `${name} is one the plugin reads`)
  // DeviceStateList and QueueStatus answer with items written as events: not filtered.
  const agents = await host.as('super', { method: 'GET', url: '/api/transfers/available-agents?all=true' })
  t.ok(agents.json().agents.some((entry: { extension: string, state: string }) => entry.extension === '102' && entry.state === 'on_call'), 'agent states from the list actions')
})

t.test('an AMI user without write = system: the filter is refused, said once, and the events it reads still come', async (t) => {
  const logged: string[] = []
  const logger = { debug: () => {}, info: (_: object, message?: string) => { logged.push(message ?? '') }, warn: () => {}, error: () => {} }
  const client = new AmiClient({
    ...pbx.ami,
    username: 'nosystem',
    password: 'nosystem-secret',
    actionTimeoutMs: 2000,
    reconnect: { initialDelayMs: 100, maxDelayMs: 1000 },
    pingIntervalMs: 0,
    events: new Set(['newchannel', 'hangup']),
    logger
  })
  const seen: string[] = []
  client.on('event', (message) => { seen.push(String(message.event)) })
  await client.start()
  t.teardown(async () => { await client.close() })
  await callAgent('101')
  await hangupAllCalls()
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.ok(seen.includes('Newchannel') && seen.includes('Hangup'), `the events read: ${seen.join(', ')}`)
  t.same(new Set(seen), new Set(['Newchannel', 'Hangup']), 'the others dropped in the client')
  t.equal(logged.filter((message) => /not filtered at Asterisk/.test(message)).length, 1, 'said once')
})
