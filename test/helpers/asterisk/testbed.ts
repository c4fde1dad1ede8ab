// Constants of the real-Asterisk test bed laid out by scripts/asterisk/provision.sh.
// Ports, users and dialplan names here must match scripts/asterisk/{pbx,pbx2,farm}/*.conf.
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface AmiSettings {
  readonly host: string
  readonly port: number
  readonly username: string
  readonly password: string
}

export interface AriSettings {
  /** Base URL without a path, e.g. http://127.0.0.1:18088 (REST is under /ari). */
  readonly url: string
  readonly username: string
  readonly password: string
}

export type InstanceName = 'pbx' | 'pbx2' | 'farm'

export interface InstanceSettings {
  /** Short name used for log files and messages. */
  readonly name: InstanceName
  readonly ami: AmiSettings
  readonly sipPort: number
  /** asterisk.conf of this instance, as a path inside the chroot. */
  readonly configFile: string
  /** astrundir of this instance (asterisk.ctl, asterisk.pid), inside the chroot. */
  readonly runDir: string
}

export interface PbxSettings extends InstanceSettings {
  readonly name: 'pbx' | 'pbx2'
  readonly ari: AriSettings
  /** The extensions the farm registers on this PBX (`online` in its ARI, and in no other's). */
  readonly registered: readonly string[]
  /** Configured on this PBX but never registered: `offline` in its ARI. */
  readonly offline: string
}

/** Repository root (this file is test/helpers/asterisk/testbed.ts). */
export const repoRoot: string = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

/** Root filesystem holding Asterisk; override with ASTERISK_ROOT (same variable as provision.sh). */
export const asteriskRoot: string = process.env.ASTERISK_ROOT !== undefined && process.env.ASTERISK_ROOT !== ''
  ? resolve(process.env.ASTERISK_ROOT)
  : join(repoRoot, '.asterisk', 'root')

/** Where the harness writes the instances' console output and provision.sh's output. */
export const logDir: string = join(repoRoot, '.asterisk', 'logs')

export const provisionScript: string = join(repoRoot, 'scripts', 'asterisk', 'provision.sh')

/** Agent extensions registered by the farm (PJSIP endpoints on the PBX, `online` in ARI). */
export const agents = ['101', '102', '103', '104', '105', '106'] as const
export type AgentExtension = typeof agents[number]

/** Registered like the agents, but its phone rings and is never answered (transfer recall). */
export const unansweringAgent = '201'

/** Registered like the agents, but its phone answers every call with busy (486). */
export const busyAgent = '202'

/** Every extension the farm registers: the agents and the two phones that never take a call. */
export const registeredExtensions = [...agents, unansweringAgent, busyAgent] as const

/** Configured on the PBX (endpoint, hint, dialplan) but never registered: `offline` in ARI. */
export const offlineAgent = '107'

/** The Asterisk the plugin under test talks to. */
export const pbx: PbxSettings = {
  name: 'pbx',
  ami: { host: '127.0.0.1', port: 15038, username: 'transfer', password: 'transfer-secret' },
  ari: { url: 'http://127.0.0.1:18088', username: 'transfer', password: 'transfer-secret' },
  sipPort: 15060,
  configFile: '/etc/asterisk/asterisk.conf',
  runDir: '/run/asterisk',
  registered: registeredExtensions,
  offline: offlineAgent
}

/** The second PBX's agents, registered by the farm on this server alone (the pool tests' other server). */
export const pbx2Agents = ['301', '302', '303', '304'] as const

/** On the second PBX: its phone rings and is never answered (recall across servers). */
export const pbx2UnansweringAgent = '391'

/** On the second PBX: its phone answers every call with busy. */
export const pbx2BusyAgent = '392'

/** Configured on the second PBX but never registered: `offline` in its ARI. */
export const pbx2OfflineAgent = '305'

/**
 * Configured on both PBXes (endpoint, hint, dialplan), a configuration error of the pool the plugin
 * must say and refuse; the farm registers it on the second PBX alone: online there, offline on the
 * first. Kept out of both PBXes' `registered`: no other test sees it among the agents it expects.
 */
