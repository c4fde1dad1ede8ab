// The lines of `check`, from what Asterisk answered (recorded ListCommands, Getvar values, ARI endpoints).
import { readFileSync } from 'node:fs'
import t from 'tap'
import type { AmiMessage } from '../../src/asterisk/ami-client.js'
import type { PbxEndpoint } from '../../src/asterisk/ari-client.js'
import { PassThrough } from 'node:stream'
import { atxferLine, consultationControlsLine, contextLine, endpointLines, exitStatus, permissionLines, recallLine, runCheck, serverHeading } from '../../src/cli/check.js'
import { Printer } from '../../src/cli/output.js'
import { allowedActions, permissionReport } from '../../src/cli/permissions.js'

function reportFor (write: string) {
  const recorded = JSON.parse(readFileSync(new URL(`./fixtures/listcommands-write-${write}.json`, import.meta.url), 'utf8')) as AmiMessage
  return permissionReport(allowedActions(recorded))
}

function endpoint (resource: string, state: string, technology = 'PJSIP'): PbxEndpoint {
  return { technology, resource, state, channelIds: [] }
}

t.test('permissions of a write = all user: one ok line', async (t) => {
  t.same(permissionLines(reportFor('all'), 'transfer'), [
    { status: 'ok', label: 'AMI permissions', detail: 'Redirect, Atxfer, CancelAtxfer, Hangup, Getvar, Setvar allowed' }
  ])
})

t.test('permissions of a write = call user: ok, a warning naming the features it loses, and one for CoreShowChannels', async (t) => {
  const lines = permissionLines(reportFor('call'), 'transfer')
  t.match(lines, [
    { status: 'ok' },
    {
      status: 'warn',
      label: 'AMI permissions (features)',
      detail: 'user "transfer" may not send CoreStatus (telling an Asterisk restart from a lost connection), Filter (the AMI event filter (Asterisk sends the plugin every event)), QueueLog (queue_log lines for transferred queue calls (queueLog)), MixMonitor (the recording that follows the customer (followRecordings)): transfers work without them',
      hint: 'add system,agent to "write" in manager.conf [transfer] for them'
    },
    { status: 'warn', detail: 'CoreShowChannels not allowed', hint: 'CoreShowChannels needs write = system or reporting' }
  ])
  t.equal(exitStatus(lines), 0, 'what the plugin does not use does not fail the check')
})

t.test('permissions of a write = system user: fails naming each missing action, what it is for, and the fix', async (t) => {
  const [missing, features, optional] = permissionLines(reportFor('system'), 'operator')
  t.same(missing, {
    status: 'fail',
    label: 'AMI permissions',
    detail: 'user "operator" may not send Redirect (blind transfers), Atxfer (attended transfers), CancelAtxfer (cancelling attended transfers), Getvar (checking targets in the dialplan), Setvar (the record an attended transfer leaves on the agent\'s channel, recall and queue priority)',
    hint: 'add call to "write" (and call to "read") in manager.conf [operator]'
  })
  t.match(features, { status: 'warn', detail: /PlayDTMF .*DeviceStateList .*QueueLog/ })
  t.match(optional, { status: 'warn', detail: 'BlindTransfer not allowed' })
})

t.test('permissions of a user without write classes', async (t) => {
  const lines = permissionLines(reportFor('none'), 'readonly')
  t.match(lines[0], { status: 'fail', detail: /Redirect .*Atxfer .*CancelAtxfer .*Hangup .*Getvar/, hint: /add call to "write"/ })
  t.equal(exitStatus(lines), 1)
})

t.test('the atxfer feature code: set, or empty (the default) which fails', async (t) => {
  t.same(atxferLine('*2'), { status: 'ok', label: 'atxfer feature code', detail: '*2' })
  t.match(atxferLine(''), { status: 'fail', detail: /not set/, hint: /features\.conf \[featuremap\].*atxfer => \*2/ })
})

t.test('the transfer context', async (t) => {
  t.match(contextLine('from-internal', true), { status: 'ok', detail: 'from-internal exists in the dialplan' })
  t.match(contextLine('agents', false), { status: 'fail', detail: 'agents does not exist in the dialplan', hint: /TRANSFER_CONTEXT/ })
})

t.test('extensions online and offline, of the plugin\'s technology only, in dialing order', async (t) => {
  const lines = endpointLines([
    endpoint('107', 'offline'), endpoint('102', 'online'), endpoint('101', 'online'), endpoint('customer1', 'offline'),
    endpoint('103', 'unknown'), endpoint('900', 'online', 'SIP')
  ], 'PJSIP')
  t.same(lines, [
    { status: 'ok', label: 'extensions online (PJSIP)', detail: '101, 102' },
    { status: 'info', label: 'extensions offline (PJSIP)', detail: '103, 107, customer1' }
  ])
})

