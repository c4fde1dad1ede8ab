/**
 * Which AMI actions transfers need, and which of them the logged-in user may not send. AMI has no
 * "what may I do" action, but `ListCommands` lists only the actions the user's `write` classes allow
 * (checked on Asterisk 22.10: a `write = call` user gets Redirect, Atxfer, CancelAtxfer, BlindTransfer,
 * Hangup and Getvar, not CoreShowChannels; a `write = system` user gets Hangup and CoreShowChannels;
 * actions without a class, like Ping, are listed for everyone). Pure: the response is passed in.
 *
 * Three kinds: what transfers cannot do without (`usedFor`: the check fails), what a feature needs
 * (`feature`: without it that feature alone is lost, a warning saying which), and what the plugin does
 * not send (a warning for the operator's information). DialplanExtensionAdd (recall) has a line of its
 * own. The classes are those Asterisk 22.10 lists with each action (`Priv:`).
 */
import type { AmiMessage } from '../asterisk/ami-client.js'

export interface TransferAction {
  action: string
  /** manager.conf `write` classes that allow it (from `Priv:` in ListCommands on Asterisk 22). */
  grantedBy: readonly string[]
  /** What the plugin uses it for; actions it does not send are reported but not required. */
  usedFor?: string
  /** Not required: the feature lost without it (the rest of the plugin works). */
  feature?: string
}

export const TRANSFER_ACTIONS: readonly TransferAction[] = [
  { action: 'Redirect', grantedBy: ['call'], usedFor: 'blind transfers' },
  { action: 'Atxfer', grantedBy: ['call'], usedFor: 'attended transfers' },
  { action: 'CancelAtxfer', grantedBy: ['call'], usedFor: 'cancelling attended transfers' },
  { action: 'Hangup', grantedBy: ['system', 'call'], usedFor: 'completing attended transfers' },
  { action: 'Getvar', grantedBy: ['call', 'reporting'], usedFor: 'checking targets in the dialplan' },
  { action: 'Setvar', grantedBy: ['call'], usedFor: 'the record an attended transfer leaves on the agent\'s channel, recall and queue priority' },
  { action: 'PlayDTMF', grantedBy: ['call'], feature: 'swap and three-way' },
  { action: 'DeviceStateList', grantedBy: ['call', 'reporting'], feature: 'targets\' presence (an offline target refused before dialing)' },
  { action: 'CoreStatus', grantedBy: ['system', 'reporting'], feature: 'telling an Asterisk restart from a lost connection' },
  { action: 'Filter', grantedBy: ['system'], feature: 'the AMI event filter (Asterisk sends the plugin every event)' },
  { action: 'QueueLog', grantedBy: ['agent'], feature: 'queue_log lines for transferred queue calls (queueLog)' },
  { action: 'MixMonitor', grantedBy: ['system'], feature: 'the recording that follows the customer (followRecordings)' },
  { action: 'BlindTransfer', grantedBy: ['call'] },
  { action: 'CoreShowChannels', grantedBy: ['system', 'reporting'] }
]

/** Headers of the response that are not action names. */
const NOT_ACTIONS = new Set(['response', 'actionid', 'message', 'eventlist'])

/** The actions a ListCommands response allows, lowercased (the AMI client lowercases header names). */
export function allowedActions (listCommands: AmiMessage): Set<string> {
  return new Set(Object.keys(listCommands).map((key) => key.toLowerCase()).filter((key) => !NOT_ACTIONS.has(key)))
}

export interface PermissionReport {
  /** Needed actions the user may not send: transfers fail without them. */
  missing: TransferAction[]
  /** Actions a feature needs that the user may not send: that feature is lost. */
  missingForFeatures: TransferAction[]
  /** Actions the plugin does not send today, not allowed to this user. */
  missingOptional: TransferAction[]
  allowed: TransferAction[]
}

export function permissionReport (allowed: ReadonlySet<string>, actions: readonly TransferAction[] = TRANSFER_ACTIONS): PermissionReport {
  const report: PermissionReport = { missing: [], missingForFeatures: [], missingOptional: [], allowed: [] }
  for (const action of actions) {
    if (allowed.has(action.action.toLowerCase())) report.allowed.push(action)
    else if (action.usedFor !== undefined) report.missing.push(action)
    else if (action.feature !== undefined) report.missingForFeatures.push(action)
    else report.missingOptional.push(action)
  }
  return report
}

/** Few `write` classes that allow every action listed (greedy: the class allowing most first), for a manager.conf hint. */
export function writeClassesFor (actions: readonly TransferAction[]): string[] {
  const classes: string[] = []
  let uncovered = [...actions]
  while (uncovered.length > 0) {
    const counts = new Map<string, number>()
    for (const action of uncovered) {
      for (const name of action.grantedBy) counts.set(name, (counts.get(name) ?? 0) + 1)
    }
    const [best] = [...counts.entries()].sort((a, b) => b[1] - a[1])
    if (best === undefined) break
    classes.push(best[0])
    uncovered = uncovered.filter((action) => !action.grantedBy.includes(best[0]))
  }
  return classes
}
