// The AMI permission report from recorded ListCommands responses of real Asterisk 22 users
// (test/cli/fixtures/README.md says how they were recorded).
import { readFileSync } from 'node:fs'
import t from 'tap'
import type { AmiMessage } from '../../src/asterisk/ami-client.js'
import { allowedActions, permissionReport, TRANSFER_ACTIONS, writeClassesFor } from '../../src/cli/permissions.js'

function recorded (write: string): AmiMessage {
  return JSON.parse(readFileSync(new URL(`./fixtures/listcommands-write-${write}.json`, import.meta.url), 'utf8')) as AmiMessage
}

const names = (actions: ReadonlyArray<{ action: string }>): string[] => actions.map((entry) => entry.action)

t.test('allowedActions keeps the action names and drops the response headers', async (t) => {
  const allowed = allowedActions(recorded('all'))
  t.ok(allowed.has('redirect'))
  t.ok(allowed.has('ping'))
  t.notOk(allowed.has('response'))
  t.notOk(allowed.has('actionid'))
})

t.test('write = all: nothing is missing', async (t) => {
  const report = permissionReport(allowedActions(recorded('all')))
  t.same(report.missing, [])
  t.same(report.missingForFeatures, [])
  t.same(report.missingOptional, [])
  t.same(names(report.allowed), names(TRANSFER_ACTIONS))
})

t.test('write = call: every action transfers need; the features needing system or agent are named, and CoreShowChannels', async (t) => {
  const report = permissionReport(allowedActions(recorded('call')))
  t.same(report.missing, [])
  t.same(names(report.missingForFeatures), ['CoreStatus', 'Filter', 'QueueLog', 'MixMonitor'])
  t.same(writeClassesFor(report.missingForFeatures), ['system', 'agent'], 'system grants three, agent alone QueueLog')
  t.same(names(report.missingOptional), ['CoreShowChannels'])
})

t.test('write = system: Hangup only; the transfer actions and Getvar are missing', async (t) => {
  const report = permissionReport(allowedActions(recorded('system')))
  t.same(names(report.missing), ['Redirect', 'Atxfer', 'CancelAtxfer', 'Getvar', 'Setvar'])
  t.same(names(report.missingForFeatures), ['PlayDTMF', 'DeviceStateList', 'QueueLog'])
  t.same(names(report.missingOptional), ['BlindTransfer'])
  t.same(writeClassesFor(report.missing), ['call'], 'call alone grants them all')
})

t.test('write = reporting: Getvar, DeviceStateList, CoreStatus and CoreShowChannels only', async (t) => {
  const report = permissionReport(allowedActions(recorded('reporting')))
  t.same(names(report.missing), ['Redirect', 'Atxfer', 'CancelAtxfer', 'Hangup', 'Setvar'])
  t.same(names(report.allowed), ['Getvar', 'DeviceStateList', 'CoreStatus', 'CoreShowChannels'])
})

t.test('no write class: only actions without a class (Ping, ListCommands...) are listed', async (t) => {
  const allowed = allowedActions(recorded('none'))
  t.ok(allowed.has('ping'))
  const report = permissionReport(allowed)
  t.same(names(report.missing), ['Redirect', 'Atxfer', 'CancelAtxfer', 'Hangup', 'Getvar', 'Setvar'])
  t.same(names(report.missingForFeatures), ['PlayDTMF', 'DeviceStateList', 'CoreStatus', 'Filter', 'QueueLog', 'MixMonitor'])
  t.same(names(report.missingOptional), ['BlindTransfer', 'CoreShowChannels'])
  t.same(writeClassesFor([...report.missing, ...report.missingOptional]), ['call', 'system'])
})

t.test('writeClassesFor picks the class allowing most actions first', async (t) => {
  const [hangup, getvar, coreShowChannels] = ['Hangup', 'Getvar', 'CoreShowChannels'].map((name) => TRANSFER_ACTIONS.find((entry) => entry.action === name)!)
  t.same(writeClassesFor([hangup!, coreShowChannels!]), ['system'])
  t.same(writeClassesFor([getvar!, coreShowChannels!]), ['reporting'])
  t.same(writeClassesFor([]), [])
})
