import t from 'tap'
import { silentLogger } from '../../src/support/logger.js'
import { CONNECTED_LINE_SETTLE_MS, ConnectedLineKeeper, customerReachedTarget } from '../../src/transfers/connected-line.js'
import { FakePbx } from '../helpers/fake-pbx.js'
import { ManualClock } from '../helpers/manual-clock.js'
import { transferRecord } from '../helpers/transfer-records.js'

const TARGET = 'PJSIP/103-0000002c'
const caller = { number: '+15550000001', name: 'Customer 1' }

t.test('the customer reached the target when a blind transfer is answered or an attended one completed', async (t) => {
  t.ok(customerReachedTarget(transferRecord({ type: 'blind', status: 'answered' })))
  t.ok(customerReachedTarget(transferRecord({ type: 'attended', status: 'completed' })))
  for (const status of ['redirected', 'consulting', 'target_answered', 'cancelled', 'failed'] as const) {
    t.notOk(customerReachedTarget(transferRecord({ type: 'attended', status })), status)
    t.notOk(customerReachedTarget(transferRecord({ type: 'blind', status })), status)
  }
})

t.test('a target showing the agent gets the customer\'s name and number; one showing the customer is left alone', async (t) => {
  const pbx = new FakePbx()
  const keeper = new ConnectedLineKeeper(pbx, new ManualClock(), silentLogger)
  await pbx.setVariable(TARGET, 'CONNECTEDLINE(num)', '101')
  t.equal(await keeper.showCustomer(transferRecord({ status: 'completed', caller }, { target: TARGET })), true)
  t.equal(pbx.variables.get(TARGET)?.get('CONNECTEDLINE(name,i)'), 'Customer 1', 'the name first, without its own update')
  t.equal(pbx.variables.get(TARGET)?.get('CONNECTEDLINE(num)'), '+15550000001')
  t.equal(await keeper.showCustomer(transferRecord({ status: 'completed', caller }, { target: TARGET })), false, 'now it shows the customer')
})

t.test('nothing is set without a caller, a target, or on a Local half', async (t) => {
  const pbx = new FakePbx()
  const keeper = new ConnectedLineKeeper(pbx, new ManualClock(), silentLogger)
  t.equal(await keeper.showCustomer(transferRecord({ status: 'completed' }, { target: TARGET })), false)
  t.equal(await keeper.showCustomer(transferRecord({ status: 'completed', caller })), false)
  t.equal(await keeper.showCustomer(transferRecord({ status: 'completed', caller }, { target: 'Local/106@from-internal-00000002;1' })), false)
  t.equal(pbx.variables.size, 0)
})

t.test('entering: looked at once the customer reached the target, after the settle time', async (t) => {
  const pbx = new FakePbx()
  const clock = new ManualClock()
  const keeper = new ConnectedLineKeeper(pbx, clock, silentLogger)
  await pbx.setVariable(TARGET, 'CONNECTEDLINE(num)', '101')
  keeper.entering(transferRecord({ type: 'attended', status: 'target_answered', caller }, { target: TARGET }))
  t.equal(clock.pending, 0, 'not during the consultation (the target talks to the agent)')
  keeper.entering(transferRecord({ type: 'attended', status: 'completed', caller }, { target: TARGET }))
  await clock.advance(CONNECTED_LINE_SETTLE_MS - 1)
  t.equal(pbx.variables.get(TARGET)?.get('CONNECTEDLINE(num)'), '101')
  await clock.advance(1)
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(pbx.variables.get(TARGET)?.get('CONNECTEDLINE(num)'), '+15550000001')
})
