// AMI events recorded on the test bed's Asterisk 22.10 PBX with a scratch AMI listener while the
// scenarios below ran (callAgent, AMI Atxfer/Redirect/CancelAtxfer, hangup), in the order Asterisk
// sent them. One event a line, `Event | key: value | …`, keys lowercased as asterisk-manager delivers
// them; only fields of interest are kept. The ARI snapshots were taken at the marked moments of the
// same run and are mapped the way AriClient maps them.
import type { AmiMessage } from '../../src/asterisk/ami-client.js'
import { parsePbxEvent, type PbxEvent } from '../../src/asterisk/ami-events.js'
import type { CallSnapshot } from '../../src/asterisk/pbx.js'

/** The events of a trace, parsed as the plugin parses them (events it ignores are dropped). */
export function parseTrace (trace: string): PbxEvent[] {
  return trace.trim().split('\n').map((line) => {
    const [event = '', ...fields] = line.split(' | ')
    const message: Record<string, string> = { event }
    for (const field of fields) {
      const at = field.indexOf(': ')
      message[field.slice(0, at)] = field.slice(at + 2)
    }
    return parsePbxEvent(message as AmiMessage)
  }).filter((event) => event !== undefined)
}

/** customer1 calls 101 (from-customers 101): the agent leg is created Down, answers, both enter one bridge. */
export const callTo101 = `
Newchannel | channel: PJSIP/customer1-00000000 | channelstatedesc: Ring | calleridnum: +15550000001 | connectedlinenum: <unknown> | context: from-customers | exten: 101 | uniqueid: 1795632382.0 | linkedid: 1795632382.0
Newchannel | channel: PJSIP/101-00000001 | channelstatedesc: Down | calleridnum: 101 | connectedlinenum: <unknown> | context: from-internal | exten: s | uniqueid: 1795632382.1 | linkedid: 1795632382.0
NewConnectedLine | channel: PJSIP/101-00000001 | channelstatedesc: Down | calleridnum: 101 | connectedlinenum: +15550000001 | context: from-internal | exten: 101 | uniqueid: 1795632382.1 | linkedid: 1795632382.0
DialBegin | channel: PJSIP/customer1-00000000 | channelstatedesc: Ring | calleridnum: +15550000001 | connectedlinenum: <unknown> | context: from-customers | exten: 101 | uniqueid: 1795632382.0 | linkedid: 1795632382.0 | destchannel: PJSIP/101-00000001 | destuniqueid: 1795632382.1 | destexten: 101 | dialstring: 101
NewConnectedLine | channel: PJSIP/customer1-00000000 | channelstatedesc: Ring | calleridnum: +15550000001 | connectedlinenum: 101 | context: from-customers | exten: 101 | uniqueid: 1795632382.0 | linkedid: 1795632382.0
Newstate | channel: PJSIP/101-00000001 | channelstatedesc: Up | calleridnum: 101 | connectedlinenum: +15550000001 | context: from-internal | exten: 101 | uniqueid: 1795632382.1 | linkedid: 1795632382.0
DialEnd | channel: PJSIP/customer1-00000000 | channelstatedesc: Ring | calleridnum: +15550000001 | connectedlinenum: 101 | context: from-customers | exten: 101 | uniqueid: 1795632382.0 | linkedid: 1795632382.0 | destchannel: PJSIP/101-00000001 | destuniqueid: 1795632382.1 | dialstatus: ANSWER
Newstate | channel: PJSIP/customer1-00000000 | channelstatedesc: Up | calleridnum: +15550000001 | connectedlinenum: 101 | context: from-customers | exten: 101 | uniqueid: 1795632382.0 | linkedid: 1795632382.0
BridgeCreate | bridgeuniqueid: c054bfaa-3cda-48cd-a136-03c5fd7734b4 | bridgenumchannels: 0
BridgeEnter | channel: PJSIP/101-00000001 | channelstatedesc: Up | calleridnum: 101 | connectedlinenum: +15550000001 | context: from-internal | uniqueid: 1795632382.1 | linkedid: 1795632382.0 | bridgeuniqueid: c054bfaa-3cda-48cd-a136-03c5fd7734b4 | bridgenumchannels: 1
BridgeEnter | channel: PJSIP/customer1-00000000 | channelstatedesc: Up | calleridnum: +15550000001 | connectedlinenum: 101 | context: from-customers | exten: 101 | uniqueid: 1795632382.0 | linkedid: 1795632382.0 | bridgeuniqueid: c054bfaa-3cda-48cd-a136-03c5fd7734b4 | bridgenumchannels: 2
`

