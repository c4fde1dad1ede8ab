// The test bed survives a crash of Asterisk: before each file on the real PBX the runner checks the
// bed (test/helpers/asterisk/tap-each.ts) and restarts it when it is down, so one crash fails one file.
import { spawn } from 'node:child_process'
import t from 'tap'
import { withAmi } from '../helpers/asterisk/ami.js'
import { findAsteriskProcesses, killPbx } from '../helpers/asterisk/asterisk-process.js'
import { listEndpoints } from '../helpers/asterisk/ari.js'
import { waitFor } from '../helpers/asterisk/calls.js'
import { farm, pbx2, repoRoot } from '../helpers/asterisk/testbed.js'
import { checkTestBed, ensureTestBed } from '../helpers/asterisk/testbed-health.js'

interface RunnerOutput { stdout: string, stderr: string, code: number | null }

/** scripts/run-tests.mjs on the given files, as a developer runs it, with what it printed. */
async function runTests (files: string[]): Promise<RunnerOutput> {
  return await new Promise((resolve, reject) => {
    const runner = spawn(process.execPath, ['scripts/run-tests.mjs', ...files], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    runner.stdout.on('data', (b: Buffer) => { stdout += b.toString() })
    runner.stderr.on('data', (b: Buffer) => { stderr += b.toString() })
    runner.on('error', reject)
    runner.on('close', (code) => { resolve({ stdout, stderr, code }) })
  })
}

const fixtures = 'test/fixtures/testbed-restart'

t.test('a PBX killed in one file fails that file only: the next file finds the test bed restarted', async (t) => {
  const run = await runTests([`${fixtures}/1-pbx-crashes.test.ts`, `${fixtures}/2-next-file.test.ts`])
  const output = `${run.stdout}\n${run.stderr}`
  t.match(run.stdout, /^ {4}not ok 1 - a call placed after the PBX died(?: #|$)/m, 'the file that killed the PBX fails', { output })
  t.match(run.stdout, /^ {4}ok 1 - a customer call to agent 101 is bridged(?: #|$)/m, 'the next file passes', { output })
  t.equal(run.stdout.trimEnd().split('\n').at(-1), '1 passed, 1 failed', 'one failure in all', { output })
  t.match(run.stderr, /# asterisk testbed \(before test\/fixtures\/testbed-restart\/2-next-file\.test\.ts\): RESTARTED the test bed in \d+ ms/,
    'the restart is said in the output', { output })
  t.notMatch(run.stderr, /1-pbx-crashes\.test\.ts\): RESTARTED/, 'the bed was healthy before the first file', { output })
  t.notMatch(run.stderr, /before test\/helpers\//, "tap's before and after programs are not checked like test files", { output })
  t.ok((await checkTestBed()).healthy, 'healthy afterwards')
})

t.test('a phone farm that died counts as down', async (t) => {
  const killed = findAsteriskProcesses().filter((p) => p.instance === 'farm').map((p) => p.pid)
  t.equal(killed.length, 1)
  for (const pid of killed) process.kill(pid, 'SIGKILL')
  await waitFor(() => !findAsteriskProcesses().some((p) => p.instance === 'farm'), 5000, 'the farm gone')

  const result = await ensureTestBed()
  t.equal(result.action, 'restarted')
  t.match(result.why, /farm process GONE/)
  t.ok((await checkTestBed()).healthy)
  t.notOk(findAsteriskProcesses().some((p) => killed.includes(p.pid)))
})

t.test('a second PBX that died counts as down', async (t) => {
  await killPbx(pbx2)
  const result = await ensureTestBed()
  t.equal(result.action, 'restarted')
  t.match(result.why, /pbx2 process GONE/)
  t.ok((await checkTestBed()).healthy)
})

t.test('every instance running but an agent no longer registered counts as down', async (t) => {
  // The farm stops registering 103 (and will not retry): the PBX no longer reaches that phone.
  await withAmi(farm.ami, async (ami) => { await ami.action({ Action: 'PJSIPUnregister', Registration: 'reg-103' }) })
  await waitFor(async () => (await listEndpoints()).find((e) => e.resource === '103')?.state === 'offline', 5000, '103 offline on the PBX')

  const result = await ensureTestBed({ settleMs: 500 })
  t.equal(result.action, 'restarted')
  t.match(result.why, /pbx process running, pbx2 process running, farm process running/)
  t.match(result.why, /pbx extensions online: .*, not online: \[103\]/)
  t.equal((await listEndpoints()).find((e) => e.resource === '103')?.state, 'online')
})

t.test('a healthy test bed is left as it is', async (t) => {
  const before = findAsteriskProcesses().map((p) => p.pid).sort()
  const result = await ensureTestBed()
  t.equal(result.action, 'none')
  t.same(findAsteriskProcesses().map((p) => p.pid).sort(), before)
})
