// The example app on the real Asterisk 22 test bed: AGENT_EXTENSIONS decides who counts as an agent.
// Without it the plugin takes every PJSIP endpoint, and the test bed's customer endpoints with them.
import t from 'tap'
import { buildApp } from '../../example-app/app.js'
import { readConfig } from '../../example-app/config.js'
import { agents, offlineAgent, testbedEnvironment } from '../helpers/asterisk/testbed.js'
import { supervisorToken, testBedConfig } from '../example-app/fixtures/config.js'

/** The extensions `GET /api/transfers/available-agents?all=true` lists for the supervisor. */
async function listedAgents (config: ReturnType<typeof testBedConfig>): Promise<string[]> {
  const app = await buildApp(config, { logger: false })
  try {
    const response = await app.inject({
      method: 'GET',
      url: '/api/transfers/available-agents?all=true',
      headers: { authorization: `Bearer ${supervisorToken}` }
    })
    if (response.statusCode !== 200) throw new Error(`available-agents answered ${response.statusCode}: ${response.body}`)
    return (response.json() as { agents: Array<{ extension: string }> }).agents.map((agent) => agent.extension).sort()
  } finally {
    await app.close()
  }
}

t.test('with AGENT_EXTENSIONS: exactly those agents, registered or not', async (t) => {
  t.same(await listedAgents(testBedConfig()), [...agents, offlineAgent].sort())
})

t.test('without it: every endpoint, the customers\' included', async (t) => {
  const listed = await listedAgents(readConfig({ ...testbedEnvironment(), AUTH_TOKENS: `${supervisorToken}:100:supervisor`, LOG_LEVEL: 'silent' }))
  t.ok(agents.every((extension) => listed.includes(extension)), listed.join(', '))
  t.ok(listed.includes('customer1'), 'customer1 is listed as an agent')
})
