// Connection settings from the environment and an env file, with the example app's variable names.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { ConfigError, loadEnvironment, mergeEnvFile, readConnectionSettings } from '../../src/cli/environment.js'

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
    readConnectionSettings(env)
  } catch (error) {
    t.type(error, ConfigError)
    return (error as Error).message
  }
  t.fail('no ConfigError')
  return ''
}

t.test('the settings, with the example app\'s defaults (AMI_PORT 5038, TRANSFER_CONTEXT from-internal)', async (t) => {
  t.same(readConnectionSettings(complete), {
    ami: { host: '10.0.0.5', port: 5038, username: 'transfer', password: 'secret' },
    ari: { url: 'http://10.0.0.5:8088', username: 'ari', password: 'ari-secret' },
    transferContext: 'from-internal',
    channelTechnology: 'PJSIP'
  })
})

t.test('every variable is read; a trailing slash of ARI_URL is dropped', async (t) => {
  const settings = readConnectionSettings({ ...complete, AMI_PORT: '15038', ARI_URL: 'https://pbx.example:8089/', TRANSFER_CONTEXT: 'agents' })
  t.equal(settings.ami.port, 15038)
  t.equal(settings.ari.url, 'https://pbx.example:8089')
  t.equal(settings.transferContext, 'agents')
})

t.test('empty variables count as unset', async (t) => {
  t.equal(readConnectionSettings({ ...complete, AMI_PORT: '', TRANSFER_CONTEXT: '' }).ami.port, 5038)
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
