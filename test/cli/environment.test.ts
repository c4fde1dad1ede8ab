// The servers from the environment and an env file, with the example app's variable names: the one
// server of AMI_* and ARI_*, or the pool of ASTERISK_SERVERS; and which of them a command uses.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { ConfigError, loadEnvironment, mergeEnvFile, readPool, serverForTransfer, serversToCheck, type ConnectionSettings } from '../../src/cli/environment.js'

const complete = {
  AMI_HOST: '10.0.0.5',
  AMI_USERNAME: 'transfer',
  AMI_PASSWORD: 'secret',
  ARI_URL: 'http://10.0.0.5:8088',
  ARI_USERNAME: 'ari',
  ARI_PASSWORD: 'ari-secret'
}

function configError (t: Test, env: NodeJS.ProcessEnv): string {
  try {
    readPool(env)
  } catch (error) {
    t.type(error, ConfigError)
    return (error as Error).message
  }
  t.fail('no ConfigError')
  return ''
}

/** The one server of a pool of one. */
function single (env: NodeJS.ProcessEnv): ConnectionSettings {
  const pool = readPool(env)
  if (pool.length !== 1 || pool[0] === undefined) throw new Error(`a pool of ${pool.length}`)
  return pool[0]
}

t.test('the settings, with the example app\'s defaults (AMI_PORT 5038, TRANSFER_CONTEXT from-internal)', async (t) => {
  t.same(readPool(complete), [{
    name: 'default',
    ami: { host: '10.0.0.5', port: 5038, username: 'transfer', password: 'secret' },
    ari: { url: 'http://10.0.0.5:8088', username: 'ari', password: 'ari-secret' },
    transferContext: 'from-internal',
    channelTechnology: 'PJSIP'
  }])
})

t.test('every variable is read; a trailing slash of ARI_URL is dropped', async (t) => {
  const settings = single({ ...complete, AMI_PORT: '15038', ARI_URL: 'https://pbx.example:8089/', TRANSFER_CONTEXT: 'agents' })
  t.equal(settings.ami.port, 15038)
  t.equal(settings.ari.url, 'https://pbx.example:8089')
  t.equal(settings.transferContext, 'agents')
})

t.test('empty variables count as unset', async (t) => {
  t.equal(single({ ...complete, AMI_PORT: '', TRANSFER_CONTEXT: '' }).ami.port, 5038)
  t.match(configError(t, { ...complete, AMI_HOST: '' }), /missing AMI_HOST/)
})

t.test('every problem is named by its variable, on one line', async (t) => {
  const message = configError(t, {})
  t.equal(message, 'invalid configuration: missing AMI_HOST, AMI_USERNAME, AMI_PASSWORD, ARI_URL, ARI_USERNAME, ARI_PASSWORD')
  t.match(configError(t, { ...complete, AMI_PORT: 'five' }), /AMI_PORT/)
  t.match(configError(t, { ...complete, AMI_PORT: '70000' }), /AMI_PORT must be a port number \(1-65535\), got "70000"/)
  t.match(configError(t, { ...complete, ARI_URL: 'pbx:8088' }), /ARI_URL/)
  t.match(configError(t, { ...complete, TRANSFER_CONTEXT: 'from internal' }), /TRANSFER_CONTEXT/)
  t.notMatch(configError(t, { ...complete, AMI_PORT: 'x' }), /\n/)
})

t.test('mergeEnvFile: the file fills in, the process environment wins', async (t) => {
  const merged = mergeEnvFile({ AMI_PASSWORD: 'from-shell' }, 'AMI_HOST=pbx\nAMI_PASSWORD=from-file\n# a comment\nARI_URL="http://pbx:8088"\n')
  t.same({ AMI_HOST: merged.AMI_HOST, AMI_PASSWORD: merged.AMI_PASSWORD, ARI_URL: merged.ARI_URL },
    { AMI_HOST: 'pbx', AMI_PASSWORD: 'from-shell', ARI_URL: 'http://pbx:8088' })
  const env = { A: '1' }
  t.equal(mergeEnvFile(env, undefined), env, 'no file: the environment as it is')
})

