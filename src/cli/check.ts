/**
 * `check`: is each Asterisk of the pool ready for transfers? Each question is answered on one line, by asking
 * Asterisk itself through the plugin's adapters: can we log in (AMI) and connect (ARI), may this AMI
 * user send the actions transfers need, is the atxfer feature code set, does the transfer context
 * exist, which extensions are registered. Exit status 1 when something transfers need is missing.
 */
import type { AmiClient } from '../asterisk/ami-client.js'
import type { PbxEndpoint } from '../asterisk/ari-client.js'
import type { Status } from './output.js'
import { extensionList, statusLines, type Printer } from './output.js'
import { describeAmiFailure, describeAriFailure, openConnection, type AsteriskConnection } from './connection.js'
import type { ConnectionSettings } from './environment.js'
import { settingNames, type SettingNames } from './setting-names.js'
import { allowedActions, permissionReport, writeClassesFor, type PermissionReport } from './permissions.js'
import { usableDigits } from '../transfers/consultation-controls.js'
import { DEFAULT_RECALL_CONTEXT, RECALL_STEPS } from '../transfers/recall-dialplan.js'

export interface CheckLine {
  status: Status
  label: string
  detail: string
  hint?: string
}

const ACTION_TIMEOUT_MS = 5000

function line (status: Status, label: string, detail: string, hint?: string): CheckLine {
  return hint === undefined ? { status, label, detail } : { status, label, detail, hint }
}

function names (actions: PermissionReport['allowed']): string {
  return actions.map((action) => action.action).join(', ')
}

export function permissionLines (report: PermissionReport, username: string): CheckLine[] {
  const lines: CheckLine[] = []
  if (report.missing.length === 0) {
    lines.push(line('ok', 'AMI permissions', `${names(report.allowed.filter((action) => action.usedFor !== undefined))} allowed`))
  } else {
    const what = report.missing.map((action) => `${action.action} (${action.usedFor ?? ''})`).join(', ')
    lines.push(line('fail', 'AMI permissions', `user "${username}" may not send ${what}`,
      `add ${writeClassesFor(report.missing).join(',')} to "write" (and call to "read") in manager.conf [${username}]`))
  }
  if (report.missingForFeatures.length > 0) {
    const lost = report.missingForFeatures.map((action) => `${action.action} (${action.feature ?? ''})`).join(', ')
    lines.push(line('warn', 'AMI permissions (features)', `user "${username}" may not send ${lost}: transfers work without them`,
      `add ${writeClassesFor(report.missingForFeatures).join(',')} to "write" in manager.conf [${username}] for them`))
  }
  if (report.missingOptional.length > 0) {
    lines.push(line('warn', 'AMI permissions (not used by the plugin)', `${names(report.missingOptional)} not allowed`,
      report.missingOptional.map((action) => `${action.action} needs write = ${action.grantedBy.join(' or ')}`).join('; ')))
  }
  return lines
}

/**
 * Transfer recall needs the plugin's own dialplan, which it adds over AMI (DialplanExtensionAdd,
 * write `system`). Without it blind transfers still work, but an unanswered one drops the customer.
 */
export function recallLine (mayAddDialplan: boolean, installed: boolean, context = DEFAULT_RECALL_CONTEXT): CheckLine {
  if (!mayAddDialplan) {
    return line('warn', 'transfer recall', 'not possible: this AMI user may not send DialplanExtensionAdd, so an unanswered blind transfer drops the customer',
      'add system to "write" in manager.conf, or set the plugin option recall: false to say so')
  }
  return line('ok', 'transfer recall', installed
    ? `DialplanExtensionAdd allowed; the recall dialplan (${context}) is in Asterisk`
    : `DialplanExtensionAdd allowed; the plugin adds its recall dialplan (${context}) when it starts`)
}