/** AMI Atxfer of PJSIP/101 to 103@from-internal: Hold on the agent, a Local pair, the agent moves into a bridge with Local;1, Local;2 dials PJSIP/103, which answers. */
export const atxfer101To103 = `
Hold | channel: PJSIP/101-00000001 | channelstatedesc: Up | calleridnum: 101 | connectedlinenum: +15550000001 | context: from-internal | uniqueid: 1795632382.1 | linkedid: 1795632382.0
MusicOnHoldStart | channel: PJSIP/customer1-00000000 | channelstatedesc: Up | calleridnum: +15550000001 | connectedlinenum: 101 | context: from-customers | exten: 101 | uniqueid: 1795632382.0 | linkedid: 1795632382.0
Newchannel | channel: Local/103@from-internal-00000000;1 | channelstatedesc: Down | calleridnum: <unknown> | connectedlinenum: <unknown> | context: from-internal | exten: 103 | uniqueid: 1795632383.2 | linkedid: 1795632382.0
Newchannel | channel: Local/103@from-internal-00000000;2 | channelstatedesc: Ring | calleridnum: <unknown> | connectedlinenum: <unknown> | context: from-internal | exten: 103 | uniqueid: 1795632383.3 | linkedid: 1795632382.0
BridgeCreate | bridgeuniqueid: 9912b7ea-c43a-44aa-be00-fc7495a86679 | bridgenumchannels: 0
NewCallerid | channel: Local/103@from-internal-00000000;2 | channelstatedesc: Ring | calleridnum: 101 | connectedlinenum: <unknown> | context: from-internal | exten: 103 | uniqueid: 1795632383.3 | linkedid: 1795632382.0
LocalBridge | context: from-internal | exten: 103 | localonechannel: Local/103@from-internal-00000000;1 | localtwochannel: Local/103@from-internal-00000000;2
NewConnectedLine | channel: Local/103@from-internal-00000000;1 | channelstatedesc: Down | calleridnum: <unknown> | connectedlinenum: 101 | context: from-internal | exten: 103 | uniqueid: 1795632383.2 | linkedid: 1795632382.0
BridgeEnter | channel: Local/103@from-internal-00000000;1 | channelstatedesc: Down | calleridnum: <unknown> | connectedlinenum: 101 | context: from-internal | exten: 103 | uniqueid: 1795632383.2 | linkedid: 1795632382.0 | bridgeuniqueid: 9912b7ea-c43a-44aa-be00-fc7495a86679 | bridgenumchannels: 1
Newchannel | channel: PJSIP/103-00000002 | channelstatedesc: Down | calleridnum: 103 | connectedlinenum: <unknown> | context: from-internal | exten: s | uniqueid: 1795632383.4 | linkedid: 1795632382.0
NewConnectedLine | channel: PJSIP/103-00000002 | channelstatedesc: Down | calleridnum: 103 | connectedlinenum: 101 | context: from-internal | exten: 103 | uniqueid: 1795632383.4 | linkedid: 1795632382.0
DialBegin | channel: Local/103@from-internal-00000000;2 | channelstatedesc: Ring | calleridnum: 101 | connectedlinenum: <unknown> | context: from-internal | exten: 103 | uniqueid: 1795632383.3 | linkedid: 1795632382.0 | destchannel: PJSIP/103-00000002 | destuniqueid: 1795632383.4 | destexten: 103 | dialstring: 103
NewConnectedLine | channel: Local/103@from-internal-00000000;2 | channelstatedesc: Ring | calleridnum: 101 | connectedlinenum: 103 | context: from-internal | exten: 103 | uniqueid: 1795632383.3 | linkedid: 1795632382.0
BridgeLeave | channel: PJSIP/101-00000001 | channelstatedesc: Up | calleridnum: 101 | connectedlinenum: +15550000001 | context: from-internal | uniqueid: 1795632382.1 | linkedid: 1795632382.0 | bridgeuniqueid: c054bfaa-3cda-48cd-a136-03c5fd7734b4 | bridgenumchannels: 1
BridgeEnter | channel: PJSIP/101-00000001 | channelstatedesc: Up | calleridnum: 101 | connectedlinenum: +15550000001 | context: from-internal | uniqueid: 1795632382.1 | linkedid: 1795632382.0 | bridgeuniqueid: 9912b7ea-c43a-44aa-be00-fc7495a86679 | bridgenumchannels: 2
NewCallerid | channel: Local/103@from-internal-00000000;1 | channelstatedesc: Down | calleridnum: 103 | connectedlinenum: 101 | context: from-internal | exten: 103 | uniqueid: 1795632383.2 | linkedid: 1795632382.0
NewConnectedLine | channel: PJSIP/101-00000001 | channelstatedesc: Up | calleridnum: 101 | connectedlinenum: 103 | context: from-internal | uniqueid: 1795632382.1 | linkedid: 1795632382.0
Newstate | channel: PJSIP/103-00000002 | channelstatedesc: Up | calleridnum: 103 | connectedlinenum: 101 | context: from-internal | exten: 103 | uniqueid: 1795632383.4 | linkedid: 1795632382.0
DialEnd | channel: Local/103@from-internal-00000000;2 | channelstatedesc: Ring | calleridnum: 101 | connectedlinenum: 103 | context: from-internal | exten: 103 | uniqueid: 1795632383.3 | linkedid: 1795632382.0 | destchannel: PJSIP/103-00000002 | destuniqueid: 1795632383.4 | dialstatus: ANSWER
Newstate | channel: Local/103@from-internal-00000000;2 | channelstatedesc: Up | calleridnum: 101 | connectedlinenum: 103 | context: from-internal | exten: 103 | uniqueid: 1795632383.3 | linkedid: 1795632382.0
BridgeCreate | bridgeuniqueid: be4e8ee8-d989-4810-b69e-4ac24bf984ac | bridgenumchannels: 0
BridgeEnter | channel: PJSIP/103-00000002 | channelstatedesc: Up | calleridnum: 103 | connectedlinenum: 101 | context: from-internal | uniqueid: 1795632383.4 | linkedid: 1795632382.0 | bridgeuniqueid: be4e8ee8-d989-4810-b69e-4ac24bf984ac | bridgenumchannels: 1
Newstate | channel: Local/103@from-internal-00000000;1 | channelstatedesc: Up | calleridnum: 103 | connectedlinenum: 101 | context: from-internal | exten: 103 | uniqueid: 1795632383.2 | linkedid: 1795632382.0
DialEnd | destchannel: Local/103@from-internal-00000000;1 | destuniqueid: 1795632383.2 | destexten: 103 | dialstatus: ANSWER
BridgeEnter | channel: Local/103@from-internal-00000000;2 | channelstatedesc: Up | calleridnum: 101 | connectedlinenum: 103 | context: from-internal | exten: 103 | uniqueid: 1795632383.3 | linkedid: 1795632382.0 | bridgeuniqueid: be4e8ee8-d989-4810-b69e-4ac24bf984ac | bridgenumchannels: 2
`

