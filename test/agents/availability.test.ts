import t from 'tap'
import { availability, type AgentFacts, type Availability } from '../../src/agents/availability.js'

/** A registered, idle agent, in no queue: available. Each case changes what it names. */
const idle: AgentFacts = { registration: 'online', deviceState: 'NOT_INUSE', calls: [], pauses: [] }
const facts = (overrides: Partial<AgentFacts>): AgentFacts => ({ ...idle, ...overrides })

const lunch = { queue: 'sales', reason: 'lunch' }

function check (cases: Array<[string, Partial<AgentFacts>, Availability]>): void {
  for (const [name, overrides, expected] of cases) {
    t.test(name, async (t) => { t.same(availability(facts(overrides)), expected) })
  }
}

check([
  ['registered, device idle, no call, no pause: available', {}, { state: 'available' }]
])

// 1. offline: whatever else is true, a phone that cannot ring takes no transfer.
check([
  ['endpoint not registered: offline', { registration: 'offline' }, { state: 'offline', reason: 'not registered' }],
  ['device UNAVAILABLE (no reachable contact): offline, not registered', { deviceState: 'UNAVAILABLE' }, { state: 'offline', reason: 'not registered' }],
  ['device INVALID: offline', { deviceState: 'INVALID' }, { state: 'offline', reason: 'no such device' }],
  ['nothing known of the registration and the device: offline', { registration: undefined, deviceState: undefined }, { state: 'offline', reason: 'unknown to Asterisk' }],
  ['device UNKNOWN and no registration known: offline', { registration: undefined, deviceState: 'UNKNOWN' }, { state: 'offline', reason: 'unknown to Asterisk' }],
  ['not registered beats a consultation, a hold, a call and a pause', { registration: 'offline', calls: ['in_consultation', 'on_hold', 'up'], pauses: [lunch] }, { state: 'offline', reason: 'not registered' }],
  ['device UNAVAILABLE beats a registration still said online', { registration: 'online', deviceState: 'UNAVAILABLE', calls: ['up'] }, { state: 'offline', reason: 'not registered' }],
  ['not registered beats a device state still idle', { registration: 'offline', deviceState: 'NOT_INUSE' }, { state: 'offline', reason: 'not registered' }]
])

// Registration or device state alone is enough sign of life.
check([
  ['registration unknown (ARI "unknown") but device idle: available', { registration: undefined }, { state: 'available' }],
  ['registered, device state not known: available', { deviceState: undefined }, { state: 'available' }],
  ['registered, device UNKNOWN: available', { deviceState: 'UNKNOWN' }, { state: 'available' }],
  ['device state compared case-insensitively', { deviceState: 'unavailable' }, { state: 'offline', reason: 'not registered' }]
])

// 2-5. busy: the most engaged state wins, from the monitor's calls or the device state.
check([
  ['a consultation call: in_consultation', { calls: ['in_consultation'] }, { state: 'in_consultation', reason: 'in a consultation call' }],
  ['a call on hold: on_hold', { calls: ['on_hold'] }, { state: 'on_hold', reason: 'has a call on hold' }],
  ['a call up: on_call', { calls: ['up'] }, { state: 'on_call', reason: 'on a call' }],
  ['a call ringing: ringing', { calls: ['ringing'] }, { state: 'ringing', reason: 'phone ringing' }],
  ['consultation beats a hold and a call', { calls: ['up', 'on_hold', 'in_consultation'] }, { state: 'in_consultation', reason: 'in a consultation call' }],
  ['hold beats a call up', { calls: ['up', 'on_hold'] }, { state: 'on_hold', reason: 'has a call on hold' }],
  ['a call up beats a second call ringing', { calls: ['ringing', 'up'] }, { state: 'on_call', reason: 'on a call' }],
  ['device INUSE without a monitored call: on_call', { deviceState: 'INUSE' }, { state: 'on_call', reason: 'on a call' }],
  ['device BUSY (device_state_busy_at reached): on_call', { deviceState: 'BUSY' }, { state: 'on_call', reason: 'on a call' }],
  ['device RINGINUSE (a call rings while one is up): on_call', { deviceState: 'RINGINUSE' }, { state: 'on_call', reason: 'on a call' }],
  ['device RINGING: ringing', { deviceState: 'RINGING' }, { state: 'ringing', reason: 'phone ringing' }],
  ['device ONHOLD: on_hold', { deviceState: 'ONHOLD' }, { state: 'on_hold', reason: 'has a call on hold' }],
  ['a monitored consultation beats a device merely INUSE', { deviceState: 'INUSE', calls: ['in_consultation'] }, { state: 'in_consultation', reason: 'in a consultation call' }],
  ['a device INUSE beats a monitored call still ringing', { deviceState: 'INUSE', calls: ['ringing'] }, { state: 'on_call', reason: 'on a call' }],
  ['a device still INUSE after the monitor saw the call end: on_call until it says NOT_INUSE', { deviceState: 'INUSE', calls: [] }, { state: 'on_call', reason: 'on a call' }],
  ['registration unknown but device INUSE: on_call', { registration: undefined, deviceState: 'INUSE' }, { state: 'on_call', reason: 'on a call' }]
])

// 6. paused only when idle: a busy agent says why it is busy first.
check([
  ['paused in one queue with a reason', { pauses: [lunch] }, { state: 'paused', reason: 'paused in queue sales (lunch)' }],
  ['paused in one queue without a reason', { pauses: [{ queue: 'sales' }] }, { state: 'paused', reason: 'paused in queue sales' }],
  ['an empty reason is no reason', { pauses: [{ queue: 'sales', reason: '' }] }, { state: 'paused', reason: 'paused in queue sales' }],
  ['paused in several queues: each named, sorted', { pauses: [{ queue: 'support' }, lunch] }, { state: 'paused', reason: 'paused in queues sales (lunch), support' }],
  ['one queue named once when the agent is a member twice', { pauses: [{ queue: 'sales' }, lunch] }, { state: 'paused', reason: 'paused in queue sales (lunch)' }],
  ['on a call beats paused', { calls: ['up'], pauses: [lunch] }, { state: 'on_call', reason: 'on a call' }],
  ['ringing beats paused', { deviceState: 'RINGING', pauses: [lunch] }, { state: 'ringing', reason: 'phone ringing' }]
])
