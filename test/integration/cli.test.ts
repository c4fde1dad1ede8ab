// The command-line tool on the real Asterisk 22 test bed: the CLI runs as a separate process, with the
// test bed's settings in its environment, exactly as an operator would run it; the PBX is then checked.
import { spawn } from 'node:child_process'
import t from 'tap'
import { bridgePeersOf, callAgent, hangupAllCalls, waitFor } from '../helpers/asterisk/calls.js'
import { missingExtension, offlineAgent, registeredExtensions, repoRoot, testbedEnvironment } from '../helpers/asterisk/testbed.js'

interface CliRun {
  code: number | null
  stdout: string
  stderr: string
}

const testbedEnv = testbedEnvironment()

/** Runs `fastify-asterisk-transfer <args>` from the sources; stdout is a pipe, so the output is plain ASCII. */
async function cli (args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...testbedEnv, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  clearTimeout(timer)
  return { code, stdout, stderr }
}

const isLegOf = (extension: string) => (name: string): boolean => name.startsWith(`PJSIP/${extension}-`)
const EVENT_LINE = /^\d\d:\d\d:\d\d\.\d{3} {2}/

/** The event lines of a run: `<time>  <status>  <event>  <description>`, as [status, event]. */
function events (run: CliRun): string[][] {
  return run.stdout.split('\n').filter((line) => EVENT_LINE.test(line)).map((line) => line.split(/\s+/).slice(1, 3))
}

await hangupAllCalls()
t.afterEach(async () => { await hangupAllCalls() })

t.test('check: everything transfers need is there; 101-106, 201 and 202 online, 107 offline', async (t) => {
  const run = await cli(['check'])
  t.equal(run.code, 0, 'exit 0', { output: run.stdout + run.stderr })
  t.match(run.stdout, /^\[ok\] +AMI login: transfer@127\.0\.0\.1:15038$/m)
  t.match(run.stdout, /^\[ok\] +ARI: http:\/\/127\.0\.0\.1:18088/m)
  t.match(run.stdout, /^\[ok\] +AMI permissions: Redirect, Atxfer, CancelAtxfer, Hangup, Getvar, Setvar allowed$/m)
  t.match(run.stdout, /^\[ok\] +atxfer feature code: \*2$/m)
  t.match(run.stdout, /^\[ok\] +swap and three-way digits: atxferswap \*4, atxferthreeway \*3$/m)
  t.match(run.stdout, /^\[ok\] +transfer context: from-internal exists/m)
  t.match(run.stdout, /^\[ok\] +transfer recall: DialplanExtensionAdd allowed; the (recall dialplan \(fastify-transfer-recall\) is in Asterisk|plugin adds its recall dialplan)/m)
  const online = /^\[ok\] +extensions online \(PJSIP\): (.*)$/m.exec(run.stdout)?.[1]?.split(', ')
  // The load test's agents (2000-2199) register from the farm too, on their own schedule.
  t.same(online?.filter((extension) => !/^2\d{3}$/.test(extension)), [...registeredExtensions])
  const offline = /^\[info\] extensions offline \(PJSIP\): (.*)$/m.exec(run.stdout)?.[1]?.split(', ') ?? []
  t.ok(offline.includes(offlineAgent), `${offlineAgent} offline: ${offline.join(', ')}`)
  // eslint-disable-next-line no-control-regex -- ESC (\x1b) starts the colour codes that must not reach a pipe
  t.notMatch(run.stdout, /\[FAIL\]|✓|✗|\x1b/, 'no failure, plain ASCII in a pipe')
})

t.test('check with a wrong AMI password: exit 1 and a clear login message', async (t) => {
  const run = await cli(['check'], { AMI_PASSWORD: 'not-the-secret' })
  t.equal(run.code, 1, 'exit 1', { output: run.stdout + run.stderr })
  t.match(run.stdout, /^\[FAIL\] AMI login refused for user "transfer" at 127\.0\.0\.1:15038: Authentication failed$/m)
  t.match(run.stdout, /^ +hint: check AMI_USERNAME and AMI_PASSWORD/m)
  t.match(run.stdout, /^\[ok\] +ARI:/m, 'ARI is still checked')
})

