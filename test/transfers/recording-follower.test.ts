import t from 'tap'
import type { Transfer } from '../../src/domain/transfer.js'
import { MemoryTransferStore } from '../../src/store/memory-transfer-store.js'
import { silentLogger } from '../../src/support/logger.js'
import { customerRecordingFile, RecordingFollower, withRecordings } from '../../src/transfers/recording-follower.js'
import { DEFAULT_DEADLINES } from '../../src/transfers/service-options.js'
import { TransferLedger } from '../../src/transfers/transfer-ledger.js'
import { AGENT, CUSTOMER, FakePbx } from '../helpers/fake-pbx.js'
import { ManualClock } from '../helpers/manual-clock.js'
import { transferRecord } from '../helpers/transfer-records.js'

const AGENT_FILE = '/var/spool/asterisk/monitor/q-support-42.wav'
const CUSTOMER_FILE = '/var/spool/asterisk/monitor/q-support-42-transferred.wav'
const ids = { uniqueIds: { agent: '10.2', peer: '10.1' } }

function setUp (fields: Partial<Transfer>): { pbx: FakePbx, ledger: TransferLedger, follower: RecordingFollower, transfer: ReturnType<TransferLedger['open']> } {
  const pbx = new FakePbx()
  const ledger = new TransferLedger({ store: new MemoryTransferStore('local'), deadlines: DEFAULT_DEADLINES, maxActive: 10, clock: new ManualClock(), logger: silentLogger })
  const follower = new RecordingFollower(pbx, ledger, silentLogger)
  const transfer = ledger.open(transferRecord({ status: 'initiated', ...ids, ...fields }), { exten: '103', context: 'from-internal', kind: 'agent' })
  return { pbx, ledger, follower, transfer }
}

/** The agent's leg recorded; its file is read as the recording starts (when `readAtStart`), else at the transfer. */
const recordedAgent = async (pbx: FakePbx, follower: RecordingFollower, readAtStart = false): Promise<void> => {
  if (readAtStart) await pbx.setVariable(AGENT, 'MIXMONITOR_FILENAME', AGENT_FILE)
  follower.observe({ type: 'mixMonitorStart', channel: AGENT, uniqueId: '10.2', linkedId: '10.1' })
  await new Promise((resolve) => setImmediate(resolve))
  if (!readAtStart) await pbx.setVariable(AGENT, 'MIXMONITOR_FILENAME', AGENT_FILE)
}

/** Counts the Getvar of recording files. */
const countReads = (pbx: FakePbx): { reads: number } => {
  const counter = { reads: 0 }
  const getVariable = pbx.getVariable.bind(pbx)
  pbx.getVariable = async (channel, name) => {
    if (name === 'MIXMONITOR_FILENAME') counter.reads++
    return await getVariable(channel, name)
  }
  return counter
}

t.test('the customer\'s file is named after the agent\'s, before its extension', async (t) => {
  t.equal(customerRecordingFile(AGENT_FILE), CUSTOMER_FILE)
  t.equal(customerRecordingFile('/var/spool/asterisk/monitor/call'), '/var/spool/asterisk/monitor/call-transferred')
  t.equal(customerRecordingFile('/rec.d/2026/call'), '/rec.d/2026/call-transferred', 'a dot in a directory is no extension')
  t.equal(customerRecordingFile('call.tar.wav'), 'call.tar-transferred.wav')
})

t.test('withRecordings adds each file once and no empty name', async (t) => {
  const record = withRecordings(transferRecord(), ['a.wav', '', 'b.wav'])
  t.same(record.recordings, ['a.wav', 'b.wav'])
  t.equal(withRecordings(record, ['a.wav']), record)
})

t.test('blind: the agent\'s leg recorded, the customer\'s recording starts before the Redirect and the record lists both', async (t) => {
  const { pbx, follower, transfer } = setUp({ type: 'blind' })
  await recordedAgent(pbx, follower)
  await follower.beforeRedirect(transfer)
  t.same(pbx.calls.filter((call) => call.method === 'startRecording').map((call) => call.args), [[CUSTOMER, CUSTOMER_FILE]])
  t.same(transfer.record.recordings, [AGENT_FILE, CUSTOMER_FILE])
  t.ok(follower.watch.isRecorded('10.1'), 'the customer counts as recorded at once')
})

t.test('blind: a call nobody records costs no action; a customer recorded on their own channel is left alone and listed', async (t) => {
  const bare = setUp({ type: 'blind' })
  await bare.follower.beforeRedirect(bare.transfer)
  t.same(bare.pbx.calls, [])
  t.equal(bare.transfer.record.recordings, undefined)

  const own = setUp({ type: 'blind' })
  own.follower.observe({ type: 'mixMonitorStart', channel: CUSTOMER, uniqueId: '10.1', linkedId: '10.1' })
  await own.pbx.setVariable(CUSTOMER, 'MIXMONITOR_FILENAME', '/var/spool/asterisk/monitor/inbound-7.wav')
  await recordedAgent(own.pbx, own.follower)
  await own.follower.beforeRedirect(own.transfer)
  t.same(own.pbx.calls.filter((call) => call.method === 'startRecording'), [], 'no second recording of the customer')
  t.same(own.transfer.record.recordings, [AGENT_FILE, '/var/spool/asterisk/monitor/inbound-7.wav'])
})