/** The agent hangs up during the consultation: Local;1 moves into the customer's bridge, AttendedTransfer, the agent leg is gone. */
export const atxferCompletedBy101HangingUp = `
MusicOnHoldStop | channel: PJSIP/customer1-00000000 | channelstatedesc: Up | calleridnum: +15550000001 | connectedlinenum: 101 | context: from-customers | exten: 101 | uniqueid: 1795632382.0 | linkedid: 1795632382.0
BridgeLeave | channel: Local/103@from-internal-00000000;1 | channelstatedesc: Up | calleridnum: 103 | connectedlinenum: 101 | context: from-internal | exten: 103 | uniqueid: 1795632383.2 | linkedid: 1795632382.0 | bridgeuniqueid: 9912b7ea-c43a-44aa-be00-fc7495a86679 | bridgenumchannels: 1
BridgeEnter | channel: Local/103@from-internal-00000000;1 | channelstatedesc: Up | calleridnum: 103 | connectedlinenum: 101 | context: from-internal | exten: 103 | uniqueid: 1795632383.2 | linkedid: 1795632382.0 | bridgeuniqueid: c054bfaa-3cda-48cd-a136-03c5fd7734b4 | bridgenumchannels: 2
NewConnectedLine | channel: Local/103@from-internal-00000000;1 | channelstatedesc: Up | calleridnum: 103 | connectedlinenum: +15550000001 | context: from-internal | exten: 103 | uniqueid: 1795632383.2 | linkedid: 1795632382.0
NewConnectedLine | channel: PJSIP/customer1-00000000 | channelstatedesc: Up | calleridnum: +15550000001 | connectedlinenum: 103 | context: from-customers | exten: 101 | uniqueid: 1795632382.0 | linkedid: 1795632382.0
BridgeLeave | channel: PJSIP/101-00000001 | channelstatedesc: Up | calleridnum: 101 | connectedlinenum: 103 | context: from-internal | uniqueid: 1795632382.1 | linkedid: 1795632382.0 | bridgeuniqueid: 9912b7ea-c43a-44aa-be00-fc7495a86679 | bridgenumchannels: 0
AttendedTransfer | result: Success | desttype: Bridge | origtransfererchannel: PJSIP/101-00000001 | secondtransfererchannel: PJSIP/101-00000001 | transfereechannel: PJSIP/customer1-00000000 | transfertargetchannel: Local/103@from-internal-00000000;1
NewConnectedLine | channel: PJSIP/103-00000002 | channelstatedesc: Up | calleridnum: 103 | connectedlinenum: +15550000001 | context: from-internal | uniqueid: 1795632383.4 | linkedid: 1795632382.0
BridgeDestroy | bridgeuniqueid: 9912b7ea-c43a-44aa-be00-fc7495a86679 | bridgenumchannels: 0
Hangup | channel: PJSIP/101-00000001 | channelstatedesc: Up | calleridnum: 101 | connectedlinenum: 103 | context: from-internal | uniqueid: 1795632382.1 | linkedid: 1795632382.0 | cause: 16 | cause-txt: Normal Clearing
`

/** Cleanup after the completed transfer: every remaining channel hangs up. */
export const transferredCallHangsUp = `
NewCallerid | channel: Local/103@from-internal-00000000;2 | channelstatedesc: Up | calleridnum: +15550000001 | connectedlinenum: 103 | context: from-internal | exten: 103 | uniqueid: 1795632383.3 | linkedid: 1795632382.0
BridgeLeave | channel: PJSIP/103-00000002 | channelstatedesc: Up | calleridnum: 103 | connectedlinenum: +15550000001 | context: from-internal | uniqueid: 1795632383.4 | linkedid: 1795632382.0 | bridgeuniqueid: be4e8ee8-d989-4810-b69e-4ac24bf984ac | bridgenumchannels: 1
BridgeLeave | channel: Local/103@from-internal-00000000;1 | channelstatedesc: Up | calleridnum: 103 | connectedlinenum: +15550000001 | context: from-internal | exten: 103 | uniqueid: 1795632383.2 | linkedid: 1795632382.0 | bridgeuniqueid: c054bfaa-3cda-48cd-a136-03c5fd7734b4 | bridgenumchannels: 1
BridgeLeave | channel: Local/103@from-internal-00000000;2 | channelstatedesc: Up | calleridnum: +15550000001 | connectedlinenum: 103 | context: from-internal | exten: 103 | uniqueid: 1795632383.3 | linkedid: 1795632382.0 | bridgeuniqueid: be4e8ee8-d989-4810-b69e-4ac24bf984ac | bridgenumchannels: 0
BridgeLeave | channel: PJSIP/customer1-00000000 | channelstatedesc: Up | calleridnum: +15550000001 | connectedlinenum: 103 | context: from-customers | exten: 101 | uniqueid: 1795632382.0 | linkedid: 1795632382.0 | bridgeuniqueid: c054bfaa-3cda-48cd-a136-03c5fd7734b4 | bridgenumchannels: 0
BridgeDestroy | bridgeuniqueid: be4e8ee8-d989-4810-b69e-4ac24bf984ac | bridgenumchannels: 0
BridgeDestroy | bridgeuniqueid: c054bfaa-3cda-48cd-a136-03c5fd7734b4 | bridgenumchannels: 0
Hangup | channel: PJSIP/103-00000002 | channelstatedesc: Up | calleridnum: 103 | connectedlinenum: +15550000001 | context: from-internal | uniqueid: 1795632383.4 | linkedid: 1795632382.0 | cause: 16 | cause-txt: Normal Clearing
Hangup | channel: Local/103@from-internal-00000000;1 | channelstatedesc: Up | calleridnum: 103 | connectedlinenum: +15550000001 | context: from-internal | exten: 103 | uniqueid: 1795632383.2 | linkedid: 1795632382.0 | cause: 16 | cause-txt: Normal Clearing
Hangup | channel: Local/103@from-internal-00000000;2 | channelstatedesc: Up | calleridnum: +15550000001 | connectedlinenum: 103 | context: from-internal | exten: 103 | uniqueid: 1795632383.3 | linkedid: 1795632382.0 | cause: 16 | cause-txt: Normal Clearing
Hangup | channel: PJSIP/customer1-00000000 | channelstatedesc: Up | calleridnum: +15550000001 | connectedlinenum: 103 | context: from-customers | exten: 101 | uniqueid: 1795632382.0 | linkedid: 1795632382.0 | cause: 16 | cause-txt: Normal Clearing
`

