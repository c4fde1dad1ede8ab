// An AsteriskPbx whose AMI is a logged-in AmiClient on a fresh FakeAmiServer, and whose ARI is the
// given stand-in. Both are closed at the test's end.
import type { Test } from 'tap'
import { AmiClient } from '../../src/asterisk/ami-client.js'
import type { AriClient } from '../../src/asterisk/ari-client.js'
import { AsteriskPbx } from '../../src/asterisk/pbx.js'
import { FakeAmiServer } from './fake-ami-server.js'

export async function pbxOnFakeAmi (t: Test, ari: AriClient): Promise<{ server: FakeAmiServer, pbx: AsteriskPbx }> {
  const server = await FakeAmiServer.start()
  const ami = new AmiClient({
    host: '127.0.0.1',
    port: server.port,
    username: 'admin',
    password: 'secret',
    actionTimeoutMs: 500,
    reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
    pingIntervalMs: 0
  })
  const pbx = new AsteriskPbx(ami, ari)
  await ami.start()
  t.teardown(async () => {
    await ami.close()
    await server.close()
  })
  return { server, pbx }
}