t.test('blind: a MixMonitor Asterisk refuses does not stop the transfer', async (t) => {
  const { pbx, follower, transfer } = setUp({ type: 'blind' })
  await recordedAgent(pbx, follower)
  pbx.startRecording = async () => { throw new Error('No such channel') }
  await follower.beforeRedirect(transfer)
  t.equal(transfer.record.recordings, undefined)
  t.notOk(follower.watch.isRecorded('10.1'))
})

t.test('attended: the agent\'s file read at the start, the customer\'s recording started before a complete asked through the plugin', async (t) => {
  const { pbx, ledger, follower, transfer } = setUp({ type: 'attended' })
  await recordedAgent(pbx, follower)
  const consulting = { ...transfer.record, status: 'consulting' as const }
  t.equal(follower.entering(transfer, consulting), consulting)
  ledger.amend(transfer, consulting)
  await new Promise((resolve) => setImmediate(resolve))
  t.same(transfer.record.recordings, [AGENT_FILE], 'listed once read')
  t.same(pbx.calls.filter((call) => call.method === 'startRecording'), [], 'nothing started during the consultation')
  await follower.beforeCompletion(transfer.record)
  await follower.beforeCompletion(transfer.record)
  t.same(pbx.calls.filter((call) => call.method === 'startRecording').map((call) => call.args), [[CUSTOMER, CUSTOMER_FILE]], 'started once')
  const completed = follower.entering(transfer, { ...transfer.record, status: 'completed' })
  t.same(completed.recordings, [AGENT_FILE, CUSTOMER_FILE])
  t.equal(pbx.calls.filter((call) => call.method === 'startRecording').length, 1, 'not started again at completion')
})

t.test('attended completed by the agent\'s phone: the customer\'s recording starts as the completion is seen; a cancel starts none', async (t) => {
  const phone = setUp({ type: 'attended' })
  await recordedAgent(phone.pbx, phone.follower)
  phone.follower.entering(phone.transfer, { ...phone.transfer.record, status: 'consulting' })
  await new Promise((resolve) => setImmediate(resolve))
  const completed = phone.follower.entering(phone.transfer, { ...phone.transfer.record, status: 'completed' })
  t.same(completed.recordings, [AGENT_FILE, CUSTOMER_FILE])
  await new Promise((resolve) => setImmediate(resolve))
  t.same(phone.pbx.recordings.get(CUSTOMER), CUSTOMER_FILE)

  const cancel = setUp({ type: 'attended' })
  await recordedAgent(cancel.pbx, cancel.follower)
  cancel.follower.entering(cancel.transfer, { ...cancel.transfer.record, status: 'consulting' })
  await new Promise((resolve) => setImmediate(resolve))
  const cancelled = cancel.follower.entering(cancel.transfer, { ...cancel.transfer.record, status: 'cancelled' })
  t.same(cancelled.recordings, [AGENT_FILE], 'the agent keeps the call and its own recording')
  t.equal(cancel.pbx.recordings.size, 0)
})

t.test('a recording\'s file is read once, as it starts: a blind transfer then starts the customer\'s without reading it again', async (t) => {
  const { pbx, follower, transfer } = setUp({ type: 'blind' })
  const counter = countReads(pbx)
  await recordedAgent(pbx, follower, true)
  t.equal(counter.reads, 1, 'read at the MixMonitorStart')
  t.equal(follower.watch.fileOf('10.2'), AGENT_FILE)
  await follower.beforeRedirect(transfer)
  t.equal(counter.reads, 1, 'not read again before the Redirect')
  t.same(transfer.record.recordings, [AGENT_FILE, CUSTOMER_FILE])
})

t.test('the agent\'s phone\'s own blind transfer, seen after the agent\'s leg hung up: the customer is recorded', async (t) => {
  const { pbx, follower, transfer } = setUp({ type: 'blind', origin: 'phone' })
  await recordedAgent(pbx, follower, true)
  follower.observe({ type: 'hangup', cause: 'Normal Clearing', channel: AGENT, uniqueId: '10.2', linkedId: '10.1' })
  t.notOk(follower.watch.isRecorded('10.2'), 'the agent\'s leg is gone')
  const redirected = follower.entering(transfer, { ...transfer.record, status: 'redirected' })
  t.same(redirected.recordings, [AGENT_FILE, CUSTOMER_FILE])
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(pbx.recordings.get(CUSTOMER), CUSTOMER_FILE)
  const answered = { ...redirected, status: 'answered' as const }
  t.equal(follower.entering(transfer, answered), answered, 'answered: nothing more')
  t.equal(pbx.calls.filter((call) => call.method === 'startRecording').length, 1, 'started once')
})

t.test('a blind transfer through the plugin is not followed again when it enters its next state', async (t) => {
  const { pbx, follower, transfer } = setUp({ type: 'blind' })
  await recordedAgent(pbx, follower, true)
  const redirected = { ...transfer.record, status: 'redirected' as const }
  t.equal(follower.entering(transfer, redirected), redirected, 'the plugin\'s own blind transfer started it before the Redirect')
  t.same(pbx.calls.filter((call) => call.method === 'startRecording'), [])
})