/** customer1 calls 101 (another call), then AMI Redirect of the customer to 102@from-internal: the agent leg is hung up, 102 is dialed and bridged with the customer. */
export const blindRedirectTo102 = `
Newchannel | channel: PJSIP/customer1-00000003 | channelstatedesc: Ring | calleridnum: +15550000001 | connectedlinenum: <unknown> | context: from-customers | exten: 101 | uniqueid: 1795632385.5 | linkedid: 1795632385.5
Newchannel | channel: PJSIP/101-00000004 | channelstatedesc: Down | calleridnum: 101 | connectedlinenum: <unknown> | context: from-internal | exten: s | uniqueid: 1795632385.6 | linkedid: 1795632385.5
NewConnectedLine | channel: PJSIP/101-00000004 | channelstatedesc: Down | calleridnum: 101 | connectedlinenum: +15550000001 | context: from-internal | exten: 101 | uniqueid: 1795632385.6 | linkedid: 1795632385.5
DialBegin | channel: PJSIP/customer1-00000003 | channelstatedesc: Ring | calleridnum: +15550000001 | connectedlinenum: <unknown> | context: from-customers | exten: 101 | uniqueid: 1795632385.5 | linkedid: 1795632385.5 | destchannel: PJSIP/101-00000004 | destuniqueid: 1795632385.6 | destexten: 101 | dialstring: 101
NewConnectedLine | channel: PJSIP/customer1-00000003 | channelstatedesc: Ring | calleridnum: +15550000001 | connectedlinenum: 101 | context: from-customers | exten: 101 | uniqueid: 1795632385.5 | linkedid: 1795632385.5
Newstate | channel: PJSIP/101-00000004 | channelstatedesc: Up | calleridnum: 101 | connectedlinenum: +15550000001 | context: from-internal | exten: 101 | uniqueid: 1795632385.6 | linkedid: 1795632385.5
DialEnd | channel: PJSIP/customer1-00000003 | channelstatedesc: Ring | calleridnum: +15550000001 | connectedlinenum: 101 | context: from-customers | exten: 101 | uniqueid: 1795632385.5 | linkedid: 1795632385.5 | destchannel: PJSIP/101-00000004 | destuniqueid: 1795632385.6 | dialstatus: ANSWER
Newstate | channel: PJSIP/customer1-00000003 | channelstatedesc: Up | calleridnum: +15550000001 | connectedlinenum: 101 | context: from-customers | exten: 101 | uniqueid: 1795632385.5 | linkedid: 1795632385.5
BridgeCreate | bridgeuniqueid: 03280e8f-7388-4f07-8705-ac8f80fed888 | bridgenumchannels: 0
BridgeEnter | channel: PJSIP/101-00000004 | channelstatedesc: Up | calleridnum: 101 | connectedlinenum: +15550000001 | context: from-internal | uniqueid: 1795632385.6 | linkedid: 1795632385.5 | bridgeuniqueid: 03280e8f-7388-4f07-8705-ac8f80fed888 | bridgenumchannels: 1
BridgeEnter | channel: PJSIP/customer1-00000003 | channelstatedesc: Up | calleridnum: +15550000001 | connectedlinenum: 101 | context: from-customers | exten: 101 | uniqueid: 1795632385.5 | linkedid: 1795632385.5 | bridgeuniqueid: 03280e8f-7388-4f07-8705-ac8f80fed888 | bridgenumchannels: 2
BridgeLeave | channel: PJSIP/customer1-00000003 | channelstatedesc: Up | calleridnum: +15550000001 | connectedlinenum: 101 | context: from-internal | exten: 102 | uniqueid: 1795632385.5 | linkedid: 1795632385.5 | bridgeuniqueid: 03280e8f-7388-4f07-8705-ac8f80fed888 | bridgenumchannels: 1
BridgeLeave | channel: PJSIP/101-00000004 | channelstatedesc: Up | calleridnum: 101 | connectedlinenum: +15550000001 | context: from-internal | uniqueid: 1795632385.6 | linkedid: 1795632385.5 | bridgeuniqueid: 03280e8f-7388-4f07-8705-ac8f80fed888 | bridgenumchannels: 0
BridgeDestroy | bridgeuniqueid: 03280e8f-7388-4f07-8705-ac8f80fed888 | bridgenumchannels: 0
Newchannel | channel: PJSIP/102-00000005 | channelstatedesc: Down | calleridnum: 102 | connectedlinenum: <unknown> | context: from-internal | exten: s | uniqueid: 1795632385.7 | linkedid: 1795632385.5
NewConnectedLine | channel: PJSIP/102-00000005 | channelstatedesc: Down | calleridnum: 102 | connectedlinenum: +15550000001 | context: from-internal | exten: 102 | uniqueid: 1795632385.7 | linkedid: 1795632385.5
Hangup | channel: PJSIP/101-00000004 | channelstatedesc: Up | calleridnum: 101 | connectedlinenum: +15550000001 | context: from-internal | uniqueid: 1795632385.6 | linkedid: 1795632385.5 | cause: 16 | cause-txt: Normal Clearing
DialBegin | channel: PJSIP/customer1-00000003 | channelstatedesc: Up | calleridnum: +15550000001 | connectedlinenum: 101 | context: from-internal | exten: 102 | uniqueid: 1795632385.5 | linkedid: 1795632385.5 | destchannel: PJSIP/102-00000005 | destuniqueid: 1795632385.7 | destexten: 102 | dialstring: 102
NewConnectedLine | channel: PJSIP/customer1-00000003 | channelstatedesc: Up | calleridnum: +15550000001 | connectedlinenum: 102 | context: from-internal | exten: 102 | uniqueid: 1795632385.5 | linkedid: 1795632385.5
Newstate | channel: PJSIP/102-00000005 | channelstatedesc: Up | calleridnum: 102 | connectedlinenum: +15550000001 | context: from-internal | exten: 102 | uniqueid: 1795632385.7 | linkedid: 1795632385.5
DialEnd | channel: PJSIP/customer1-00000003 | channelstatedesc: Up | calleridnum: +15550000001 | connectedlinenum: 102 | context: from-internal | exten: 102 | uniqueid: 1795632385.5 | linkedid: 1795632385.5 | destchannel: PJSIP/102-00000005 | destuniqueid: 1795632385.7 | dialstatus: ANSWER
BridgeCreate | bridgeuniqueid: 7cdf7ac4-daa7-4193-b1b9-35df55f8002b | bridgenumchannels: 0
BridgeEnter | channel: PJSIP/102-00000005 | channelstatedesc: Up | calleridnum: 102 | connectedlinenum: +15550000001 | context: from-internal | uniqueid: 1795632385.7 | linkedid: 1795632385.5 | bridgeuniqueid: 7cdf7ac4-daa7-4193-b1b9-35df55f8002b | bridgenumchannels: 1
BridgeEnter | channel: PJSIP/customer1-00000003 | channelstatedesc: Up | calleridnum: +15550000001 | connectedlinenum: 102 | context: from-internal | exten: 102 | uniqueid: 1795632385.5 | linkedid: 1795632385.5 | bridgeuniqueid: 7cdf7ac4-daa7-4193-b1b9-35df55f8002b | bridgenumchannels: 2
`

