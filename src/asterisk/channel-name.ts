/**
 * Channel names carry who a channel belongs to: `PJSIP/101-0000002a` is a call leg of endpoint 101;
 * `Local/103@from-internal-00000007;1` and `...;2` are the two halves of one Local channel, which
 * Asterisk uses to dial through the dialplan (attended transfers, queues). Pure parsing, no I/O.
 */
export interface ChannelName {
  technology: string
  /** The endpoint (`101`) or, for Local channels, `exten@context`. */
  resource: string
  /** Which half of a Local channel this is. */
  localHalf?: 1 | 2
}

const CHANNEL = /^([A-Za-z0-9_]+)\/(.+)-([0-9a-f]+)(?:;([12]))?$/i

export function parseChannelName (name: string): ChannelName | undefined {
  const match = CHANNEL.exec(name)
  if (match === null) return undefined
  const [, technology, resource, , half] = match as unknown as [string, string, string, string, string | undefined]
  const parsed: ChannelName = { technology, resource }
  if (half !== undefined) parsed.localHalf = half === '1' ? 1 : 2
  return parsed
}

/** True when `name` is a call leg of `technology/endpoint` (technology compared case-insensitively). */
export function isChannelOf (name: string, technology: string, endpoint: string): boolean {
  const parsed = parseChannelName(name)
  return parsed !== undefined &&
    parsed.localHalf === undefined &&
    parsed.technology.toLowerCase() === technology.toLowerCase() &&
    parsed.resource === endpoint
}

/** The name of the other half of a Local channel (`;1` <-> `;2`), or undefined for other channels. */
export function localCounterpart (name: string): string | undefined {
  if (!/^Local\//i.test(name)) return undefined
  if (name.endsWith(';1')) return `${name.slice(0, -1)}2`
  if (name.endsWith(';2')) return `${name.slice(0, -1)}1`
  return undefined
}

/** For a Local channel dialing `exten@context`, whether it targets that extension. */
export function isLocalTo (name: string, exten: string, context: string): boolean {
  const parsed = parseChannelName(name)
  return parsed?.localHalf !== undefined && parsed.resource === `${exten}@${context}`
}

/**
 * The agent extension a channel or device belongs to, for the agents' technology: `PJSIP/101-0000002a`
 * (a channel) or `PJSIP/101` (a device) -> `101`. Local halves, `Queue:sales`, other technologies ->
 * undefined. The one place that reads an extension out of a name: the call monitor, the agent states,
 * the transfers and the phone-transfer detector all ask here.
 */
export function extensionOf (name: string, technology: string, kind: 'channel' | 'device' = 'channel'): string | undefined {
  if (kind === 'device') {
    const slash = name.indexOf('/')
    if (slash === -1 || name.slice(0, slash).toLowerCase() !== technology.toLowerCase()) return undefined
    const extension = name.slice(slash + 1)
    return extension === '' || extension.includes('/') ? undefined : extension
  }
  const parsed = parseChannelName(name)
  if (parsed === undefined || parsed.localHalf !== undefined) return undefined
  return parsed.technology.toLowerCase() === technology.toLowerCase() ? parsed.resource : undefined
}
