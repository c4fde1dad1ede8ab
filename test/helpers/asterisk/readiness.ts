// Whether the real-Asterisk test bed is ready for a test: what startTestBed waits for and what the
// check before each test file (testbed-health.ts) looks at. Kept apart from the processes' start and
// stop, so that the check before each file loads only this and what the tests load anyway.
import { AmiConnection } from './ami.js'
import { listEndpoints } from './ari.js'
import { farm, pbx, pbx2, pbxes } from './testbed.js'
import type { InstanceSettings, PbxSettings } from './testbed.js'

/** What one PBX showed: its AMI, its ARI and the extensions online in it. */
export interface PbxReadyState {
  ami: boolean
  ari: boolean
  online: string[]
  /** Why ARI did not answer. */
  problem: string
}

/** What the readiness check saw: each instance's AMI, each PBX's ARI and which extensions are online in it. */
export interface ReadyState {
  pbx: PbxReadyState
  pbx2: PbxReadyState
  farmAmi: boolean
}

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

async function pbxReadyState (server: PbxSettings): Promise<PbxReadyState> {
  const state: PbxReadyState = { ami: false, ari: false, online: [], problem: '' }
  const [ami] = await Promise.all([amiAnswers(server), (async () => {
    try {
      const endpoints = await listEndpoints('PJSIP', server.ari)
      state.ari = true
      state.online = endpoints.filter((e) => e.state === 'online').map((e) => e.resource).sort()
    } catch (err) {
      state.problem = err instanceof Error ? err.message : String(err)
    }
  })()])
  state.ami = ami
  return state
}

/** One look at the test bed through its AMIs and the PBXes' ARI, all at once (tens of ms when all is well). */
export async function readyState (): Promise<ReadyState> {
  const [first, second, farmAmi] = await Promise.all([pbxReadyState(pbx), pbxReadyState(pbx2), amiAnswers(farm)])
  return { pbx: first, pbx2: second, farmAmi }
}

/** The extensions registered on the other PBX that show up here: none, each server knows only its own. */
function strangers (server: PbxSettings, state: PbxReadyState): string[] {
  const others = pbxes.filter((other) => other.name !== server.name).flatMap((other) => other.registered)
  return state.online.filter((extension) => others.includes(extension))
}

function pbxIsReady (server: PbxSettings, s: PbxReadyState): boolean {
  return s.ami && s.ari && server.registered.every((a) => s.online.includes(a)) && !s.online.includes(server.offline) &&
    strangers(server, s).length === 0
}

/**
 * Ready: every AMI and ARI answers, and on each PBX its registered extensions are online, its offline
 * agent is not, and none of the other PBX's is.
 */
export function isReady (s: ReadyState): boolean {
  return s.farmAmi && pbxes.every((server) => pbxIsReady(server, s[server.name]))
}

export function describeReadyState (s: ReadyState): string {
  const lines = pbxes.flatMap((server) => {
    const state = s[server.name]
    const missing = server.registered.filter((a) => !state.online.includes(a))
    const foreign = strangers(server, state)
    return [
      `${server.name} AMI ${server.ami.host}:${server.ami.port}: ${state.ami ? 'ok' : 'NOT answering'}`,
      `${server.name} ARI ${server.ari.url}: ${state.ari ? 'ok' : `NOT answering${state.problem !== '' ? ` (${state.problem})` : ''}`}`,
      `${server.name} extensions online: [${state.online.join(', ')}]` +
        (missing.length > 0 ? `, not online: [${missing.join(', ')}]` : '') +
        (foreign.length > 0 ? `, the other PBX's: [${foreign.join(', ')}]` : '')
    ]
  })
  return [...lines, `farm AMI ${farm.ami.host}:${farm.ami.port}: ${s.farmAmi ? 'ok' : 'NOT answering'}`].join('\n  ')
}
