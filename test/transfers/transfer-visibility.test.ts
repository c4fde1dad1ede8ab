import t from 'tap'
import type { Identity } from '../../src/identity.js'
import type { Transfer } from '../../src/routes/schemas.js'
import { canSeeTransfer, transferAudience } from '../../src/transfers/transfer-visibility.js'

/** Agent 101's call transferred to 103, asked by `requestedBy`. */
function transferAskedBy (requestedBy: string): Transfer {
  return {
    id: 'x1',
    type: 'blind',
    status: 'redirected',
    origin: 'plugin',
    extension: '101',
    targetExtension: '103',
    requestedBy,
    channels: { agent: 'PJSIP/101-0000002a', peer: 'PJSIP/trunk-00000029' },
    createdAt: '',
    updatedAt: ''
  }
}

const agent = (extension: string): Identity => ({ extension, role: 'agent' })

t.test('the audience is the transferring agent, the target and whoever asked, once each', async (t) => {
  t.same(transferAudience(transferAskedBy('200')), ['101', '103', '200'])
  t.same(transferAudience(transferAskedBy('101')), ['101', '103'])
})

t.test('an agent sees the transfers it is part of, in any role', async (t) => {
  const transfer = transferAskedBy('200')
  for (const extension of ['101', '103', '200']) t.ok(canSeeTransfer(agent(extension), transfer), extension)
})

t.test('an agent does not see other agents\' transfers', async (t) => {
  t.notOk(canSeeTransfer(agent('102'), transferAskedBy('101')))
})

t.test('a supervisor sees every transfer', async (t) => {
  t.ok(canSeeTransfer({ extension: '900', role: 'supervisor' }, transferAskedBy('101')))
})
