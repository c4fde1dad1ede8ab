/**
 * Which Asterisk server a call is on. Channel names and uniqueids are unique only within one Asterisk
 * (two servers give two different channels the same uniqueid), so whatever spans servers (the transfer
 * registry, the shared store's call locks, the mirror of other instances' transfers) keys a channel by
 * (server, channel). A plugin configured with one Asterisk is a pool of one, named `DEFAULT_SERVER`.
 */

export const DEFAULT_SERVER = 'default'

/** The key of a channel on a server, for maps and locks that span servers (server names hold no ':'). */
export function channelKey (server: string, channel: string): string {
  return `${server}:${channel}`
}