/** Cleanup after the blind transfer. */
export const redirectedCallHangsUp = `
BridgeLeave | channel: PJSIP/customer1-00000003 | channelstatedesc: Up | calleridnum: +15550000001 | connectedlinenum: 102 | context: from-internal | exten: 102 | uniqueid: 1795632385.5 | linkedid: 1795632385.5 | bridgeuniqueid: 7cdf7ac4-daa7-4193-b1b9-35df55f8002b | bridgenumchannels: 1
BridgeLeave | channel: PJSIP/102-00000005 | channelstatedesc: Up | calleridnum: 102 | connectedlinenum: +15550000001 | context: from-internal | uniqueid: 1795632385.7 | linkedid: 1795632385.5 | bridgeuniqueid: 7cdf7ac4-daa7-4193-b1b9-35df55f8002b | bridgenumchannels: 0
BridgeDestroy | bridgeuniqueid: 7cdf7ac4-daa7-4193-b1b9-35df55f8002b | bridgenumchannels: 0
Hangup | channel: PJSIP/customer1-00000003 | channelstatedesc: Up | calleridnum: +15550000001 | connectedlinenum: 102 | context: from-internal | exten: 102 | uniqueid: 1795632385.5 | linkedid: 1795632385.5 | cause: 16 | cause-txt: Normal Clearing
Hangup | channel: PJSIP/102-00000005 | channelstatedesc: Up | calleridnum: 102 | connectedlinenum: +15550000001 | context: from-internal | uniqueid: 1795632385.7 | linkedid: 1795632385.5 | cause: 16 | cause-txt: Normal Clearing
`