export const duplicateExtension = '500'

/**
 * The second PBX, joined to the first by a PJSIP trunk both ways (issue 18's pool of servers). Each
 * knows only its own endpoints; each one's from-internal (the transfer context on both) reaches the
 * other's agents over the trunk: 3XX on the first PBX, 1XX and 2XX on the second. No systemname on
 * either, so their uniqueids collide as between real servers installed alike.
 */
export const pbx2: PbxSettings = {
  name: 'pbx2',
  ami: { host: '127.0.0.1', port: 15138, username: 'transfer', password: 'transfer-secret' },
  ari: { url: 'http://127.0.0.1:18188', username: 'transfer', password: 'transfer-secret' },
  sipPort: 15160,
  configFile: '/etc/asterisk-pbx2/asterisk.conf',
  runDir: '/run/asterisk-pbx2',
  registered: [...pbx2Agents, pbx2UnansweringAgent, pbx2BusyAgent],
  offline: pbx2OfflineAgent
}

/** Both PBXes, in the order they are started and checked. */
export const pbxes: readonly PbxSettings[] = [pbx, pbx2]

/**
 * The PJSIP trunk between the two PBXes: on each, the endpoint named after the other server (so a
 * trunk channel is PJSIP/pbx2-… on the first PBX and PJSIP/pbx1-… on the second, whichever way the
 * call goes) and the context its incoming calls land in: just the server's own agents.
 */
export const trunks = {
  pbx: { endpoint: 'pbx2', inboundContext: 'from-pbx2' },
  pbx2: { endpoint: 'pbx1', inboundContext: 'from-pbx1' }
} as const

/**
 * Customers calling into the second PBX: the farm's endpoint to originate through
 * (Channel=PJSIP/<exten>@pbx2-customerN) and the name the second PBX knows them by (PJSIP/customerN-…).
 */
export const pbx2Customers = ['customer1', 'customer2'] as const
export const pbx2CustomerEndpoint = (customer: string): string => `pbx2-${customer}`

/** The phone farm: registers both PBXes' agents, auto-answers them, places customer calls. No HTTP/ARI. */
export const farm: InstanceSettings = {
  name: 'farm',
  ami: { host: '127.0.0.1', port: 15039, username: 'transfer', password: 'transfer-secret' },
  sipPort: 15070,
  configFile: '/etc/asterisk-farm/asterisk.conf',
  runDir: '/run/asterisk-farm'
}

/** Customer endpoints: calls from the farm arrive on the PBX as PJSIP/<customer>-xxxxxxxx. */
export const customers = ['customer1', 'customer2', 'customer3', 'customer4'] as const
export type CustomerName = typeof customers[number]

/** Context the agents' calls run in and where transfer targets are dialed (on both PBXes). */
export const transferContext = 'from-internal'

/** Context of the customer endpoints on the PBX. */
export const customerContext = 'from-customers'

/** An extension that does not exist in transferContext (there is no catch-all pattern). */
export const missingExtension = '999'

/** Queue "sales" (ring-all, static members 104 and 105), dialed as `sales` or 600 in transferContext. */
export const salesQueue = {
  name: 'sales',
  exten: 'sales',
  altExten: '600',
  members: ['104', '105']
} as const

export const testbed = {
  repoRoot,
  asteriskRoot,
  logDir,
  pbx,
  pbx2,
  farm,
  agents,
  offlineAgent,
  unansweringAgent,
  busyAgent,
  customers,
  transferContext,
  customerContext,
  missingExtension,
  salesQueue,
  pbx2Agents,
  trunks
} as const

/** The environment variables (as the example app and the command-line tool read them) of the test bed's PBX. */
export function testbedEnvironment (): Record<string, string> {
  return {
    AMI_HOST: pbx.ami.host,
    AMI_PORT: String(pbx.ami.port),
    AMI_USERNAME: pbx.ami.username,
    AMI_PASSWORD: pbx.ami.password,
    ARI_URL: pbx.ari.url,
    ARI_USERNAME: pbx.ari.username,
    ARI_PASSWORD: pbx.ari.password,
    TRANSFER_CONTEXT: transferContext
  }
}
