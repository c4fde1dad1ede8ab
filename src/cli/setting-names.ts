/**
 * Where a server's settings come from, as the tool's hints name them: the single server's AMI_*, ARI_*
 * and TRANSFER_CONTEXT, or, in a pool, the server's entry of ASTERISK_SERVERS (`ASTERISK_SERVERS[1].ami.port`)
 * and its name. A hint that says "check AMI_PASSWORD" to someone who set ASTERISK_SERVERS sends them
 * to a variable they do not have. Pure.
 */

/** The fields of a server's entry a hint may point at. */
export type ServerField = 'ami.host' | 'ami.port' | 'ami.username' | 'ami.password' | 'ari.url' | 'ari.username' | 'ari.password'

/** Where the settings of one server were read. */
export interface SettingsSource {
  /** The server's name in the pool. */
  name: string
  /** Its index in ASTERISK_SERVERS; absent for the single server of AMI_* and ARI_*. */
  entry?: number
  /** Whether its entry gives its own transferContext (else TRANSFER_CONTEXT, or the default, applies). */
  ownContext?: boolean
}

export interface SettingNames {
  /** The variable, or the entry's field, holding a setting. */
  of: (field: ServerField) => string
  /** Where the server's transfer context is set. */
  transferContext: string
  /** ` (server lyon)` in a pool, to append to a hint; empty for the single server. */
  server: string
}

const SINGLE: Readonly<Record<ServerField, string>> = {
  'ami.host': 'AMI_HOST',
  'ami.port': 'AMI_PORT',
  'ami.username': 'AMI_USERNAME',
  'ami.password': 'AMI_PASSWORD',
  'ari.url': 'ARI_URL',
  'ari.username': 'ARI_USERNAME',
  'ari.password': 'ARI_PASSWORD'
}

/** Named here rather than imported: environment.ts reads the variable and imports this file. */
const SERVERS = 'ASTERISK_SERVERS'

export function settingNames (source: SettingsSource): SettingNames {
  const { entry } = source
  if (entry === undefined) return { of: (field) => SINGLE[field], transferContext: 'TRANSFER_CONTEXT', server: '' }
  const prefix = `${SERVERS}[${entry}]`
  return {
    of: (field) => `${prefix}.${field}`,
    transferContext: source.ownContext === true ? `${prefix}.transferContext` : `TRANSFER_CONTEXT (or ${prefix}.transferContext for this server alone)`,
    server: ` (server ${source.name})`
  }
}
