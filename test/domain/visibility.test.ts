import t from 'tap'
import type { Identity } from '../../src/identity.js'
import { canSee } from '../../src/domain/visibility.js'

const agent101: Identity = { extension: '101', role: 'agent' }
const supervisor: Identity = { extension: '900', role: 'supervisor' }

t.test('an agent sees events for everyone and those that concern its extension', async (t) => {
  t.equal(canSee(agent101, 'everyone'), true)
  t.equal(canSee(agent101, { extensions: ['101'] }), true)
  t.equal(canSee(agent101, { extensions: ['102', '101'] }), true)
})

t.test('an agent does not see events of other agents', async (t) => {
  t.equal(canSee(agent101, { extensions: ['102'] }), false)
  t.equal(canSee(agent101, { extensions: [] }), false)
  t.equal(canSee(agent101, { extensions: ['1010', '10'] }), false, 'extensions match exactly, not by prefix')
})

t.test('a supervisor sees every event', async (t) => {
  t.equal(canSee(supervisor, 'everyone'), true)
  t.equal(canSee(supervisor, { extensions: ['102'] }), true)
  t.equal(canSee(supervisor, { extensions: [] }), true)
})
