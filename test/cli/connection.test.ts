// What the tool says when it cannot connect: refused credentials and an unreachable Asterisk apart.
// The errors are the plugin's adapters' own, with the messages they carry (see ami-client.ts, ari-client.ts).
import t from 'tap'
import { AmiLoginError, AsteriskTimeoutError, AsteriskUnavailableError } from '../../src/errors.js'
import { describeAmiFailure, describeAriFailure } from '../../src/cli/connection.js'

const ami = { host: '127.0.0.1', port: 15038, username: 'transfer', password: 'x' }
const ari = { url: 'http://127.0.0.1:18088', username: 'transfer', password: 'x' }

t.test('AMI: refused credentials', async (t) => {
  t.same(describeAmiFailure(new AmiLoginError('Authentication failed'), ami), {
    message: 'AMI login refused for user "transfer" at 127.0.0.1:15038: Authentication failed',
    hint: 'check AMI_USERNAME and AMI_PASSWORD against manager.conf [transfer] (its secret, and permit/deny for this host)'
  })
})

t.test('AMI: unreachable', async (t) => {
  const error = new AsteriskUnavailableError('cannot reach AMI at 127.0.0.1:15038 (connect ECONNREFUSED 127.0.0.1:15038)')
  t.same(describeAmiFailure(error, ami), {
    message: 'cannot reach AMI at 127.0.0.1:15038 (connect ECONNREFUSED 127.0.0.1:15038)',
    hint: 'is Asterisk running, with manager.conf [general] enabled = yes and a port/bindaddr matching AMI_HOST and AMI_PORT?'
  })
})

t.test('AMI: no answer to the login', async (t) => {
  t.match(describeAmiFailure(new AsteriskTimeoutError('AMI login', 5000), ami), { message: 'AMI at 127.0.0.1:15038 did not answer the login in time', hint: /AMI_PORT/ })
})

t.test('ARI: refused credentials (ari-client reports the HTTP status of the API docs request)', async (t) => {
  const error = new AsteriskUnavailableError('cannot reach ARI at http://127.0.0.1:18088: 401 : undefined http://127.0.0.1:18088/ari/api-docs/resources.json')
  t.same(describeAriFailure(error, ari), {
    message: 'ARI refused the credentials of user "transfer" at http://127.0.0.1:18088',
    hint: 'check ARI_USERNAME and ARI_PASSWORD against ari.conf [transfer] (type = user, password)'
  })
})

t.test('ARI: unreachable', async (t) => {
  const error = new AsteriskUnavailableError('cannot reach ARI at http://127.0.0.1:18999: connect ECONNREFUSED 127.0.0.1:18999')
  t.same(describeAriFailure(error, ari), {
    message: 'cannot reach ARI at http://127.0.0.1:18088 (connect ECONNREFUSED 127.0.0.1:18999)',
    hint: 'is Asterisk running, with http.conf enabled = yes and a bindaddr/bindport matching ARI_URL?'
  })
})

t.test('ARI: no answer, or something else (a path in ARI_URL, ARI disabled)', async (t) => {
  t.match(describeAriFailure(new AsteriskTimeoutError('ARI connect', 5000), ari), { message: /did not answer in time/, hint: /http\.conf/ })
  const notFound = new AsteriskUnavailableError('cannot reach ARI at http://127.0.0.1:18088/ari: 404 : undefined http://127.0.0.1:18088/ari/ari/api-docs/resources.json')
  t.match(describeAriFailure(notFound, ari), { message: /failed: 404/, hint: /without a path/ })
})