/** FEATUREMAP(atxfer) is empty by default, and AMI Atxfer then silently does nothing. */
export function atxferLine (code: string): CheckLine {
  return code === ''
    ? line('fail', 'atxfer feature code', 'not set: attended transfers cannot start',
      'set it in features.conf [featuremap], e.g. atxfer => *2, then reload features (module reload features)')
    : line('ok', 'atxfer feature code', code)
}

/** The digits swap and three-way press for the agent (features.conf [general]); without them only those two fail. */
export function consultationControlsLine (swap: string, threeWay: string): CheckLine {
  const missing = [['atxferswap', swap, '*4'], ['atxferthreeway', threeWay, '*3']].filter(([, digits]) => usableDigits(digits ?? '') === undefined)
  if (missing.length === 0) return line('ok', 'swap and three-way digits', `atxferswap ${swap}, atxferthreeway ${threeWay}`)
  return line('warn', 'swap and three-way digits', `${missing.map(([option]) => option).join(' and ')} not usable: swap or three-way answer 409 XFER_FEATURE_NOT_CONFIGURED`,
    `set them in features.conf [general], e.g. ${missing.map(([option, , example]) => `${option ?? ''} => ${example ?? ''}`).join(', ')}, then reload features (module reload features)`)
}

/** `names`: where this server's context is set, when it was read from ASTERISK_SERVERS. */
export function contextLine (context: string, exists: boolean, names?: SettingNames): CheckLine {
  const where = names === undefined ? 'TRANSFER_CONTEXT (or the server\'s transferContext in ASTERISK_SERVERS)' : `${names.transferContext}${names.server}`
  return exists
    ? line('ok', 'transfer context', `${context} exists in the dialplan`)
    : line('fail', 'transfer context', `${context} does not exist in the dialplan`,
      `set ${where} to the context your agents' extensions are dialed in (extensions.conf)`)
}

/** Only endpoints of the technology transfers use are listed (trunks of another one are not agents). */
export function endpointLines (endpoints: readonly PbxEndpoint[], technology: string): CheckLine[] {
  const ours = endpoints.filter((endpoint) => endpoint.technology.toLowerCase() === technology.toLowerCase())
  const online = ours.filter((endpoint) => endpoint.state === 'online').map((endpoint) => endpoint.resource)
  const offline = ours.filter((endpoint) => endpoint.state !== 'online').map((endpoint) => endpoint.resource)
  const label = `extensions online (${technology})`
  const lines = [online.length > 0
    ? line('ok', label, extensionList(online))
    : line('warn', label, 'none', 'no phone is registered: transfers need a registered agent and target')]
  if (offline.length > 0) lines.push(line('info', `extensions offline (${technology})`, extensionList(offline)))
  return lines
}

/** A check that could not be answered (the action was refused or timed out): it fails, saying why. */
function unanswered (label: string, error: unknown): CheckLine {
  return line('fail', label, `could not check: ${(error as Error).message}`, 'see the AMI permissions line')
}

async function getvar (ami: AmiClient, variable: string): Promise<string> {
  const response = await ami.action({ Action: 'Getvar', Variable: variable })
  return typeof response.value === 'string' ? response.value : ''
}