/** customer1 calls 101, AMI Atxfer to 103 (answered), then AMI CancelAtxfer: the agent goes back to the customer's bridge and is unheld; the consultation legs hang up. */
export const atxferCancelled = `
Newchannel | channel: PJSIP/customer1-00000006 | channelstatedesc: Ring | calleridnum: +15550000001 | connectedlinenum: <unknown> | context: from-customers | exten: 101 | uniqueid: 1795632388.8 | linkedid: 1795632388.8
Newchannel | channel: PJSIP/101-00000007 | channelstatedesc: Down | calleridnum: 101 | connectedlinenum: <unknown> | context: from-internal | exten: s | uniqueid: 1795632388.9 | linkedid: 1795632388.8
NewConnectedLine | channel: PJSIP/101-00000007 | channelstatedesc: Down | calleridnum: 101 | connectedlinenum: +15550000001 | context: from-internal | exten: 101 | uniqueid: 1795632388.9 | linkedid: 1795632388.8
DialBegin | channel: PJSIP/customer1-00000006 | channelstatedesc: Ring | calleridnum: +15550000001 | connectedlinenum: <unknown> | context: from-customers | exten: 101 | uniqueid: 1795632388.8 | linkedid: 1795632388.8 | destchannel: PJSIP/101-00000007 | destuniqueid: 1795632388.9 | destexten: 101 | dialstring: 101
NewConnectedLine | channel: PJSIP/customer1-00000006 | channelstatedesc: Ring | calleridnum: +15550000001 | connectedlinenum: 101 | context: from-customers | exten: 101 | uniqueid: 1795632388.8 | linkedid: 1795632388.8
Newstate | channel: PJSIP/101-00000007 | channelstatedesc: Up | calleridnum: 101 | connectedlinenum: +15550000001 | context: from-internal | exten: 101 | uniqueid: 1795632388.9 | linkedid: 1795632388.8
DialEnd | channel: PJSIP/customer1-00000006 | channelstatedesc: Ring | calleridnum: +15550000001 | connectedlinenum: 101 | context: from-customers | exten: 101 | uniqueid: 1795632388.8 | linkedid: 1795632388.8 | destchannel: PJSIP/101-00000007 | destuniqueid: 1795632388.9 | dialstatus: ANSWER
Newstate | channel: PJSIP/customer1-00000006 | channelstatedesc: Up | calleridnum: +15550000001 | connectedlinenum: 101 | context: from-customers | exten: 101 | uniqueid: 1795632388.8 | linkedid: 1795632388.8
BridgeCreate | bridgeuniqueid: 8388a3ee-cbc0-47ea-b5bc-a825ac4f68eb | bridgenumchannels: 0
BridgeEnter | channel: PJSIP/101-00000007 | channelstatedesc: Up | calleridnum: 101 | connectedlinenum: +15550000001 | context: from-internal | uniqueid: 1795632388.9 | linkedid: 1795632388.8 | bridgeuniqueid: 8388a3ee-cbc0-47ea-b5bc-a825ac4f68eb | bridgenumchannels: 1
BridgeEnter | channel: PJSIP/customer1-00000006 | channelstatedesc: Up | calleridnum: +15550000001 | connectedlinenum: 101 | context: from-customers | exten: 101 | uniqueid: 1795632388.8 | linkedid: 1795632388.8 | bridgeuniqueid: 8388a3ee-cbc0-47ea-b5bc-a825ac4f68eb | bridgenumchannels: 2
Hold | channel: PJSIP/101-00000007 | channelstatedesc: Up | calleridnum: 101 | connectedlinenum: +15550000001 | context: from-internal | uniqueid: 1795632388.9 | linkedid: 1795632388.8
MusicOnHoldStart | channel: PJSIP/customer1-00000006 | channelstatedesc: Up | calleridnum: +15550000001 | connectedlinenum: 101 | context: from-customers | exten: 101 | uniqueid: 1795632388.8 | linkedid: 1795632388.8
Newchannel | channel: Local/103@from-internal-00000001;1 | channelstatedesc: Down | calleridnum: <unknown> | connectedlinenum: <unknown> | context: from-internal | exten: 103 | uniqueid: 1795632389.10 | linkedid: 1795632388.8
Newchannel | channel: Local/103@from-internal-00000001;2 | channelstatedesc: Ring | calleridnum: <unknown> | connectedlinenum: <unknown> | context: from-internal | exten: 103 | uniqueid: 1795632389.11 | linkedid: 1795632388.8
BridgeCreate | bridgeuniqueid: db0243c1-ac19-46e0-9cbb-75933fd398a2 | bridgenumchannels: 0
NewCallerid | channel: Local/103@from-internal-00000001;2 | channelstatedesc: Ring | calleridnum: 101 | connectedlinenum: <unknown> | context: from-internal | exten: 103 | uniqueid: 1795632389.11 | linkedid: 1795632388.8
LocalBridge | context: from-internal | exten: 103 | localonechannel: Local/103@from-internal-00000001;1 | localtwochannel: Local/103@from-internal-00000001;2
Newchannel | channel: PJSIP/103-00000008 | channelstatedesc: Down | calleridnum: 103 | connectedlinenum: <unknown> | context: from-internal | exten: s | uniqueid: 1795632389.12 | linkedid: 1795632388.8
NewConnectedLine | channel: PJSIP/103-00000008 | channelstatedesc: Down | calleridnum: 103 | connectedlinenum: 101 | context: from-internal | exten: 103 | uniqueid: 1795632389.12 | linkedid: 1795632388.8
NewConnectedLine | channel: Local/103@from-internal-00000001;1 | channelstatedesc: Down | calleridnum: <unknown> | connectedlinenum: 101 | context: from-internal | exten: 103 | uniqueid: 1795632389.10 | linkedid: 1795632388.8
BridgeEnter | channel: Local/103@from-internal-00000001;1 | channelstatedesc: Down | calleridnum: <unknown> | connectedlinenum: 101 | context: from-internal | exten: 103 | uniqueid: 1795632389.10 | linkedid: 1795632388.8 | bridgeuniqueid: db0243c1-ac19-46e0-9cbb-75933fd398a2 | bridgenumchannels: 1
BridgeLeave | channel: PJSIP/101-00000007 | channelstatedesc: Up | calleridnum: 101 | connectedlinenum: +15550000001 | context: from-internal | uniqueid: 1795632388.9 | linkedid: 1795632388.8 | bridgeuniqueid: 8388a3ee-cbc0-47ea-b5bc-a825ac4f68eb | bridgenumchannels: 1
BridgeEnter | channel: PJSIP/101-00000007 | channelstatedesc: Up | calleridnum: 101 | connectedlinenum: +15550000001 | context: from-internal | uniqueid: 1795632388.9 | linkedid: 1795632388.8 | bridgeuniqueid: db0243c1-ac19-46e0-9cbb-75933fd398a2 | bridgenumchannels: 2
NewConnectedLine | channel: PJSIP/101-00000007 | channelstatedesc: Up | calleridnum: 101 | connectedlinenum: <unknown> | context: from-internal | uniqueid: 1795632388.9 | linkedid: 1795632388.8
DialBegin | channel: Local/103@from-internal-00000001;2 | channelstatedesc: Ring | calleridnum: 101 | connectedlinenum: <unknown> | context: from-internal | exten: 103 | uniqueid: 1795632389.11 | linkedid: 1795632388.8 | destchannel: PJSIP/103-00000008 | destuniqueid: 1795632389.12 | destexten: 103 | dialstring: 103
NewConnectedLine | channel: Local/103@from-internal-00000001;2 | channelstatedesc: Ring | calleridnum: 101 | connectedlinenum: 103 | context: from-internal | exten: 103 | uniqueid: 1795632389.11 | linkedid: 1795632388.8
NewConnectedLine | channel: PJSIP/101-00000007 | channelstatedesc: Up | calleridnum: 101 | connectedlinenum: 103 | context: from-internal | uniqueid: 1795632388.9 | linkedid: 1795632388.8
Newstate | channel: PJSIP/103-00000008 | channelstatedesc: Up | calleridnum: 103 | connectedlinenum: 101 | context: from-internal | exten: 103 | uniqueid: 1795632389.12 | linkedid: 1795632388.8
DialEnd | channel: Local/103@from-internal-00000001;2 | channelstatedesc: Ring | calleridnum: 101 | connectedlinenum: 103 | context: from-internal | exten: 103 | uniqueid: 1795632389.11 | linkedid: 1795632388.8 | destchannel: PJSIP/103-00000008 | destuniqueid: 1795632389.12 | dialstatus: ANSWER
Newstate | channel: Local/103@from-internal-00000001;2 | channelstatedesc: Up | calleridnum: 101 | connectedlinenum: 103 | context: from-internal | exten: 103 | uniqueid: 1795632389.11 | linkedid: 1795632388.8
BridgeCreate | bridgeuniqueid: 76da19db-0bb3-4b4e-94f0-0bd33b1bca2a | bridgenumchannels: 0
Newstate | channel: Local/103@from-internal-00000001;1 | channelstatedesc: Up | calleridnum: 103 | connectedlinenum: 101 | context: from-internal | exten: 103 | uniqueid: 1795632389.10 | linkedid: 1795632388.8
NewCallerid | channel: Local/103@from-internal-00000001;1 | channelstatedesc: Up | calleridnum: 103 | connectedlinenum: 101 | context: from-internal | exten: 103 | uniqueid: 1795632389.10 | linkedid: 1795632388.8
DialEnd | destchannel: Local/103@from-internal-00000001;1 | destuniqueid: 1795632389.10 | destexten: 103 | dialstatus: ANSWER
BridgeEnter | channel: PJSIP/103-00000008 | channelstatedesc: Up | calleridnum: 103 | connectedlinenum: 101 | context: from-internal | uniqueid: 1795632389.12 | linkedid: 1795632388.8 | bridgeuniqueid: 76da19db-0bb3-4b4e-94f0-0bd33b1bca2a | bridgenumchannels: 1
BridgeEnter | channel: Local/103@from-internal-00000001;2 | channelstatedesc: Up | calleridnum: 101 | connectedlinenum: 103 | context: from-internal | exten: 103 | uniqueid: 1795632389.11 | linkedid: 1795632388.8 | bridgeuniqueid: 76da19db-0bb3-4b4e-94f0-0bd33b1bca2a | bridgenumchannels: 2
BridgeLeave | channel: PJSIP/101-00000007 | channelstatedesc: Up | calleridnum: 101 | connectedlinenum: 103 | context: from-internal | uniqueid: 1795632388.9 | linkedid: 1795632388.8 | bridgeuniqueid: db0243c1-ac19-46e0-9cbb-75933fd398a2 | bridgenumchannels: 1
BridgeEnter | channel: PJSIP/101-00000007 | channelstatedesc: Up | calleridnum: 101 | connectedlinenum: 103 | context: from-internal | uniqueid: 1795632388.9 | linkedid: 1795632388.8 | bridgeuniqueid: 8388a3ee-cbc0-47ea-b5bc-a825ac4f68eb | bridgenumchannels: 2
MusicOnHoldStop | channel: PJSIP/customer1-00000006 | channelstatedesc: Up | calleridnum: +15550000001 | connectedlinenum: 101 | context: from-customers | exten: 101 | uniqueid: 1795632388.8 | linkedid: 1795632388.8
Unhold | channel: PJSIP/101-00000007 | channelstatedesc: Up | calleridnum: 101 | connectedlinenum: 103 | context: from-internal | uniqueid: 1795632388.9 | linkedid: 1795632388.8
BridgeLeave | channel: Local/103@from-internal-00000001;1 | channelstatedesc: Up | calleridnum: 103 | connectedlinenum: 101 | context: from-internal | exten: 103 | uniqueid: 1795632389.10 | linkedid: 1795632388.8 | bridgeuniqueid: db0243c1-ac19-46e0-9cbb-75933fd398a2 | bridgenumchannels: 0
BridgeDestroy | bridgeuniqueid: db0243c1-ac19-46e0-9cbb-75933fd398a2 | bridgenumchannels: 0
Hangup | channel: Local/103@from-internal-00000001;1 | channelstatedesc: Up | calleridnum: 103 | connectedlinenum: 101 | context: from-internal | exten: 103 | uniqueid: 1795632389.10 | linkedid: 1795632388.8 | cause: 16 | cause-txt: Normal Clearing
BridgeLeave | channel: Local/103@from-internal-00000001;2 | channelstatedesc: Up | calleridnum: 101 | connectedlinenum: 103 | context: from-internal | exten: 103 | uniqueid: 1795632389.11 | linkedid: 1795632388.8 | bridgeuniqueid: 76da19db-0bb3-4b4e-94f0-0bd33b1bca2a | bridgenumchannels: 1
Hangup | channel: Local/103@from-internal-00000001;2 | channelstatedesc: Up | calleridnum: 101 | connectedlinenum: 103 | context: from-internal | exten: 103 | uniqueid: 1795632389.11 | linkedid: 1795632388.8 | cause: 16 | cause-txt: Normal Clearing
BridgeLeave | channel: PJSIP/103-00000008 | channelstatedesc: Up | calleridnum: 103 | connectedlinenum: 101 | context: from-internal | uniqueid: 1795632389.12 | linkedid: 1795632388.8 | bridgeuniqueid: 76da19db-0bb3-4b4e-94f0-0bd33b1bca2a | bridgenumchannels: 0
BridgeDestroy | bridgeuniqueid: 76da19db-0bb3-4b4e-94f0-0bd33b1bca2a | bridgenumchannels: 0
Hangup | channel: PJSIP/103-00000008 | channelstatedesc: Up | calleridnum: 103 | connectedlinenum: 101 | context: from-internal | uniqueid: 1795632389.12 | linkedid: 1795632388.8 | cause: 16 | cause-txt: Normal Clearing
NewConnectedLine | channel: PJSIP/101-00000007 | channelstatedesc: Up | calleridnum: 101 | connectedlinenum: +15550000001 | context: from-internal | uniqueid: 1795632388.9 | linkedid: 1795632388.8
`

