// A realistic AMI event stream for the benchmarks, made from the events recorded on the test bed's
// Asterisk 22 (test/calls/fixtures/asterisk-traces.ts): each recorded call (attended transfer completed,
// blind transfer, attended transfer cancelled) is replayed many times with its own channels, uniqueids,
// bridges and agents, many calls interleaved as on a busy PBX. The recording kept only the fields of
// interest; each frame gets back the fields Asterisk 22 sends with it (channel blocks, bridge blocks,
// Privilege, Timestamp), and each call the events the plugin ignores (Newexten, VarSet...), so the bytes
// parsed per event are those of the real thing.
import { AmiClient, type AmiMessage } from '../../src/asterisk/ami-client.js'
import { PBX_EVENT_NAMES, parsePbxEvent } from '../../src/asterisk/ami-events.js'
import * as traces from '../../test/calls/fixtures/asterisk-traces.js'

type Fields = Record<string, string>

/** The recorded scenarios, each a whole call from the first Newchannel to the last Hangup. */
const SCENARIOS: readonly string[] = [
  traces.callTo101 + traces.atxfer101To103 + traces.atxferCompletedBy101HangingUp + traces.transferredCallHangsUp,
  traces.blindRedirectTo102 + traces.redirectedCallHangsUp,
  traces.atxferCancelled + traces.customerHangsUp
]

/** AMI's own spelling of the keys (the recording lowercased them, as the plugin's parser does). */
const SPELLING: Readonly<Record<string, string>> = Object.fromEntries([
  'Event', 'Privilege', 'Timestamp', 'Channel', 'ChannelState', 'ChannelStateDesc', 'CallerIDNum', 'CallerIDName',
  'ConnectedLineNum', 'ConnectedLineName', 'Language', 'AccountCode', 'Context', 'Exten', 'Priority', 'Uniqueid',
  'Linkedid', 'DestChannel', 'DestChannelState', 'DestChannelStateDesc', 'DestCallerIDNum', 'DestCallerIDName',
  'DestConnectedLineNum', 'DestConnectedLineName', 'DestLanguage', 'DestAccountCode', 'DestContext', 'DestExten',
  'DestPriority', 'DestUniqueid', 'DestLinkedid', 'DialString', 'DialStatus', 'BridgeUniqueid', 'BridgeType',
  'BridgeTechnology', 'BridgeCreator', 'BridgeName', 'BridgeNumChannels', 'BridgeVideoSourceMode', 'Cause',
  'Cause-txt', 'Result', 'DestType', 'OrigTransfererChannel', 'SecondTransfererChannel', 'TransfereeChannel',
  'TransferTargetChannel', 'TransfererChannel', 'Extension', 'LocalOneChannel', 'LocalTwoChannel', 'Application',
  'AppData', 'Variable', 'Value', 'MusicClass'
].map((key) => [key.toLowerCase(), key]))

const STATE_NUMBER: Readonly<Record<string, string>> = { Down: '0', Ring: '4', Ringing: '5', Up: '6' }

function parseLine (line: string): Fields {
  const [event = '', ...parts] = line.split(' | ')
  const fields: Fields = { event }
  for (const part of parts) {
    const at = part.indexOf(': ')
    fields[part.slice(0, at)] = part.slice(at + 2)
  }
  return fields
}

/** The channel block Asterisk writes for a channel (`prefix` '' or 'dest'), completed where the recording cut it. */
function channelBlock (fields: Fields, prefix: string): Fields {
  const get = (key: string, fallback: string): string => fields[`${prefix}${key}`] ?? fallback
  const stateDesc = get('channelstatedesc', 'Up')
  return {
    [`${prefix}channel`]: get('channel', ''),
    [`${prefix}channelstate`]: STATE_NUMBER[stateDesc] ?? '6',
    [`${prefix}channelstatedesc`]: stateDesc,
    [`${prefix}calleridnum`]: get('calleridnum', '<unknown>'),
    [`${prefix}calleridname`]: get('calleridname', '<unknown>'),
    [`${prefix}connectedlinenum`]: get('connectedlinenum', '<unknown>'),
    [`${prefix}connectedlinename`]: get('connectedlinename', '<unknown>'),
    [`${prefix}language`]: 'en',
    [`${prefix}accountcode`]: '',
    [`${prefix}context`]: get('context', 'from-internal'),
    [`${prefix}exten`]: get('exten', 's'),
    [`${prefix}priority`]: '1',
    [`${prefix}uniqueid`]: get('uniqueid', ''),
    [`${prefix}linkedid`]: get('linkedid', get('uniqueid', ''))
  }
}

function bridgeBlock (fields: Fields): Fields {
  return {
    bridgeuniqueid: fields.bridgeuniqueid ?? '',
    bridgetype: 'basic',
    bridgetechnology: 'simple_bridge',
    bridgecreator: '<unknown>',
    bridgename: '<unknown>',
    bridgenumchannels: fields.bridgenumchannels ?? '0',
    bridgevideosourcemode: 'none'
  }
}

/** The recorded fields, completed as Asterisk 22 sends them. */
function complete (fields: Fields): Fields {
  const full: Fields = { event: fields.event ?? '', privilege: 'call,all', timestamp: '1795632382.512345' }
  if (fields.uniqueid !== undefined) Object.assign(full, channelBlock(fields, ''))
  if (fields.destuniqueid !== undefined) Object.assign(full, channelBlock(fields, 'dest'))
  if (fields.bridgeuniqueid !== undefined) Object.assign(full, bridgeBlock(fields))
  return { ...full, ...fields, ...Object.fromEntries(Object.entries(full).filter(([key]) => !(key in fields))) }
}