async function amiLines (connection: AsteriskConnection, settings: ConnectionSettings): Promise<CheckLine[]> {
  const { ami } = connection
  const where = `${settings.ami.username}@${settings.ami.host}:${settings.ami.port}`
  try {
    await connection.amiReady
  } catch (error) {
    const { message, hint } = describeAmiFailure(error, settings.ami, settingNames(settings))
    // The message names AMI and says what failed (login refused, unreachable): no label needed.
    return [line('fail', '', message, hint),
      line('info', 'not checked', 'AMI permissions, the atxfer feature code and the transfer context need an AMI login')]
  }
  const lines = [line('ok', 'AMI login', where)]
  let allowed: Set<string> | undefined
  try {
    allowed = allowedActions(await ami.action({ Action: 'ListCommands' }))
    lines.push(...permissionLines(permissionReport(allowed), settings.ami.username))
  } catch (error) {
    lines.push(line('fail', 'AMI permissions', `could not list them: ${(error as Error).message}`))
  }
  // Getvar without a channel evaluates functions on a dummy channel: FEATUREMAP and DIALPLAN_EXISTS
  // both answer that way on Asterisk 22 (checked on 22.10).
  lines.push(await getvar(ami, 'FEATUREMAP(atxfer)').then(atxferLine, (error: unknown) => unanswered('atxfer feature code', error)))
  lines.push(await Promise.all([getvar(ami, 'FEATURE(atxferswap)'), getvar(ami, 'FEATURE(atxferthreeway)')])
    .then(([swap, threeWay]) => consultationControlsLine(swap, threeWay), (error: unknown) => unanswered('swap and three-way digits', error)))
  lines.push(await getvar(ami, `DIALPLAN_EXISTS(${settings.transferContext})`)
    .then((value) => contextLine(settings.transferContext, value === '1', settings.entry === undefined ? undefined : settingNames(settings)), (error: unknown) => unanswered('transfer context', error)))
  if (allowed !== undefined) {
    const installed = await getvar(ami, `DIALPLAN_EXISTS(${DEFAULT_RECALL_CONTEXT},${RECALL_STEPS.transfer},1)`).then((value) => value === '1', () => false)
    lines.push(recallLine(allowed.has('dialplanextensionadd'), installed))
  }
  return lines
}

async function ariLines (connection: AsteriskConnection, settings: ConnectionSettings): Promise<CheckLine[]> {
  try {
    await connection.ariReady
  } catch (error) {
    const { message, hint } = describeAriFailure(error, settings.ari, settingNames(settings))
    return [line('fail', '', message, hint), line('info', 'not checked', 'which extensions are online needs ARI')]
  }
  const lines = [line('ok', 'ARI', `${settings.ari.url} (user ${settings.ari.username})`)]
  try {
    lines.push(...endpointLines(await connection.pbx.endpoints(), settings.channelTechnology))
  } catch (error) {
    lines.push(line('fail', 'extensions', `could not list the endpoints: ${(error as Error).message}`))
  }
  return lines
}

/** Exit status: 0 when nothing transfers need is missing, 1 otherwise. */
export function exitStatus (lines: readonly CheckLine[]): number {
  return lines.some((entry) => entry.status === 'fail') ? 1 : 0
}

/** Every line of one server's check. */
async function serverLines (settings: ConnectionSettings): Promise<CheckLine[]> {
  const connection = openConnection(settings, ACTION_TIMEOUT_MS)
  try {
    const [ami, ari] = await Promise.all([amiLines(connection, settings), ariLines(connection, settings)])
    // Logins first, then what each one allowed to check.
    return [ami[0], ari[0], ...ami.slice(1), ...ari.slice(1)].filter((entry) => entry !== undefined)
  } finally {
    await connection.close()
  }
}

/** Which server the lines below are about, when the pool has several. */
export function serverHeading (settings: ConnectionSettings): string {
  return `server ${settings.name} (AMI ${settings.ami.host}:${settings.ami.port}, ARI ${settings.ari.url})`
}

/** The servers are checked together (a server down costs its timeouts once) and reported one after another. */
export async function runCheck (servers: readonly ConnectionSettings[], printer: Printer): Promise<number> {
  const [only] = servers
  printer.waiting(servers.length === 1 && only !== undefined
    ? `asking Asterisk (AMI ${only.ami.host}:${only.ami.port}, ARI ${only.ari.url})`
    : `asking ${servers.length} Asterisk servers (${servers.map((server) => server.name).join(', ')})`)
  try {
    const reports = await Promise.all(servers.map(serverLines))
    printer.done()
    reports.forEach((lines, index) => {
      const server = servers[index]
      if (servers.length > 1 && server !== undefined) printer.line(`${index === 0 ? '' : '\n'}${serverHeading(server)}`)
      for (const entry of lines) printer.lines(statusLines(entry.status, entry.label, entry.detail, printer.style, entry.hint))
    })
    return exitStatus(reports.flat())
  } finally {
    printer.done()
  }
}