t.test('check as an AMI user with system and reporting but not call: exit 1, each action it may not send named, and the fix', async (t) => {
  const run = await cli(['check'], { AMI_USERNAME: 'operator', AMI_PASSWORD: 'operator-secret' })
  t.equal(run.code, 1, 'exit 1', { output: run.stdout + run.stderr })
  t.match(run.stdout, /^\[ok\] +AMI login: operator@127\.0\.0\.1:15038$/m)
  t.match(run.stdout, /^\[FAIL\] AMI permissions: user "operator" may not send Redirect \(blind transfers\), Atxfer \(attended transfers\), CancelAtxfer \(cancelling attended transfers\), Setvar \(the record an attended transfer leaves on the agent's channel, recall and queue priority\)$/m)
  t.match(run.stdout, /^ +hint: add call to "write" \(and call to "read"\) in manager\.conf \[operator\]$/m)
  t.notMatch(run.stdout, /may not send [^\n]*(Hangup|Getvar)/, 'what system and reporting allow (Hangup, Getvar) is not named')
  t.match(run.stdout, /^\[warn\] AMI permissions \(features\): user "operator" may not send PlayDTMF \(swap and three-way\), QueueLog \(queue_log lines for transferred queue calls \(queueLog\)\): transfers work without them$/m,
    'what a feature needs is named with the feature, the agent class\'s QueueLog among them')
  t.match(run.stdout, /^ +hint: add call,agent to "write" in manager\.conf \[operator\] for them$/m)
  t.match(run.stdout, /^\[ok\] +transfer context: from-internal exists/m, 'the checks that need no call class still run')
})

t.test('check with a wrong ARI password: exit 1, ARI credentials named, no crash', async (t) => {
  const run = await cli(['check'], { ARI_PASSWORD: 'not-the-secret' })
  t.equal(run.code, 1, 'exit 1', { output: run.stdout + run.stderr })
  t.match(run.stdout, /^\[FAIL\] ARI refused the credentials of user "transfer"/m)
  t.match(run.stdout, /^\[ok\] +AMI login/m)
  t.equal(run.stderr, '', 'nothing on stderr (ari-client\'s own throw is contained)')
})

/**
 * The test bed as ASTERISK_SERVERS, its one PBX under each name given; the single server's variables
 * emptied (an empty variable counts as unset).
 */
function asPool (...names: string[]): Record<string, string> {
  const server = (name: string): object => ({
    name,
    ami: { host: testbedEnv.AMI_HOST, port: Number(testbedEnv.AMI_PORT), username: testbedEnv.AMI_USERNAME, password: testbedEnv.AMI_PASSWORD },
    ari: { url: testbedEnv.ARI_URL, username: testbedEnv.ARI_USERNAME, password: testbedEnv.ARI_PASSWORD }
  })
  const unset = Object.fromEntries(Object.keys(testbedEnv).filter((name) => /^(AMI|ARI)_/.test(name)).map((name) => [name, '']))
  return { ...unset, ASTERISK_SERVERS: JSON.stringify(names.map(server)) }
}

t.test('ASTERISK_SERVERS: check runs on every server, each under its name; transfer asks which one; never both configurations', async (t) => {
  const both = await cli(['check'], asPool('left', 'right'))
  t.equal(both.code, 0, 'exit 0', { output: both.stdout + both.stderr })
  t.match(both.stdout, /^server left \(AMI 127\.0\.0\.1:15038, ARI http:\/\/127\.0\.0\.1:18088\)$/m)
  t.match(both.stdout, /^server right \(AMI 127\.0\.0\.1:15038/m)
  t.equal(both.stdout.match(/^\[ok\] +AMI login: /gm)?.length, 2, 'each server checked')
  const right = await cli(['check', '--server', 'right'], asPool('left', 'right'))
  t.equal(right.code, 0, 'exit 0', { output: right.stdout + right.stderr })
  t.equal(right.stdout.match(/^\[ok\] +AMI login: /gm)?.length, 1, '--server: that one only')
  const unsure = await cli(['transfer', 'blind', '--from', '101', '--to', '102'], asPool('left', 'right'))
  t.equal(unsure.code, 2, 'exit 2, before connecting', { output: unsure.stdout + unsure.stderr })
  t.match(unsure.stderr, /ASTERISK_SERVERS names 2 servers \(left, right\): --server <name> says which one --from's call is on/)
  const mixed = await cli(['check'], { ...asPool('left'), AMI_HOST: testbedEnv.AMI_HOST ?? '' })
  t.equal(mixed.code, 2, 'exit 2', { output: mixed.stdout + mixed.stderr })
  t.match(mixed.stderr, /ASTERISK_SERVERS and AMI_HOST are both set/)
})

t.test('ASTERISK_SERVERS: transfer blind --server right 101 -> 102, answered and verified on the PBX', async (t) => {
  const call = await callAgent('101')
  const run = await cli(['transfer', 'blind', '--from', '101', '--to', '102', '--server', 'right'], asPool('left', 'right'))
  t.equal(run.code, 0, 'exit 0', { output: run.stdout + run.stderr })
  t.match(run.stdout, /connecting to Asterisk right \(AMI 127\.0\.0\.1:15038/)
  t.match(run.stdout, /^\[ok\] +outcome: answered: the customer is with 102$/m)
  const peers = await bridgePeersOf(call.customerChannel.id)
  t.ok(peers.some(isLegOf('102')), `the customer is with 102: ${peers.join(', ')}`)
})

t.test('transfer blind 101 -> 102: events, answered, and the customer is with 102 on the PBX', async (t) => {
  const call = await callAgent('101')
  const run = await cli(['transfer', 'blind', '--from', '101', '--to', '102'])
  t.equal(run.code, 0, 'exit 0', { output: run.stdout + run.stderr })
  t.same(events(run), [
    ['initiated', 'call:transfer_initiated'],
    ['redirected', 'call:ami_transfer_complete'],
    ['answered', 'call:transfer_updated']
  ])
  t.match(run.stdout, /^\[ok\] +outcome: answered: the customer is with 102$/m)
  t.match(run.stdout, new RegExp(`^\\[ok\\] +verified on Asterisk: customer ${call.customerChannel.name} is bridged with PJSIP/102-`, 'm'))
  const peers = await bridgePeersOf(call.customerChannel.id)
  t.ok(peers.some(isLegOf('102')), `the customer is with 102: ${peers.join(', ')}`)
  t.notOk(peers.some(isLegOf('101')))
})

t.test('transfer attended 101 -> 103 --cancel: consultation, then the customer is back with 101', async (t) => {
  const call = await callAgent('101')
  const run = await cli(['transfer', 'attended', '--from', '101', '--to', '103', '--cancel'])
  t.equal(run.code, 0, 'exit 0', { output: run.stdout + run.stderr })
  t.same(events(run), [
    ['initiated', 'call:transfer_initiated'],
    ['consulting', 'call:ami_attended_transfer_started'],
    ['target_answered', 'call:transfer_updated'],
    ['cancelled', 'call:ami_attended_transfer_cancelled']
  ])
  t.match(run.stdout, /^\[ok\] +outcome: cancelled: 101 is back with the customer$/m)
  t.same(await bridgePeersOf(call.customerChannel.id), [call.agentChannel.name], 'the customer is bridged with 101 again')
})

t.test('transfer attended 101 -> 103 --complete: 101 leaves, the customer is with 103', async (t) => {
  const call = await callAgent('101')
  const run = await cli(['transfer', 'attended', '--from', '101', '--to', '103', '--complete'])
  t.equal(run.code, 0, 'exit 0', { output: run.stdout + run.stderr })
  t.same(events(run).map(([status]) => status), ['initiated', 'consulting', 'target_answered', 'completed'])
  const peers = await waitFor(async () => {
    const names = await bridgePeersOf(call.customerChannel.id)
    return names.some(isLegOf('103')) && names
  }, 5000, 'the customer bridged with 103')
  t.notOk(peers.some(isLegOf('101')))
})

t.test('transfer attended 101 -> 103 --swap --three-way --complete: to the customer, all three, then 101 leaves', async (t) => {
  const call = await callAgent('101')
  const run = await cli(['transfer', 'attended', '--from', '101', '--to', '103', '--swap', '--three-way', '--complete'])
  t.equal(run.code, 0, 'exit 0', { output: run.stdout + run.stderr })
  t.same(events(run), [
    ['initiated', 'call:transfer_initiated'],
    ['consulting', 'call:ami_attended_transfer_started'],
    ['target_answered', 'call:transfer_updated'],
    ['target_answered', 'call:transfer_swapped'],
    ['three_way', 'call:transfer_three_way'],
    ['completed', 'call:ami_attended_transfer_completed']
  ])
  t.ok((await bridgePeersOf(call.customerChannel.id)).some(isLegOf('103')), 'the customer is with 103')
})

t.test('transfer attended 101 -> 103 alone: reports consulting, exits 0 and leaves the consultation up', async (t) => {
  const call = await callAgent('101')
  const run = await cli(['transfer', 'attended', '--from', '101', '--to', '103'])
  t.equal(run.code, 0, 'exit 0', { output: run.stdout + run.stderr })
  t.match(run.stdout, /^\[ok\] +outcome: consulting: 101 is in consultation with 103/m)
  const consultation = await waitFor(async () => {
    const names = await bridgePeersOf(call.agentChannel.id)
    return names.some(isLegOf('103')) && names
  }, 5000, '101 talking to 103 after the tool exited')
  t.notOk(consultation.includes(call.customerChannel.name), 'the customer waits outside the consultation')
})

t.test('transfer blind 104 -> 102 without a call: exit 1 with XFER_NO_ACTIVE_CHANNEL', async (t) => {
  const run = await cli(['transfer', 'blind', '--from', '104', '--to', '102'])
  t.equal(run.code, 1, 'exit 1', { output: run.stdout + run.stderr })
  t.match(run.stderr, /^\[FAIL\] error: XFER_NO_ACTIVE_CHANNEL: No active channel for extension 104$/m)
  t.match(run.stderr, /^ +hint: 104 has no call to transfer/m)
  t.same(events(run), [], 'no transfer was started')
})

t.test('transfer to an unknown extension: exit 1 with XFER_UNKNOWN_TARGET, the customer stays with 101', async (t) => {
  const call = await callAgent('101')
  const run = await cli(['transfer', 'blind', '--from', '101', '--to', missingExtension])
  t.equal(run.code, 1, 'exit 1', { output: run.stdout + run.stderr })
  t.match(run.stderr, new RegExp(`XFER_UNKNOWN_TARGET: Transfer target ${missingExtension} does not exist in dialplan context from-internal`))
  t.same(await bridgePeersOf(call.customerChannel.id), [call.agentChannel.name])
})

t.test('a malformed extension is refused before connecting (exit 2)', async (t) => {
  // A closed port: had the tool connected, it would have failed with exit 1 and a connection error.
  const run = await cli(['transfer', 'blind', '--from', '101', '--to', '102;1'], { AMI_PORT: '1' })
  t.equal(run.code, 2, 'exit 2', { output: run.stdout + run.stderr })
  t.match(run.stderr, /^\[FAIL\] error: --to "102;1" is not an extension/m)
  t.notMatch(run.stdout + run.stderr, /AMI/)
})
