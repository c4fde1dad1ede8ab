// The tool's hints with ASTERISK_SERVERS: they name the server and its entry's fields, never the
// single server's AMI_* and ARI_* variables the operator did not set; with AMI_* and ARI_* they stay as
// they were.
import t from 'tap'
import { AmiLoginError, AsteriskTimeoutError, AsteriskUnavailableError } from '../../src/errors.js'
import { contextLine } from '../../src/cli/check.js'
import { describeAmiFailure, describeAriFailure } from '../../src/cli/connection.js'
import { readPool } from '../../src/cli/environment.js'
import { settingNames } from '../../src/cli/setting-names.js'
import { hintFor, type TransferCommand } from '../../src/cli/transfer.js'

const paris = {
  name: 'paris',
  ami: { host: '10.0.0.1', port: 5038, username: 'transfer', password: 'pw-one' },
  ari: { url: 'http://10.0.0.1:8088', username: 'transfer', password: 'pw-one' }
}
const lyon = {
  name: 'lyon',
  ami: { host: '10.0.0.2', port: 5038, username: 'xfer', password: 'pw-two' },
  ari: { url: 'http://10.0.0.2:8088', username: 'xfer', password: 'pw-two' },
  transferContext: 'agents'
}
const [first, second] = readPool({ ASTERISK_SERVERS: JSON.stringify([paris, lyon]) })
if (first === undefined || second === undefined) throw new Error('a pool of two expected')
const single = readPool({ AMI_HOST: 'pbx', AMI_USERNAME: 'transfer', AMI_PASSWORD: 'x', ARI_URL: 'http://pbx:8088', ARI_USERNAME: 'transfer', ARI_PASSWORD: 'x' })[0]
if (single === undefined) throw new Error('one server expected')

const command: TransferCommand = { name: 'transfer', kind: 'blind', from: '101', to: '999', after: 'leave', steps: [], timeoutMs: 30_000 }
const unreachableAmi = new AsteriskUnavailableError('cannot reach AMI at 10.0.0.2:5038 (connect ECONNREFUSED 10.0.0.2:5038)')
const refusedAri = new AsteriskUnavailableError('cannot reach ARI at http://10.0.0.2:8088: 401 : undefined http://10.0.0.2:8088/ari/api-docs/resources.json')

t.test('each server of ASTERISK_SERVERS remembers its entry, and whether it gives its own transferContext', async (t) => {
  t.match(first, { name: 'paris', entry: 0, ownContext: false })
  t.match(second, { name: 'lyon', entry: 1, ownContext: true })
  t.equal(single.entry, undefined, 'the single server of AMI_* and ARI_* has none')
})

t.test('AMI hints name the server\'s entry and the server, not AMI_*', async (t) => {
  const login = describeAmiFailure(new AmiLoginError('Authentication failed'), second.ami, settingNames(second))
  t.equal(login.hint, 'check ASTERISK_SERVERS[1].ami.username and ASTERISK_SERVERS[1].ami.password (server lyon) against manager.conf [xfer] (its secret, and permit/deny for this host)')
  t.match(describeAmiFailure(unreachableAmi, second.ami, settingNames(second)).hint, /matching ASTERISK_SERVERS\[1\]\.ami\.host and ASTERISK_SERVERS\[1\]\.ami\.port \(server lyon\)\?$/)
  t.match(describeAmiFailure(new AsteriskTimeoutError('AMI login', 5000), first.ami, settingNames(first)).hint, /^check that ASTERISK_SERVERS\[0\]\.ami\.host\/ASTERISK_SERVERS\[0\]\.ami\.port \(server paris\) point at/)
  for (const error of [new AmiLoginError('x'), unreachableAmi, new AsteriskTimeoutError('AMI login', 5000)]) {
    t.notMatch(describeAmiFailure(error, second.ami, settingNames(second)).hint, /AMI_/, 'no single-server variable')
  }
})

t.test('ARI hints likewise', async (t) => {
  t.equal(describeAriFailure(refusedAri, second.ari, settingNames(second)).hint, 'check ASTERISK_SERVERS[1].ari.username and ASTERISK_SERVERS[1].ari.password (server lyon) against ari.conf [xfer] (type = user, password)')
  const unreachable = new AsteriskUnavailableError('cannot reach ARI at http://10.0.0.2:8088: connect ECONNREFUSED 10.0.0.2:8088')
  t.match(describeAriFailure(unreachable, second.ari, settingNames(second)).hint, /matching ASTERISK_SERVERS\[1\]\.ari\.url \(server lyon\)\?$/)
  t.match(describeAriFailure(new AsteriskTimeoutError('ARI connect', 5000), first.ari, settingNames(first)).hint, /ASTERISK_SERVERS\[0\]\.ari\.url \(server paris\)/)
  t.match(describeAriFailure(new AsteriskUnavailableError('cannot reach ARI at http://10.0.0.2:8088: 404 : nope'), second.ari, settingNames(second)).hint, /ASTERISK_SERVERS\[1\]\.ari\.url \(server lyon\) is reachable/)
})

t.test('the transfer context: the entry\'s own, or TRANSFER_CONTEXT that applies to it', async (t) => {
  t.match(contextLine('agents', false, settingNames(second)).hint, /^set ASTERISK_SERVERS\[1\]\.transferContext \(server lyon\) to the context/)
  t.match(contextLine('from-internal', false, settingNames(first)).hint, /^set TRANSFER_CONTEXT \(or ASTERISK_SERVERS\[0\]\.transferContext for this server alone\) \(server paris\)/)
  t.match(hintFor('XFER_UNKNOWN_TARGET', command, second), /999 cannot be dialed in context agents: check the number, or ASTERISK_SERVERS\[1\]\.transferContext \(server lyon\)$/)
})

t.test('transfer hints send to the check of that server, and say which server\'s connection dropped', async (t) => {
  t.equal(hintFor('XFER_ASTERISK_UNAVAILABLE', command, second), 'the connection to Asterisk (server lyon) dropped: run fastify-asterisk-transfer check --server lyon')
  t.match(hintFor('XFER_NO_ACTIVE_CHANNEL', command, first), /^101 has no call to transfer; fastify-asterisk-transfer check --server paris lists/)
  t.match(hintFor('XFER_SOMETHING_NEW', command, second), /check --server lyon, and look/)
})

t.test('one server of AMI_* and ARI_*: the hints as before', async (t) => {
  t.match(describeAmiFailure(new AmiLoginError('x'), single.ami, settingNames(single)).hint, /^check AMI_USERNAME and AMI_PASSWORD against/)
  t.match(describeAriFailure(refusedAri, single.ari, settingNames(single)).hint, /^check ARI_USERNAME and ARI_PASSWORD against/)
  t.match(hintFor('XFER_UNKNOWN_TARGET', command, single), /check the number, or TRANSFER_CONTEXT$/)
  t.equal(hintFor('XFER_ASTERISK_UNAVAILABLE', command, single), 'the connection to Asterisk dropped: run fastify-asterisk-transfer check')
})
