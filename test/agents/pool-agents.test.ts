// The agents of a pool of Asterisk servers: each with its server, duplicates said and refused.
import t from 'tap'
import { agentsOfServer } from '../../src/agents/agent-directory.js'
import type { AgentEntry } from '../../src/agents/available-agents.js'
import { PoolAgents, presenceAcross, type ServerAgents, type ServerPresence } from '../../src/agents/pool-agents.js'

function server (name: string, entries: AgentEntry[]): ServerAgents {
  return {
    server: name,
    all: async () => entries,
    find: async (extension) => entries.find((entry) => entry.extension === extension)
  }
}

function logger (): { errors: unknown[], log: { debug: () => void, info: () => void, warn: () => void, error: (obj: object) => void } } {
  const errors: unknown[] = []
  return { errors, log: { debug () {}, info () {}, warn () {}, error (obj) { errors.push(obj) } } }
}

const a = server('a', [{ extension: '101', state: 'available' }, { extension: '102', state: 'on_call', reason: 'on a call' }])
const b = server('b', [{ extension: '401', state: 'available', name: 'Berta' }, { extension: '10', state: 'available' }])

t.test('every server\'s agents, each named with its server, sorted by extension', async (t) => {
  const pool = new PoolAgents([a, b], logger().log)
  t.same(await pool.all(), [
    { extension: '10', state: 'available', server: 'b' },
    { extension: '101', state: 'available', server: 'a' },
    { extension: '102', state: 'on_call', reason: 'on a call', server: 'a' },
    { extension: '401', state: 'available', name: 'Berta', server: 'b' }
  ])
  t.same(await pool.available('101'), [
    { extension: '10', server: 'b', state: 'available' },
    { extension: '401', server: 'b', name: 'Berta', state: 'available' }
  ], 'available ones of both servers, minus the caller')
  t.same(await pool.find('401'), { extension: '401', state: 'available', name: 'Berta', server: 'b' })
  t.equal(await pool.serverOf('101'), 'a')
  t.equal(await pool.serverOf('999'), undefined)
})

t.test('an extension on two servers: listed as offline with the reason, said once in the log, refused as a target', async (t) => {
  const { errors, log } = logger()
  const pool = new PoolAgents([a, server('b', [{ extension: '101', state: 'available' }])], log)
  const twice = (await pool.all()).filter((entry) => entry.extension === '101')
  t.same(twice.map((entry) => [entry.server, entry.state, entry.reason]), [
    ['a', 'offline', 'configured on several servers (a, b)'],
    ['b', 'offline', 'configured on several servers (a, b)']
  ])
  t.same((await pool.available()).map((agent) => agent.extension), [], 'neither is offered')
  await t.rejects(pool.find('101'), { code: 'XFER_AMBIGUOUS_AGENT', statusCode: 409 })
  t.equal(await pool.serverOf('101'), undefined, 'no server is picked for it')
  await pool.all()
  t.equal(errors.length, 1, 'said once')
})

t.test('a server that cannot be asked: the other servers\' agents are still listed and offered; none answering is the first server\'s error', async (t) => {
  const down = (name: string, message: string): ServerAgents => ({
    server: name,
    all: async () => { throw new Error(message) },
    find: async () => { throw new Error(message) }
  })
  const pool = new PoolAgents([a, down('b', 'ARI is not connected')], logger().log)
  t.same((await pool.all()).map((entry) => [entry.extension, entry.server]), [['101', 'a'], ['102', 'a']], 'the agents of the server up')
  t.same((await pool.available('102')).map((agent) => agent.extension), ['101'], 'and offered')
  const none = new PoolAgents([down('a', 'first down'), down('b', 'second down')], logger().log)
  await t.rejects(none.all(), { message: 'first down' }, 'nothing to list: the first server\'s error, as with one server')
})

t.test('the host\'s agent list in a pool: each server takes the agents that name it; those naming none go to the first', async (t) => {
  const list = [{ extension: '101', server: 'a' }, { extension: '401', server: 'b' }, { extension: '102' }]
  t.same(agentsOfServer(list, 'a', true), [{ extension: '101', server: 'a' }, { extension: '102' }])
  t.same(agentsOfServer(list, 'b', false), [{ extension: '401', server: 'b' }])
  const fromHost = agentsOfServer(async () => list, 'b', false)
  t.same(typeof fromHost === 'function' ? await fromHost() : fromHost, [{ extension: '401', server: 'b' }], 'a function is narrowed too')
  t.equal(agentsOfServer(undefined, 'a', true), undefined, 'no list: the server\'s endpoints')
})

t.test('a server that cannot be asked does not stop the others: found elsewhere it is found; found nowhere it is refused naming that server', async (t) => {
  const pool = new PoolAgents([
    { server: 'a', all: async () => [], find: async (extension) => extension === '101' ? { extension } : undefined },
    { server: 'b', all: async () => [], find: async () => { throw new Error('ARI is not connected') } }
  ], logger().log)
  t.same(await pool.find('101'), { extension: '101', server: 'a' })
  await t.rejects(pool.find('401'), { code: 'XFER_ASTERISK_UNAVAILABLE', statusCode: 503, message: /server b/ })
  t.equal(await pool.serverOf('401'), undefined)
})

interface Status { state: string, reason?: string }

t.test('an agent\'s state comes from its own server, not from one that does not know it', async (t) => {
  const unknown: ServerPresence<Status> = { follows: false, status: { state: 'offline', reason: 'unknown to Asterisk' } }
  // Found on the real two-server bed: the first server's "unknown to Asterisk" was given for 305,
  // offline on the second ("not registered").
  t.same(presenceAcross([unknown, { follows: true, status: { state: 'offline', reason: 'not registered' } }]), { state: 'offline', reason: 'not registered' })
  t.same(presenceAcross<Status>([{ follows: false, status: { state: 'available' } }, { follows: true, status: { state: 'on_call', reason: 'on a call' } }]),
    { state: 'on_call', reason: 'on a call' }, 'busy on its own server, whatever another says')
  t.same(presenceAcross<Status>([{ follows: true, status: { state: 'available' } }, unknown]), { state: 'available' })
})

t.test('an extension no server follows, or several do: the first state not offline, else the first', async (t) => {
  t.same(presenceAcross<Status>([{ follows: false, status: { state: 'offline', reason: 'x' } }, { follows: false, status: { state: 'available' } }]), { state: 'available' }, 'an endpoint added since the last build')
  t.same(presenceAcross([{ follows: false, status: { state: 'offline', reason: 'x' } }, { follows: false, status: { state: 'offline', reason: 'y' } }]), { state: 'offline', reason: 'x' })
  t.same(presenceAcross<Status>([{ follows: true, status: { state: 'offline', reason: 'not registered' } }, { follows: true, status: { state: 'available' } }]), { state: 'available' })
  t.equal(presenceAcross([]), undefined, 'no server built yet')
})
