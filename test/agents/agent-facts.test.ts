import t from 'tap'
import { AgentFactsStore } from '../../src/agents/agent-facts.js'

t.test('an endpoint known only by its calls leaves no entry once its last call ended', async (t) => {
  const store = new AgentFactsStore('PJSIP')
  for (let i = 0; i < 100; i++) store.setCalls(`customer${i}`, ['up'])
  t.equal(store.size, 100)
  for (let i = 0; i < 100; i++) store.setCalls(`customer${i}`, [])
  t.equal(store.size, 0)
  t.same(store.factsOf('customer1'), { calls: [], pauses: [] })
})

t.test('an agent Asterisk told about keeps its facts when its calls end', async (t) => {
  const store = new AgentFactsStore('PJSIP')
  store.apply({ type: 'peerStatus', peer: 'PJSIP/101', registered: true })
  store.setCalls('101', ['up'])
  store.setCalls('101', [])
  t.equal(store.size, 1)
  t.same(store.factsOf('101'), { registration: 'online', calls: [], pauses: [] })
})

t.test('no call for an unknown endpoint makes no entry', async (t) => {
  const store = new AgentFactsStore('PJSIP')
  store.setCalls('999', [])
  t.equal(store.size, 0)
})
