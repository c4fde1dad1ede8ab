// Synthetic calls as PbxEvents, in the order Asterisk 22 sends them (see test/helpers/fake-pbx.ts for the
// recorded sequences), each with its own channels, uniqueids and bridges, for feeding thousands of calls
// to the services through a FakePbx.
import type { PbxEvent } from '../../src/asterisk/ami-events.js'

export interface SyntheticCall {
  agent: string
  customer: string
  /** The agent's extension. */
  extension: string
  bridgeId: string
  /** First of the uniqueids this call uses. */
  serial: number
}

const CONTEXT = 'from-internal'
const EPOCH = 1795700000

function uniqueId (serial: number): string {
  return `${EPOCH}.${serial}`
}

/** Call number `index` to agent `extension`; `serial` numbers its channels apart from every other call's. */
export function syntheticCall (index: number, extension: string): SyntheticCall {
  const serial = index * 8
  const hex = (offset: number): string => (serial + offset).toString(16).padStart(8, '0')
  return { agent: `PJSIP/${extension}-${hex(1)}`, customer: `PJSIP/trunk-${hex(0)}`, extension, bridgeId: `bridge-${index}`, serial }
}

function ref (call: SyntheticCall, name: string): { channel: string, uniqueId: string, linkedId: string } {
  const offset = name === call.customer ? 0 : name === call.agent ? 1 : name.endsWith(';1') ? 2 : name.endsWith(';2') ? 3 : 4
  return { channel: name, uniqueId: uniqueId(call.serial + offset), linkedId: uniqueId(call.serial) }
}

/** The customer rings the agent, the agent answers, both are bridged. */
export function answered (call: SyntheticCall): PbxEvent[] {
  const { agent, customer, bridgeId } = call
  return [
    { type: 'newChannel', ...ref(call, customer), exten: call.extension, context: 'from-customers', state: 'Ring' },
    { type: 'newChannel', ...ref(call, agent), exten: 's', context: CONTEXT, state: 'Down' },
    { type: 'dialBegin', channel: customer, destChannel: agent, destUniqueId: ref(call, agent).uniqueId, destExten: call.extension, dialString: call.extension },
    { type: 'newState', ...ref(call, agent), state: 'Up' },
    { type: 'dialEnd', channel: customer, destChannel: agent, destUniqueId: ref(call, agent).uniqueId, dialStatus: 'ANSWER' },
    { type: 'newState', ...ref(call, customer), state: 'Up' },
    { type: 'bridgeEnter', ...ref(call, agent), bridgeId, bridgeNumChannels: 1 },
    { type: 'bridgeEnter', ...ref(call, customer), bridgeId, bridgeNumChannels: 2 }
  ]
}

/** Both hang up. */
export function hungUp (call: SyntheticCall): PbxEvent[] {
  const { agent, customer, bridgeId } = call
  return [
    { type: 'bridgeLeave', ...ref(call, customer), bridgeId, bridgeNumChannels: 1 },
    { type: 'bridgeLeave', ...ref(call, agent), bridgeId, bridgeNumChannels: 0 },
    { type: 'hangup', ...ref(call, customer), cause: 'Normal Clearing' },
    { type: 'hangup', ...ref(call, agent), cause: 'Normal Clearing' }
  ]
}

/** The leg of the transfer target dialed for this call. */
export function targetLeg (call: SyntheticCall, target: string): string {
  return `PJSIP/${target}-${(call.serial + 4).toString(16).padStart(8, '0')}`
}

/** After AMI Redirect of the customer to `target`: the agent's leg goes, the customer dials the target, who answers. */
export function redirectedTo (call: SyntheticCall, target: string): PbxEvent[] {
  const { agent, customer, bridgeId } = call
  const leg = targetLeg(call, target)
  const legRef = ref(call, leg)
  const after = `${bridgeId}-after`
  return [
    { type: 'bridgeLeave', ...ref(call, customer), bridgeId, bridgeNumChannels: 1 },
    { type: 'bridgeLeave', ...ref(call, agent), bridgeId, bridgeNumChannels: 0 },
    { type: 'hangup', ...ref(call, agent), cause: 'Normal Clearing' },
    { type: 'newChannel', ...legRef, exten: target, context: CONTEXT, state: 'Down' },
    { type: 'dialBegin', channel: customer, destChannel: leg, destUniqueId: legRef.uniqueId, destExten: target, dialString: target },
    { type: 'newState', ...legRef, state: 'Up' },
    { type: 'dialEnd', channel: customer, destChannel: leg, destUniqueId: legRef.uniqueId, dialStatus: 'ANSWER' },
    { type: 'bridgeEnter', ...legRef, bridgeId: after, bridgeNumChannels: 1 },
    { type: 'bridgeEnter', ...ref(call, customer), bridgeId: after, bridgeNumChannels: 2 }
  ]
}

/** The customer and the target hang up after a blind transfer. */
export function transferredHungUp (call: SyntheticCall, target: string): PbxEvent[] {
  const leg = targetLeg(call, target)
  const bridgeId = `${call.bridgeId}-after`
  return [
    { type: 'bridgeLeave', ...ref(call, call.customer), bridgeId, bridgeNumChannels: 1 },
    { type: 'bridgeLeave', ...ref(call, leg), bridgeId, bridgeNumChannels: 0 },
    { type: 'hangup', ...ref(call, call.customer), cause: 'Normal Clearing' },
    { type: 'hangup', ...ref(call, leg), cause: 'Normal Clearing' }
  ]
}