t.test('loadEnvironment: --env-file must exist; ./.env is read only when present', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fat-cli-env-'))
  t.same(loadEnvironment({ A: '1' }, undefined, dir), { A: '1' }, 'no .env: nothing added')
  writeFileSync(join(dir, '.env'), 'AMI_HOST=from-dotenv\n')
  t.equal(loadEnvironment({}, undefined, dir).AMI_HOST, 'from-dotenv')
  writeFileSync(join(dir, 'other.env'), 'AMI_HOST=from-other\n')
  t.equal(loadEnvironment({}, 'other.env', dir).AMI_HOST, 'from-other', 'relative to the working directory')
  t.throws(() => loadEnvironment({}, 'missing.env', dir), { name: 'ConfigError', message: /cannot read env file .*missing\.env: ENOENT/ })
})

const pbx1 = {
  name: 'pbx1',
  ami: { host: '10.0.0.1', port: 5038, username: 'transfer', password: 'pw-one' },
  ari: { url: 'http://10.0.0.1:8088', username: 'transfer', password: 'pw-one' }
}
const pbx2 = {
  name: 'pbx2',
  ami: { host: '10.0.0.2', port: 15038, username: 'xfer', password: 'pw-two' },
  ari: { url: 'https://10.0.0.2:8089/', username: 'xfer', password: 'pw-two' },
  transferContext: 'agents-2'
}
const pool = (...servers: unknown[]): NodeJS.ProcessEnv => ({ ASTERISK_SERVERS: JSON.stringify(servers) })

t.test('ASTERISK_SERVERS: the pool in order, each with its transferContext or TRANSFER_CONTEXT; no AMI_* or ARI_* needed', async (t) => {
  t.same(readPool({ ...pool(pbx1, pbx2), TRANSFER_CONTEXT: 'agents' }), [
    { ...pbx1, transferContext: 'agents', channelTechnology: 'PJSIP', entry: 0, ownContext: false },
    { ...pbx2, ari: { ...pbx2.ari, url: 'https://10.0.0.2:8089' }, channelTechnology: 'PJSIP', entry: 1, ownContext: true }
  ])
  t.same(readPool(pool(pbx1)).map((server) => [server.name, server.transferContext]), [['pbx1', 'from-internal']], 'one server, TRANSFER_CONTEXT\'s default')
  t.same(readPool({ ...pool(pbx1), AMI_HOST: '', ARI_URL: '' }).length, 1, 'empty single-server variables count as unset')
})

