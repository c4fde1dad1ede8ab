import t from 'tap'
import { AgentDirectory } from '../../src/agents/agent-directory.js'
import { silentLogger } from '../../src/support/logger.js'
import { TransferPolicy, type BusyTargets } from '../../src/transfers/transfer-policy.js'
import { FakePbx } from '../helpers/fake-pbx.js'

const policy = (state: string, busyTargets?: BusyTargets): TransferPolicy => new TransferPolicy(
  new AgentDirectory([{ extension: '101' }, { extension: '102' }], new FakePbx(), 'PJSIP'),
  { destinations: {}, transferContext: 'from-internal', allowFreeDialing: false },
  undefined,
  silentLogger,
  (extension) => extension === '102' ? { state } : undefined,
  busyTargets
)
const request = { extension: '101', targetExtension: '102', transferType: 'blind' as const }

t.test('an agent on a call is refused by default: 409 XFER_TARGET_BUSY saying why', async (t) => {
  for (const state of ['on_call', 'ringing', 'on_hold', 'in_consultation']) {
    await t.rejects(policy(state).admit(request), { code: 'XFER_TARGET_BUSY', statusCode: 409, message: new RegExp(`102 is busy: ${state.replace('_', ' ')}`) }, state)
  }
})

t.test('with busyTargets allow, the PBX decides (call waiting, or a busy dial and recall)', async (t) => {
  t.match(await policy('on_call', 'allow').admit(request), { exten: '102', kind: 'agent' })
})

t.test('available and paused agents are not busy; offline stays XFER_TARGET_UNAVAILABLE', async (t) => {
  t.match(await policy('available').admit(request), { exten: '102' })
  t.match(await policy('paused').admit(request), { exten: '102' })
  await t.rejects(policy('offline', 'allow').admit(request), { code: 'XFER_TARGET_UNAVAILABLE' })
})