t.test('no extension online is a warning, not a failure', async (t) => {
  const lines = endpointLines([endpoint('107', 'offline')], 'PJSIP')
  t.match(lines[0], { status: 'warn', detail: 'none', hint: /registered/ })
  t.equal(exitStatus(lines), 0)
  t.same(endpointLines([], 'PJSIP'), [{ status: 'warn', label: 'extensions online (PJSIP)', detail: 'none', hint: 'no phone is registered: transfers need a registered agent and target' }])
})

t.test('exit status: 1 as soon as one line fails', async (t) => {
  t.equal(exitStatus([{ status: 'ok', label: 'a', detail: '' }, { status: 'warn', label: 'b', detail: '' }, { status: 'info', label: 'c', detail: '' }]), 0)
  t.equal(exitStatus([{ status: 'ok', label: 'a', detail: '' }, { status: 'fail', label: 'b', detail: '' }]), 1)
})

t.test('transfer recall: possible when the user may add dialplan (installed or not yet), a warning otherwise', async (t) => {
  t.match(recallLine(true, true), { status: 'ok', detail: /recall dialplan \(fastify-transfer-recall\) is in Asterisk/ })
  t.match(recallLine(true, false), { status: 'ok', detail: /adds its recall dialplan \(fastify-transfer-recall\) when it starts/ })
  const refused = recallLine(false, false)
  t.match(refused, { status: 'warn', detail: /may not send DialplanExtensionAdd/, hint: /add system to "write"/ })
  t.equal(exitStatus([refused]), 0, 'transfers still work without recall: not a failure')
})

t.test('swap and three-way digits: ok with both, a warning naming what to set without', async (t) => {
  t.same(consultationControlsLine('*4', '*3'), { status: 'ok', label: 'swap and three-way digits', detail: 'atxferswap *4, atxferthreeway *3' })
  t.match(consultationControlsLine('', '*3'), { status: 'warn', detail: /^atxferswap not usable/, hint: /features\.conf \[general\], e\.g\. atxferswap => \*4, then/ })
  t.match(consultationControlsLine('', ''), { status: 'warn', detail: /atxferswap and atxferthreeway/, hint: /atxferswap => \*4, atxferthreeway => \*3/ })
})

/** A server nobody listens for (a low port on loopback): every connection is refused at once. */
function unreachable (name: string, port: number) {
  return {
    name,
    ami: { host: '127.0.0.1', port, username: 'transfer', password: 'x' },
    ari: { url: `http://127.0.0.1:${port}`, username: 'transfer', password: 'x' },
    transferContext: 'from-internal',
    channelTechnology: 'PJSIP'
  }
}

async function checkOutput (servers: ReturnType<typeof unreachable>[]): Promise<{ status: number, text: string }> {
  const stream = new PassThrough()
  let text = ''
  stream.on('data', (chunk: Buffer) => { text += chunk.toString() })
  const status = await runCheck(servers, new Printer(stream, { fancy: false, animate: false }))
  return { status, text }
}

t.test('a pool: every server checked, each under its own heading, and one failing server fails the check', async (t) => {
  const { status, text } = await checkOutput([unreachable('pbx1', 1), unreachable('pbx2', 2)])
  t.equal(status, 1)
  const pbx1 = text.indexOf(serverHeading(unreachable('pbx1', 1)))
  const pbx2 = text.indexOf(serverHeading(unreachable('pbx2', 2)))
  t.ok(pbx1 !== -1 && pbx2 > pbx1, 'the headings, in the pool\'s order')
  t.match(text.slice(pbx1, pbx2), /cannot reach AMI at 127\.0\.0\.1:1 /, 'pbx1\'s lines under its heading')
  t.match(text.slice(pbx2), /cannot reach AMI at 127\.0\.0\.1:2 /, 'pbx2\'s under its own')
  t.match(serverHeading(unreachable('pbx2', 2)), 'server pbx2 (AMI 127.0.0.1:2, ARI http://127.0.0.1:2)')
})

t.test('a pool of one: no heading, as before pools', async (t) => {
  const { status, text } = await checkOutput([unreachable('default', 1)])
  t.equal(status, 1)
  t.notMatch(text, /^server /m)
  t.match(text, /asking Asterisk \(AMI 127\.0\.0\.1:1, ARI http:\/\/127\.0\.0\.1:1\)/)
})