/** The events the plugin does not use but Asterisk sends with every new channel: dialplan steps and variables. */
function companions (fields: Fields): Fields[] {
  if (fields.event !== 'Newchannel') return []
  const block = channelBlock(fields, '')
  return [
    { event: 'Newexten', privilege: 'dialplan,all', timestamp: '1795632382.512400', ...block, extension: block.exten ?? 's', application: 'Set', appdata: '__XFER_RETURN=' },
    { event: 'VarSet', privilege: 'dialplan,all', timestamp: '1795632382.512410', ...block, variable: '__XFER_RETURN', value: '' },
    { event: 'Newexten', privilege: 'dialplan,all', timestamp: '1795632382.512420', ...block, extension: block.exten ?? 's', application: 'Dial', appdata: 'PJSIP/${EXTEN},30,tT' },
    { event: 'VarSet', privilege: 'dialplan,all', timestamp: '1795632382.512430', ...block, variable: 'DIALSTATUS', value: '' }
  ]
}

function frame (fields: Fields): string {
  let text = ''
  for (const [key, value] of Object.entries(fields)) {
    text += `${SPELLING[key] ?? key.charAt(0).toUpperCase() + key.slice(1)}: ${value}\r\n`
  }
  return `${text}\r\n`
}

/**
 * One recorded call renamed for call number `call`: uniqueids, channel sequence numbers, bridge ids,
 * the customer and the agents (101 -> `agent`, 102/103 -> `target`) become this call's own.
 */
function rename (trace: string, call: number, agent: string, target: string): string {
  const TOKENS = /(\d{9,})\.(\d+)|([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-)([0-9a-f]{12})|-([0-9a-f]{8})\b|\b(10[1-7])\b|customer\d/g
  return trace.replace(TOKENS, (match, seconds?: string, counter?: string, uuidHead?: string, _uuidTail?: string, sequence?: string, extension?: string) => {
    if (seconds !== undefined) return `${seconds}.${call * 32 + Number(counter)}`
    if (uuidHead !== undefined) return `${uuidHead}${call.toString(16).padStart(12, '0')}`
    if (sequence !== undefined) return `-${(call * 16 + Number.parseInt(sequence, 16)).toString(16).padStart(8, '0')}`
    if (extension !== undefined) return extension === '101' ? agent : target
    return `cust${call}`
  })
}

export interface AmiStreamOptions {
  /** Calls, each one of the recorded scenarios in turn. */
  calls: number
  /** Calls in progress at once: their events are interleaved. */
  concurrent: number
  /** Calls answered at the end of the stream and left up (customer and agent bridged). */
  leftUp: number
  /**
   * The first agent's number: agents are `2000 + offset`, `2001 + offset`..., targets `5000 + offset`...
   * (the streams of a pool's servers each get agents of their own). Default 0.
   */
  offset?: number
}

export interface AmiStream {
  bytes: Buffer
  /** Every AMI event in the stream. */
  events: number
  /** The events of the names the plugin maps (PBX_EVENT_NAMES); the others it drops unread. */
  namedEvents: number
  /** The events the plugin maps to a PbxEvent (a Newexten without an application maps to nothing). */
  usedEvents: number
  /** Channels Asterisk would have once the stream is through: the legs of the calls left up. */
  liveChannels: number
  /** Agents taking calls (extensions 2000, 2001, ...), and targets of transfers (5000, ...). */
  agents: number
}

export function buildAmiStream ({ calls, concurrent, leftUp, offset = 0 }: AmiStreamOptions): AmiStream {
  const frames: string[] = []
  let usedEvents = 0
  let namedEvents = 0
  const add = (fields: Fields): void => {
    for (const message of [complete(fields), ...companions(fields)]) {
      frames.push(frame(message))
      if (PBX_EVENT_NAMES.has(message.event?.toLowerCase() ?? '')) namedEvents++
      if (parsePbxEvent(message as AmiMessage) !== undefined) usedEvents++
    }
  }
  const callLines = (call: number, trace: string): Fields[] => {
    const agent = String(2000 + offset + (call % concurrent))
    const target = String(5000 + offset + (call % concurrent))
    return rename(trace, call, agent, target).trim().split('\n').filter((line) => line !== '').map(parseLine)
  }
  // A wave of `concurrent` calls at a time, their events dealt out round robin.
  for (let first = 0; first < calls + leftUp; first += concurrent) {
    const wave: Fields[][] = []
    for (let call = first; call < Math.min(first + concurrent, calls + leftUp); call++) {
      wave.push(callLines(call, call < calls ? SCENARIOS[call % SCENARIOS.length] as string : traces.callTo101))
    }
    for (let step = 0; wave.some((lines) => step < lines.length); step++) {
      for (const lines of wave) {
        const fields = lines[step]
        if (fields !== undefined) add(fields)
      }
    }
  }
  return { bytes: Buffer.from(frames.join(''), 'utf8'), events: frames.length, namedEvents, usedEvents, liveChannels: 2 * leftUp, agents: concurrent }
}

/** The plugin's AMI client on a replay server's port, asking for the events the plugin asks and the end marker. */
export function benchAmiClient (port: number): AmiClient {
  return new AmiClient({
    host: '127.0.0.1',
    port,
    username: 'bench',
    password: 'bench',
    actionTimeoutMs: 10_000,
    reconnect: { initialDelayMs: 100, maxDelayMs: 1000 },
    pingIntervalMs: 0,
    events: new Set([...PBX_EVENT_NAMES, 'userevent'])
  })
}