/** The customer of the cancelled transfer hangs up: the call ends for 101. */
export const customerHangsUp = `
BridgeLeave | channel: PJSIP/customer1-00000006 | channelstatedesc: Up | calleridnum: +15550000001 | connectedlinenum: 101 | context: from-customers | exten: 101 | uniqueid: 1795632388.8 | linkedid: 1795632388.8 | bridgeuniqueid: 8388a3ee-cbc0-47ea-b5bc-a825ac4f68eb | bridgenumchannels: 1
BridgeLeave | channel: PJSIP/101-00000007 | channelstatedesc: Up | calleridnum: 101 | connectedlinenum: +15550000001 | context: from-internal | uniqueid: 1795632388.9 | linkedid: 1795632388.8 | bridgeuniqueid: 8388a3ee-cbc0-47ea-b5bc-a825ac4f68eb | bridgenumchannels: 0
BridgeDestroy | bridgeuniqueid: 8388a3ee-cbc0-47ea-b5bc-a825ac4f68eb | bridgenumchannels: 0
Hangup | channel: PJSIP/customer1-00000006 | channelstatedesc: Up | calleridnum: +15550000001 | connectedlinenum: 101 | context: from-customers | exten: 101 | uniqueid: 1795632388.8 | linkedid: 1795632388.8 | cause: 16 | cause-txt: Normal Clearing
Hangup | channel: PJSIP/101-00000007 | channelstatedesc: Up | calleridnum: 101 | connectedlinenum: +15550000001 | context: from-internal | uniqueid: 1795632388.9 | linkedid: 1795632388.8 | cause: 16 | cause-txt: Normal Clearing
`

