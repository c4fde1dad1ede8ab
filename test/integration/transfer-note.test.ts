// The target's screen pop on the real Asterisk 22 test bed: the note the agent writes and the customer's
// caller id reach the target's feed with call:transfer_initiated, while the target's phone rings, and
// the note never reaches Asterisk.
import t from 'tap'
import { bridgePeersOf, callAgent, hangupAllCalls, setAgentAnswerDelay } from '../helpers/asterisk/calls.js'
import { connectFeed } from '../helpers/feed-client.js'
import { startTransferHost } from '../helpers/transfer-host.js'
import type { Transfer } from '../../src/index.js'

const host = await startTransferHost()
t.teardown(host.close)
await hangupAllCalls()
t.afterEach(async () => {
  await setAgentAnswerDelay(0)
  await hangupAllCalls()
})

const NOTE = 'Billing dispute, identity checked — VIP «gold»'

for (const transferType of ['blind', 'attended'] as const) {
  t.test(`${transferType}: the target's feed has the note and the caller at call:transfer_initiated, before it answers`, async (t) => {
    const target = await connectFeed(host.baseUrl, 'token-102')
    t.teardown(target.close)
    const call = await callAgent('101')
    await setAgentAnswerDelay(5)
    const response = await host.as('101', { method: 'POST', url: '/api/transfers/execute', payload: { targetExtension: '102', transferType, note: NOTE } })
    t.equal(response.statusCode, 200, response.body)
    const { id } = response.json<Transfer>()

    const initiated = await target.waitFor('call:transfer_initiated', (event) => event.type === 'call:transfer_initiated' && (event.data as Transfer).id === id)
    t.match(initiated.data, { note: NOTE, caller: { number: '+15550000001' }, extension: '101', targetExtension: '102' })
    t.notOk((await bridgePeersOf(call.customerChannel.id)).some((name) => name.startsWith('PJSIP/102-')), 'the target has not answered yet')
    t.notOk(host.proxy.written().includes('Billing'), 'the note is in no AMI action')
  })
}

t.test('a note with a control character is refused (400 XFER_INVALID_INPUT) and no transfer starts', async (t) => {
  await callAgent('101')
  const before = host.proxy.actions().length
  const response = await host.as('101', { method: 'POST', url: '/api/transfers/execute', payload: { targetExtension: '102', transferType: 'blind', note: 'VIP\r\nAction: Hangup' } })
  t.equal(response.statusCode, 400)
  t.equal(response.json().code, 'XFER_INVALID_INPUT')
  t.same(host.proxy.actions().slice(before).filter((action) => /^(redirect|atxfer|setvar)$/i.test(action)), [], 'no transfer action sent to AMI')
})
