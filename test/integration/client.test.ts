// The softphone client on the real Asterisk 22 test bed: agent 101's client (Node, `ws` injected)
// transfers a customer call blind and attended through the host app, hears it on the feed, and gets
// the server's error codes as TransferClientError.
import t, { type Test } from 'tap'
import WebSocket from 'ws'
import {
  createTransferClient,
  type FeedStatus,
  type Transfer,
  type TransferClient
} from '../../src/client/index.js'
import { bridgePeersOf, callAgent, hangupAllCalls, waitFor, type CustomerCall } from '../helpers/asterisk/calls.js'
import { startTransferHost } from '../helpers/transfer-host.js'
import { rejection } from '../client/fixtures/rejection.js'

const host = await startTransferHost()
t.teardown(host.close)
await hangupAllCalls()
t.afterEach(async () => {
  await hangupAllCalls()
  // AMI's Hangup events can reach the plugin a moment after ARI stopped listing the channels: the next
  // test starts once the plugin, too, knows the calls are over.
  await waitFor(async () => ((await host.as('super', { method: 'GET', url: '/api/calls' })).json().calls as unknown[]).length === 0, 5000, 'the plugin sees no call')
})

/**
 * `ws`, also sending the `?token=` of the feed's URL as the bearer header: browsers can only put the
 * token in the URL, and the test host authenticates with the header alone.
 */
class BearerWebSocket extends WebSocket {
  constructor (url: string) {
    super(url, { headers: { authorization: `Bearer ${new URL(url).searchParams.get('token') ?? ''}` } })
  }
}

function clientOf (t: Test, extension: string): TransferClient {
  const client = createTransferClient({ baseUrl: host.baseUrl, token: `token-${extension}`, WebSocket: BearerWebSocket })
  t.teardown(client.close)
  return client
}

/** Resolves once the client's feed is open: events from then on reach its handlers. */
async function feedOpen (client: TransferClient): Promise<void> {
  await new Promise<void>((resolve) => {
    const stop = client.onFeedStatus((status: FeedStatus) => {
      if (status !== 'open') return
      stop()
      resolve()
    })
  })
}

/** The transfer events of one type the client receives, kept for the test to wait on. */
type ReceivedType = 'call:ami_transfer_complete' | 'call:transfer_updated'

function received (client: TransferClient, type: ReceivedType): Transfer[] {
  const transfers: Transfer[] = []
  client.on(type, (transfer) => { transfers.push(transfer) })
  return transfers
}

/** Agent 101's client hearing `type` on its open feed, and a customer call bridged with 101. */
async function agent101OnACall (t: Test, type: ReceivedType): Promise<{ client: TransferClient, events: Transfer[], call: CustomerCall }> {
  const client = clientOf(t, '101')
  const open = feedOpen(client)
  const events = received(client, type)
  await open
  return { client, events, call: await callAgent('101') }
}

const isLegOf = (extension: string) => (name: string): boolean => name.startsWith(`PJSIP/${extension}-`)

t.test('blind: transferCall lands the customer with 102 and the feed says call:ami_transfer_complete', async (t) => {
  const { client, events: completes, call } = await agent101OnACall(t, 'call:ami_transfer_complete')

  const transfer = await client.transferCall('102', 'blind')
  t.match(transfer, { type: 'blind', status: 'redirected', origin: 'plugin', extension: '101', targetExtension: '102' })
  const heard = await waitFor(() => completes.find((event) => event.id === transfer.id), 10_000, 'call:ami_transfer_complete on the feed')
  t.equal(heard.status, 'redirected')
  t.ok(await waitFor(async () => (await bridgePeersOf(call.customerChannel.id)).some(isLegOf('102')), 10_000, 'the customer bridged with 102'),
    'the customer talks to 102')
})

t.test('attended: attendedTransfer(103), then cancel() puts the customer back with 101', async (t) => {
  const { client, events: updates, call } = await agent101OnACall(t, 'call:transfer_updated')

  const attended = await client.attendedTransfer('103')
  t.match(attended.transfer, { type: 'attended', status: 'consulting', targetExtension: '103' })
  await waitFor(() => updates.some((event) => event.id === attended.transfer.id && event.status === 'target_answered'), 10_000, '103 answering the consultation')
  t.equal((await attended.refresh()).status, 'target_answered')

  const cancelled = await attended.cancel()
  t.equal(cancelled.status, 'cancelled')
  t.equal(attended.transfer.status, 'cancelled')
  const peers = await waitFor(async () => {
    const names = await bridgePeersOf(call.customerChannel.id)
    return names.includes(call.agentChannel.name) && names
  }, 5000, 'the customer back with 101')
  t.same(peers, [call.agentChannel.name], 'only 101: the consultation leg is gone')

  const late = await rejection(attended.complete())
  t.match(late, { code: 'XFER_TRANSFER_STATE', statusCode: 409, message: /cancelled/ })
})

t.test('errors carry the server\'s code and status', async (t) => {
  const client = clientOf(t, '101')
  const noCall = await rejection(client.transferCall('102', 'blind'))
  t.match(noCall, { name: 'TransferClientError', code: 'XFER_NO_ACTIVE_CHANNEL', statusCode: 404, message: /101/ })

  await callAgent('101')
  t.match(await rejection(client.transferCall('999', 'blind')), { code: 'XFER_UNKNOWN_TARGET', statusCode: 422 })
  t.match(await rejection(client.getTransfer('00000000-0000-4000-8000-000000000000')), { code: 'XFER_TRANSFER_NOT_FOUND', statusCode: 404 })

  const stranger = createTransferClient({ baseUrl: host.baseUrl, token: 'not-a-token' })
  t.match(await rejection(stranger.getTransfers()), { code: 'XFER_UNAUTHENTICATED', statusCode: 401 })
})