/** ARI after callTo101. */
export const snapshotCallUp: CallSnapshot = {
  channels: [
    { id: '1795632382.1', name: 'PJSIP/101-00000001', state: 'Up', callerNumber: '101', connectedNumber: '+15550000001', dialplan: { context: 'from-internal', exten: '' }, createdAt: '2026-11-25T18:46:22.213+0000' },
    { id: '1795632382.0', name: 'PJSIP/customer1-00000000', state: 'Up', callerNumber: '+15550000001', connectedNumber: '101', dialplan: { context: 'from-customers', exten: '101' }, createdAt: '2026-11-25T18:46:22.212+0000' }
  ],
  bridges: [
    { id: 'c054bfaa-3cda-48cd-a136-03c5fd7734b4', technology: 'simple_bridge', bridgeType: 'mixing', channelIds: ['1795632382.0', '1795632382.1'] }
  ]
}

/** ARI after atxfer101To103: 101 with Local;1, Local;2 with 103, the customer alone (on hold). */
export const snapshotConsulting: CallSnapshot = {
  channels: [
    { id: '1795632382.1', name: 'PJSIP/101-00000001', state: 'Up', callerNumber: '101', connectedNumber: '103', dialplan: { context: 'from-internal', exten: '' }, createdAt: '2026-11-25T18:46:22.213+0000' },
    { id: '1795632382.0', name: 'PJSIP/customer1-00000000', state: 'Up', callerNumber: '+15550000001', connectedNumber: '101', dialplan: { context: 'from-customers', exten: '101' }, createdAt: '2026-11-25T18:46:22.212+0000' },
    { id: '1795632383.4', name: 'PJSIP/103-00000002', state: 'Up', callerNumber: '103', connectedNumber: '101', dialplan: { context: 'from-internal', exten: '' }, createdAt: '2026-11-25T18:46:23.275+0000' },
    { id: '1795632383.2', name: 'Local/103@from-internal-00000000;1', state: 'Up', callerNumber: '103', connectedNumber: '101', dialplan: { context: 'from-internal', exten: '103' }, createdAt: '2026-11-25T18:46:23.274+0000' },
    { id: '1795632383.3', name: 'Local/103@from-internal-00000000;2', state: 'Up', callerNumber: '101', connectedNumber: '103', dialplan: { context: 'from-internal', exten: '103' }, createdAt: '2026-11-25T18:46:23.274+0000' }
  ],
  bridges: [
    { id: '9912b7ea-c43a-44aa-be00-fc7495a86679', technology: 'simple_bridge', bridgeType: 'mixing', channelIds: ['1795632382.1', '1795632383.2'] },
    { id: 'be4e8ee8-d989-4810-b69e-4ac24bf984ac', technology: 'simple_bridge', bridgeType: 'mixing', channelIds: ['1795632383.3', '1795632383.4'] },
    { id: 'c054bfaa-3cda-48cd-a136-03c5fd7734b4', technology: 'simple_bridge', bridgeType: 'mixing', channelIds: ['1795632382.0'] }
  ]
}

/** ARI after atxferCompletedBy101HangingUp: the customer with Local;1, Local;2 with 103. */
export const snapshotCompleted: CallSnapshot = {
  channels: [
    { id: '1795632382.0', name: 'PJSIP/customer1-00000000', state: 'Up', callerNumber: '+15550000001', connectedNumber: '103', dialplan: { context: 'from-customers', exten: '101' }, createdAt: '2026-11-25T18:46:22.212+0000' },
    { id: '1795632383.4', name: 'PJSIP/103-00000002', state: 'Up', callerNumber: '103', connectedNumber: '+15550000001', dialplan: { context: 'from-internal', exten: '' }, createdAt: '2026-11-25T18:46:23.275+0000' },
    { id: '1795632383.2', name: 'Local/103@from-internal-00000000;1', state: 'Up', callerNumber: '103', connectedNumber: '+15550000001', dialplan: { context: 'from-internal', exten: '103' }, createdAt: '2026-11-25T18:46:23.274+0000' },
    { id: '1795632383.3', name: 'Local/103@from-internal-00000000;2', state: 'Up', callerNumber: '101', connectedNumber: '103', dialplan: { context: 'from-internal', exten: '103' }, createdAt: '2026-11-25T18:46:23.274+0000' }
  ],
  bridges: [
    { id: 'be4e8ee8-d989-4810-b69e-4ac24bf984ac', technology: 'simple_bridge', bridgeType: 'mixing', channelIds: ['1795632383.3', '1795632383.4'] },
    { id: 'c054bfaa-3cda-48cd-a136-03c5fd7734b4', technology: 'simple_bridge', bridgeType: 'mixing', channelIds: ['1795632382.0', '1795632383.2'] }
  ]
}