t.test('ASTERISK_SERVERS with AMI_* or ARI_* set: refused, naming them and saying why', async (t) => {
  const message = configError(t, { ...complete, ...pool(pbx1) })
  t.match(message, /ASTERISK_SERVERS and AMI_HOST, AMI_USERNAME, AMI_PASSWORD, ARI_URL, ARI_USERNAME, ARI_PASSWORD are both set/)
  t.match(message, /the single server's AMI_\* and ARI_\* variables are not used/)
  t.match(configError(t, { ...pool(pbx1), AMI_PORT: '5038' }), /ASTERISK_SERVERS and AMI_PORT are both set/, 'even a variable that has a default')
})

t.test('ASTERISK_SERVERS that is not JSON: said, without echoing the text (it holds passwords)', async (t) => {
  for (const text of ['[{"name":"pbx1","ami":{"password":"hunter2"x}}]', 'hunter2', '[{"password":"hunter2"']) {
    const message = configError(t, { ASTERISK_SERVERS: text })
    t.match(message, /^invalid configuration: ASTERISK_SERVERS is not valid JSON \(/, text)
    t.notMatch(message, /hunter2/, text)
  }
})

t.test('a bad ASTERISK_SERVERS is named by its index and field; every problem on one line', async (t) => {
  const cases: Array<[string, NodeJS.ProcessEnv, RegExp]> = [
    ['not an array', { ASTERISK_SERVERS: JSON.stringify(pbx1) }, /ASTERISK_SERVERS must be a list of servers/],
    ['empty', { ASTERISK_SERVERS: '[]' }, /ASTERISK_SERVERS must list at least one server/],
    ['a port as a string', pool(pbx1, { ...pbx2, ami: { ...pbx2.ami, port: '5038' } }), /ASTERISK_SERVERS\[1\]\.ami\.port must be integer/],
    ['a port out of range', pool({ ...pbx1, ami: { ...pbx1.ami, port: 70000 } }), /ASTERISK_SERVERS\[0\]\.ami\.port must be <= 65535/],
    ['no ari', pool(pbx1, { name: 'pbx2', ami: pbx2.ami }), /ASTERISK_SERVERS\[1\]\.ari is required/],
    ['no name', pool({ ami: pbx1.ami, ari: pbx1.ari }), /ASTERISK_SERVERS\[0\]\.name is required/],
    ['a bad name', pool({ ...pbx1, name: 'PBX:1' }), /ASTERISK_SERVERS\[0\]\.name must be a lowercase letter, then up to 31/],
    ['a name twice', pool(pbx1, pbx2, { ...pbx1, name: 'pbx2' }), /ASTERISK_SERVERS\[2\]\.name "pbx2" is already the name of ASTERISK_SERVERS\[1\]/],
    ['a bad ari url', pool({ ...pbx1, ari: { ...pbx1.ari, url: '10.0.0.1:8088' } }), /ASTERISK_SERVERS\[0\]\.ari\.url must be an http:\/\/ or https:\/\/ URL/],
    ['a misspelt field', pool({ ...pbx1, transfer_context: 'agents' }), /ASTERISK_SERVERS\[0\]\.transfer_context is not a field of a server \(name, ami, ari, transferContext\)/],
    ['a bad transferContext', pool({ ...pbx1, transferContext: 'a b' }), /ASTERISK_SERVERS\[0\]\.transferContext must match pattern/],
    ['a bad TRANSFER_CONTEXT beside it', { ...pool(pbx1), TRANSFER_CONTEXT: 'a,b' }, /TRANSFER_CONTEXT must match pattern/]
  ]
  for (const [scenario, env, expected] of cases) {
    const message = configError(t, env)
    t.match(message, expected, scenario)
    t.notMatch(message, /\n/, `${scenario}: one line`)
  }
  const both = configError(t, pool({ ...pbx1, ami: { ...pbx1.ami, port: 0 } }, { ...pbx2, ari: { ...pbx2.ari, username: '' } }))
  t.match(both, /ASTERISK_SERVERS\[0\]\.ami\.port .*; ASTERISK_SERVERS\[1\]\.ari\.username /, 'every problem, not the first only')
})

t.test('check: every server, or the one --server names', async (t) => {
  const servers = readPool(pool(pbx1, pbx2))
  t.same(serversToCheck(servers, undefined).map((server) => server.name), ['pbx1', 'pbx2'])
  t.same(serversToCheck(servers, 'pbx2').map((server) => server.name), ['pbx2'])
  t.throws(() => serversToCheck(servers, 'pbx3'), { name: 'UsageError', message: '--server pbx3: no such server (pbx1, pbx2)' })
})

t.test('transfer: the only server, or the one --server names; with several, --server is required', async (t) => {
  t.equal(serverForTransfer(readPool(complete), undefined).name, 'default')
  t.equal(serverForTransfer(readPool(complete), 'default').name, 'default')
  const servers = readPool(pool(pbx1, pbx2))
  t.equal(serverForTransfer(servers, 'pbx2').ami.host, '10.0.0.2')
  t.throws(() => serverForTransfer(servers, undefined), { name: 'UsageError', message: 'ASTERISK_SERVERS names 2 servers (pbx1, pbx2): --server <name> says which one --from\'s call is on', hint: /transfer --help/ })
  t.throws(() => serverForTransfer(servers, 'paris'), { name: 'UsageError', message: /no such server \(pbx1, pbx2\)/ })
  t.throws(() => serverForTransfer(readPool(pool(pbx1)), 'pbx2'), { name: 'UsageError' }, 'a pool of one is no excuse for a wrong name')
})
