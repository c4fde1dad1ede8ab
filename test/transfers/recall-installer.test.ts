import t, { type Test } from 'tap'
import { AsteriskRefusedError } from '../../src/errors.js'
import { recallDialplan, recallEntry } from '../../src/transfers/recall-dialplan.js'
import { RecallInstaller } from '../../src/transfers/recall-installer.js'
import { FakePbx } from '../helpers/fake-pbx.js'

const lines = recallDialplan({ context: 'fastify-transfer-recall', transferContext: 'from-internal', technology: 'PJSIP', afterMs: 20_000, ringAgentMs: 15_000 })
const later = async (): Promise<void> => await new Promise((resolve) => setImmediate(resolve))

function setup (t: Test): { pbx: FakePbx, installer: RecallInstaller } {
  const pbx = new FakePbx()
  const installer = new RecallInstaller(pbx, lines)
  t.teardown(() => installer.stop())
  return { pbx, installer }
}

t.test('adds every line at start, in order', async (t) => {
  const { pbx, installer } = setup(t)
  await installer.start()
  t.same(pbx.dialplanSteps, lines)
  t.ok(installer.installed)
})

t.test('adds them again after a Reload event and after an AMI reconnect', async (t) => {
  const { pbx, installer } = setup(t)
  await installer.start()
  pbx.emit({ type: 'reload', module: 'pbx_config' })
  await later()
  t.equal(pbx.dialplanSteps.length, lines.length * 2, 'after the Reload')
  pbx.events.emit('connection', { ami: false, ari: true })
  t.notOk(installer.installed, 'not known to be there while AMI is down')
  pbx.events.emit('connection', { ami: true, ari: true })
  await later()
  t.equal(pbx.dialplanSteps.length, lines.length * 3, 'after the reconnect')
  t.ok(installer.installed)
})

t.test('ensure: asks Asterisk, and adds the context again when a dialplan reload dropped it', async (t) => {
  const { pbx, installer } = setup(t)
  await installer.start()
  pbx.dialplan.add('transfer@fastify-transfer-recall')
  t.ok(await installer.ensure())
  t.equal(pbx.dialplanSteps.length, lines.length, 'there: nothing added')
  pbx.dialplan.delete('transfer@fastify-transfer-recall')
  t.ok(await installer.ensure())
  t.equal(pbx.dialplanSteps.length, lines.length * 2, 'gone: added again')
})

t.test('refused (an AMI user without write = system): not installed, so transfers go without recall', async (t) => {
  const { pbx, installer } = setup(t)
  pbx.dialplanError = new AsteriskRefusedError('DialplanExtensionAdd', 'Permission denied')
  await installer.start()
  t.notOk(installer.installed)
  t.notOk(await installer.ensure())
})

t.test('linesInFront: the lines once Asterisk took them, none before or after a refusal in front of a Redirect', async (t) => {
  const { installer } = setup(t)
  t.equal(installer.linesInFront(), undefined, 'not installed yet: ensure first')
  await installer.start()
  t.same(installer.linesInFront(), lines)
  installer.refusedInFront(new AsteriskRefusedError('DialplanExtensionAdd', 'Permission denied'))
  t.equal(installer.linesInFront(), undefined)
  t.ok(await installer.ensure(), 'checked and added again')
  t.same(installer.linesInFront(), lines)
})

t.test('with an entry: added after the lines, the only lines written in front; a customer waiting at it has the context added again', async (t) => {
  const pbx = new FakePbx()
  const entry = recallEntry({ context: 'fastify-transfer-recall', transferContext: 'from-internal' }, lines)
  const installer = new RecallInstaller(pbx, lines, undefined, entry)
  t.teardown(() => installer.stop())
  await installer.start()
  t.same(pbx.dialplanSteps, [...lines, ...entry], 'the entry last: when it checks the last line, the rest is there')
  t.same(installer.linesInFront(), entry)
  const at = (context: string, application: string): void => {
    pbx.emit({ type: 'newExten', channel: 'PJSIP/customer-1', uniqueId: 'u', linkedId: 'l', context, exten: 'start', application })
  }
  at('fastify-transfer-recall', 'GotoIf')
  await later()
  t.equal(pbx.dialplanSteps.length, lines.length + entry.length, 'passing through the entry: nothing added')
  at('fastify-transfer-recall', 'Wait')
  await later()
  t.same(pbx.dialplanSteps.slice(lines.length + entry.length), [...lines, ...entry], 'a customer waiting at the entry: everything added again')
  t.ok(installer.installed)
})
