/**
 * Maps raw AMI events (lowercased keys, as `asterisk-manager` parses them) to typed events for the layers
 * above, so nothing outside `asterisk/` reads AMI keys. Events the plugin does not use map to undefined.
 */
import type { AmiMessage } from './ami-client.js'

interface ChannelRef {
  channel: string
  uniqueId: string
  /** The id shared by every channel of one call (Asterisk's linkedid). */
  linkedId: string
}

export type PbxEvent =
  | ({ type: 'newChannel', exten: string, context: string, state: string } & ChannelRef)
  | ({ type: 'newState', state: string } & ChannelRef)
  | ({ type: 'hold' } & ChannelRef)
  | ({ type: 'unhold' } & ChannelRef)
  | ({ type: 'hangup', cause: string } & ChannelRef)
  | ({ type: 'dialBegin', destChannel: string, destUniqueId: string, destExten: string, dialString: string, channel?: string })
  | ({ type: 'dialEnd', destChannel: string, destUniqueId: string, dialStatus: string, channel?: string })
  | ({ type: 'bridgeEnter' | 'bridgeLeave', bridgeId: string, bridgeNumChannels: number } & ChannelRef)
  | {
      type: 'attendedTransfer'
      result: string
      transferer: string
      transferee?: string
      /** The consultation side (the target's leg) when Asterisk names it. */
      target?: string
      destType: string
    }
  | {
      type: 'blindTransfer'
      result: string
      transferer: string
      transferee?: string
      exten: string
      context: string
    }
  /** The party a channel is connected to changed (answer, transfer, consultation): `''` when unknown. */
  | ({ type: 'newConnectedLine', connectedNumber: string } & ChannelRef)

function field (message: AmiMessage, key: string): string {
  const value = message[key]
  return typeof value === 'string' ? value : ''
}

function optional (message: AmiMessage, key: string): string | undefined {
  const value = field(message, key)
  return value === '' ? undefined : value
}

/** AMI writes an absent caller id as `<unknown>`; callers above should not have to know that spelling. */
function knownNumber (value: string): string {
  return value === '<unknown>' ? '' : value
}

function channelRef (message: AmiMessage, prefix = ''): ChannelRef {
  return {
    channel: field(message, `${prefix}channel`),
    uniqueId: field(message, `${prefix}uniqueid`),
    linkedId: field(message, `${prefix}linkedid`)
  }
}

export function parsePbxEvent (message: AmiMessage): PbxEvent | undefined {
  switch (field(message, 'event').toLowerCase()) {
    case 'newchannel':
      return { type: 'newChannel', ...channelRef(message), exten: field(message, 'exten'), context: field(message, 'context'), state: field(message, 'channelstatedesc') }
    case 'newstate':
      return { type: 'newState', ...channelRef(message), state: field(message, 'channelstatedesc') }
    case 'hold':
      return { type: 'hold', ...channelRef(message) }
    case 'unhold':
      return { type: 'unhold', ...channelRef(message) }
    case 'hangup':
      return { type: 'hangup', ...channelRef(message), cause: field(message, 'cause-txt') || field(message, 'cause') }
    case 'dialbegin':
      return {
        type: 'dialBegin',
        channel: optional(message, 'channel'),
        destChannel: field(message, 'destchannel'),
        destUniqueId: field(message, 'destuniqueid'),
        destExten: field(message, 'destexten'),
        dialString: field(message, 'dialstring')
      }
    case 'dialend':
      return {
        type: 'dialEnd',
        channel: optional(message, 'channel'),
        destChannel: field(message, 'destchannel'),
        destUniqueId: field(message, 'destuniqueid'),
        dialStatus: field(message, 'dialstatus')
      }
    case 'bridgeenter':
    case 'bridgeleave':
      return {
        type: field(message, 'event').toLowerCase() === 'bridgeenter' ? 'bridgeEnter' : 'bridgeLeave',
        ...channelRef(message),
        bridgeId: field(message, 'bridgeuniqueid'),
        bridgeNumChannels: Number(field(message, 'bridgenumchannels')) || 0
      }
    case 'attendedtransfer':
      return {
        type: 'attendedTransfer',
        result: field(message, 'result'),
        transferer: field(message, 'origtransfererchannel'),
        transferee: optional(message, 'transfereechannel'),
        target: optional(message, 'transfertargetchannel') ?? optional(message, 'secondtransfererchannel'),
        destType: field(message, 'desttype')
      }
    case 'blindtransfer':
      return {
        type: 'blindTransfer',
        result: field(message, 'result'),
        transferer: field(message, 'transfererchannel'),
        transferee: optional(message, 'transfereechannel'),
        exten: field(message, 'extension'),
        context: field(message, 'context')
      }
    case 'newconnectedline':
      return { type: 'newConnectedLine', ...channelRef(message), connectedNumber: knownNumber(field(message, 'connectedlinenum')) }
    default:
      return undefined
  }
}
