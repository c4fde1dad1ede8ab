// Whether the real-Asterisk test bed is ready for a test: what startTestBed waits for and what the
// check before each test file (testbed-health.ts) looks at. Kept apart from the processes' start and
// stop, so that the check before each file loads only this and what the tests load anyway.
import { AmiConnection } from './ami.js'
import { listEndpoints } from './ari.js'
import { farm, offlineAgent, pbx, registeredExtensions } from './testbed.js'
import type { InstanceSettings } from './testbed.js'

/** What the readiness check saw: each instance's AMI, the PBX's ARI and which agents are online in it. */
export interface ReadyState { pbxAmi: boolean, farmAmi: boolean, ari: boolean, online: string[], problem: string }

/** True when the instance's AMI accepts a login and answers a Ping. */
export async function amiAnswers (instance: InstanceSettings): Promise<boolean> {
  let ami: AmiConnection | undefined
  try {
    ami = await AmiConnection.connect(instance.ami, { timeoutMs: 2000 })
    await ami.action({ Action: 'Ping' }, 2000)
    return true
  } catch {
    return false
  } finally {
    ami?.close()
  }
}

/** One look at the test bed through its AMIs and the PBX's ARI (tens of ms when all is well). */
export async function readyState (): Promise<ReadyState> {
  const state: ReadyState = { pbxAmi: false, farmAmi: false, ari: false, online: [], problem: '' }
  state.pbxAmi = await amiAnswers(pbx)
  state.farmAmi = await amiAnswers(farm)
  try {
    const endpoints = await listEndpoints()
    state.ari = true
    state.online = endpoints.filter((e) => e.state === 'online').map((e) => e.resource).sort()
  } catch (err) {
    state.problem = err instanceof Error ? err.message : String(err)
  }
  return state
}

/** Ready: both AMIs and ARI answer, every registered extension is online and the offline agent is not. */
export function isReady (s: ReadyState): boolean {
  return s.pbxAmi && s.farmAmi && s.ari && registeredExtensions.every((a) => s.online.includes(a)) && !s.online.includes(offlineAgent)
}

export function describeReadyState (s: ReadyState): string {
  const missing = registeredExtensions.filter((a) => !s.online.includes(a))
  return [
    `PBX AMI ${pbx.ami.host}:${pbx.ami.port}: ${s.pbxAmi ? 'ok' : 'NOT answering'}`,
    `farm AMI ${farm.ami.host}:${farm.ami.port}: ${s.farmAmi ? 'ok' : 'NOT answering'}`,
    `PBX ARI ${pbx.ari.url}: ${s.ari ? 'ok' : `NOT answering${s.problem !== '' ? ` (${s.problem})` : ''}`}`,
    `agents online: [${s.online.join(', ')}]${missing.length > 0 ? `, not online: [${missing.join(', ')}]` : ''}`
  ].join('\n  ')
}
