import t from 'tap'
import { AgentDirectory } from '../../src/agents/agent-directory.js'
import { FakePbx } from '../helpers/fake-pbx.js'

const endpoint = (resource: string) => ({ technology: 'PJSIP', resource, state: 'online', channelIds: [] })

t.test('Asterisk\'s endpoints as the directory: listed once, not per lookup; again after a reload or a reconnect', async (t) => {
  const pbx = new FakePbx()
  pbx.endpointList = [endpoint('101'), endpoint('102'), { ...endpoint('trunk'), technology: 'IAX2' }]
  const directory = new AgentDirectory(undefined, pbx, 'PJSIP')
  for (let i = 0; i < 5; i++) t.same(await directory.find('102'), { extension: '102' })
  t.equal(await directory.find('trunk'), undefined, 'another technology is no agent')
  t.equal(pbx.count('endpoints'), 1, 'one listing for every lookup')
  pbx.endpointList = [...pbx.endpointList, endpoint('103')]
  pbx.emit({ type: 'reload', module: 'res_pjsip.so' })
  t.same(await directory.find('103'), { extension: '103' }, 'a reload brings new endpoints')
  t.equal(pbx.count('endpoints'), 2)
  pbx.events.emit('connection', { ami: false, ari: true })
  await directory.list()
  t.equal(pbx.count('endpoints'), 3, 'a reconnect too')
})

t.test('a lookup that misses lists the endpoints again, at most every 2 s', async (t) => {
  const pbx = new FakePbx()
  pbx.endpointList = [endpoint('101')]
  const directory = new AgentDirectory(undefined, pbx, 'PJSIP')
  t.equal(await directory.find('999'), undefined)
  t.equal(await directory.find('999'), undefined)
  t.equal(pbx.count('endpoints'), 1, 'misses right after a listing do not list again')
})

t.test('a host-provided list is the directory as it is', async (t) => {
  const pbx = new FakePbx()
  const directory = new AgentDirectory([{ extension: '101', name: 'Ana' }], pbx, 'PJSIP')
  t.same(await directory.find('101'), { extension: '101', name: 'Ana' })
  t.equal(await directory.find('102'), undefined)
  t.equal(pbx.count('endpoints'), 0)
})
