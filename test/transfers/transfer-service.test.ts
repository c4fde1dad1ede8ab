import { EventEmitter } from 'node:events'
import t from 'tap'
import type { PbxEvent } from '../../src/asterisk/ami-events.js'
import type { PbxBridge, PbxChannel, PbxEndpoint } from '../../src/asterisk/ari-client.js'
import type { CallSnapshot, Pbx, PbxEvents } from '../../src/asterisk/pbx.js'
import { ChannelGoneError } from '../../src/errors.js'
import type { TransferEventMap, TransferEventName } from '../../src/transfers/transfer-events.js'
import { TransferService, type TransferRequest } from '../../src/transfers/transfer-service.js'

const AGENT = 'PJSIP/101-0000002a'
const CUSTOMER = 'PJSIP/trunk-00000029'
const LOCAL_1 = 'Local/103@from-internal-00000001;1'
const CONTEXT = 'from-internal'

interface PbxCall { method: string, args: unknown[] }

/** A `Pbx` that serves a fixed snapshot and dialplan, records every call, and lets a test script the actions. */
class FakePbx implements Pbx {
  readonly events = new EventEmitter<PbxEvents>()
  readonly calls: PbxCall[] = []
  snapshotValue: CallSnapshot = { channels: [], bridges: [] }
  /** `exten@context` pairs that exist in the dialplan. */
  dialplan = new Set<string>([`102@${CONTEXT}`, `103@${CONTEXT}`])
  onRedirect: (channel: string, exten: string, context: string) => Promise<void> = async () => {}
  onAttendedTransfer: (channel: string, exten: string, context: string) => Promise<void> = async () => {}

  connectionState (): { ami: boolean, ari: boolean } {
    return { ami: true, ari: true }
  }

  async snapshot (): Promise<CallSnapshot> {
    this.calls.push({ method: 'snapshot', args: [] })
    return this.snapshotValue
  }

  async endpoints (): Promise<PbxEndpoint[]> {
    this.calls.push({ method: 'endpoints', args: [] })
    return []
  }

  async extensionExists (context: string, exten: string): Promise<boolean> {
    this.calls.push({ method: 'extensionExists', args: [context, exten] })
    return this.dialplan.has(`${exten}@${context}`)
  }

  async redirect (channel: string, exten: string, context: string): Promise<void> {
    this.calls.push({ method: 'redirect', args: [channel, exten, context] })
    await this.onRedirect(channel, exten, context)
  }

  async attendedTransfer (channel: string, exten: string, context: string): Promise<void> {
    this.calls.push({ method: 'attendedTransfer', args: [channel, exten, context] })
    await this.onAttendedTransfer(channel, exten, context)
  }

  emit (event: PbxEvent): void {
    this.events.emit('event', event)
  }

  /** The calls that act on a call (everything but lookups). */
  actions (): PbxCall[] {
    return this.calls.filter((call) => call.method === 'redirect' || call.method === 'attendedTransfer')
  }
}

function channel (id: string, name: string, state = 'Up'): PbxChannel {
  return { id, name, state, callerNumber: '', connectedNumber: '', dialplan: { context: CONTEXT, exten: '' }, createdAt: '2024-04-01T10:00:00.000+0000' }
}

function bridge (id: string, ...channelIds: string[]): PbxBridge {
  return { id, technology: 'simple_bridge', bridgeType: 'mixing', channelIds }
}

/** Agent 101 talking to a customer in bridge b1. */
function bridgedCall (): CallSnapshot {
  return { channels: [channel('c1', CUSTOMER), channel('a1', AGENT)], bridges: [bridge('b1', 'c1', 'a1')] }
}

const ref = (name: string): { channel: string, uniqueId: string, linkedId: string } => ({ channel: name, uniqueId: `u-${name}`, linkedId: 'call-1' })
const hold = (name: string): PbxEvent => ({ type: 'hold', ...ref(name) })
const hangup = (name: string): PbxEvent => ({ type: 'hangup', ...ref(name), cause: 'Normal Clearing' })
const localDial = (): PbxEvent => ({ type: 'newChannel', ...ref(LOCAL_1), exten: '103', context: CONTEXT, state: 'Down' })

const TRANSFER_EVENTS: TransferEventName[] = ['call:transfer_initiated', 'call:ami_transfer_complete', 'call:ami_transfer_failed', 'call:ami_attended_transfer_started']

interface Setup {
  pbx: FakePbx
  service: TransferService
  /** Every transfer event published, in order. */
  published: Array<{ name: TransferEventName, payload: TransferEventMap[TransferEventName] }>
}

function setup (consultationTimeoutMs = 100): Setup {
  const pbx = new FakePbx()
  pbx.snapshotValue = bridgedCall()
  const service = new TransferService(pbx, { transferContext: CONTEXT, channelTechnology: 'PJSIP', consultationTimeoutMs })
  const published: Setup['published'] = []
  for (const name of TRANSFER_EVENTS) {
    service.events.on(name, (payload: TransferEventMap[TransferEventName]) => { published.push({ name, payload }) })
  }
  return { pbx, service, published }
}

function request (overrides: Partial<TransferRequest> = {}): TransferRequest {
  return { extension: '101', targetExtension: '103', transferType: 'blind', requestedBy: '101', ...overrides }
}

const names = (published: Setup['published']): string[] => published.map((event) => event.name)
const listeners = (pbx: FakePbx): number => pbx.events.listenerCount('event')
const later = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

t.test('refusals before any PBX action', async (t) => {
  t.test('same extension as target: XFER_TARGET_IS_SOURCE, the PBX is not even asked', async (t) => {
    const { pbx, service, published } = setup()
    await t.rejects(service.execute(request({ targetExtension: '101' })), { code: 'XFER_TARGET_IS_SOURCE', statusCode: 422 })
    t.same(pbx.calls, [])
    t.same(published, [])
  })

  t.test('no channel for the extension: XFER_NO_ACTIVE_CHANNEL', async (t) => {
    const { pbx, service, published } = setup()
    pbx.snapshotValue = { channels: [], bridges: [] }
    await t.rejects(service.execute(request()), { code: 'XFER_NO_ACTIVE_CHANNEL', statusCode: 404, message: /101/ })
    t.same(pbx.actions(), [])
    t.same(published, [])
  })

  t.test('a missing call is reported before a missing target', async (t) => {
    const { pbx, service } = setup()
    pbx.snapshotValue = { channels: [], bridges: [] }
    await t.rejects(service.execute(request({ targetExtension: '999' })), { code: 'XFER_NO_ACTIVE_CHANNEL' })
  })

  t.test('a failing target lookup does not hide the missing call', async (t) => {
    const { pbx, service } = setup()
    pbx.snapshotValue = { channels: [], bridges: [] }
    pbx.extensionExists = async () => { throw new Error('AMI down') }
    await t.rejects(service.execute(request()), { code: 'XFER_NO_ACTIVE_CHANNEL' })
  })

  t.test('channel not bridged: XFER_CALL_NOT_BRIDGED with the reason', async (t) => {
    const { pbx, service, published } = setup()
    pbx.snapshotValue = { channels: [channel('a1', AGENT, 'Ringing')], bridges: [] }
    await t.rejects(service.execute(request()), { code: 'XFER_CALL_NOT_BRIDGED', statusCode: 409, message: /not bridged/ })
    t.same(pbx.actions(), [])
    t.same(published, [])
  })

  t.test('unknown target: XFER_UNKNOWN_TARGET, looked up in the transfer context, no redirect nor atxfer', async (t) => {
    for (const transferType of ['blind', 'attended'] as const) {
      const { pbx, service, published } = setup()
      await t.rejects(service.execute(request({ targetExtension: '999', transferType })), { code: 'XFER_UNKNOWN_TARGET', statusCode: 422, message: /999.*from-internal/ })
      t.same(pbx.calls.filter((call) => call.method === 'extensionExists'), [{ method: 'extensionExists', args: [CONTEXT, '999'] }])
      t.same(pbx.actions(), [], transferType)
      t.same(published, [])
    }
  })
})

t.test('getChannelForExtension names the agent channel, the peer and the bridge', async (t) => {
  const { service } = setup()
  t.same(await service.getChannelForExtension('101'), { agentChannel: AGENT, peerChannel: CUSTOMER, bridgeId: 'b1' })
  await t.rejects(service.getChannelForExtension('102'), { code: 'XFER_NO_ACTIVE_CHANNEL' })
})

t.test('blind transfer', async (t) => {
  t.test('redirects the PEER channel to target@context and publishes initiated then complete', async (t) => {
    const { pbx, service, published } = setup()
    const result = await service.execute(request({ requestedBy: '200' }))
    t.same(pbx.actions(), [{ method: 'redirect', args: [CUSTOMER, '103', CONTEXT] }])
    t.match(result, {
      type: 'blind',
      status: 'redirected',
      extension: '101',
      targetExtension: '103',
      requestedBy: '200',
      channels: { agent: AGENT, peer: CUSTOMER }
    })
    t.match(result.id, /^[0-9a-f-]{36}$/)
    t.equal(new Date(result.createdAt).toISOString(), result.createdAt)
    t.same(names(published), ['call:transfer_initiated', 'call:ami_transfer_complete'])
    t.match(published[0]?.payload, { id: result.id, status: 'initiated' })
    t.match(published[1]?.payload, { id: result.id, status: 'redirected' })
  })

  t.test('initiated is published before the redirect is sent', async (t) => {
    const { pbx, service, published } = setup()
    let seenAtRedirect: string[] = []
    pbx.onRedirect = async () => { seenAtRedirect = names(published) }
    await service.execute(request())
    t.same(seenAtRedirect, ['call:transfer_initiated'])
  })

  t.test('a failing redirect publishes the failure with its code and rethrows the same error', async (t) => {
    const { pbx, service, published } = setup()
    const gone = new ChannelGoneError(CUSTOMER)
    pbx.onRedirect = async () => { throw gone }
    const error = await service.execute(request()).then(() => undefined, (e: unknown) => e)
    t.equal(error, gone)
    t.same(names(published), ['call:transfer_initiated', 'call:ami_transfer_failed'])
    t.match(published[1]?.payload, { status: 'failed', error: { code: 'XFER_CHANNEL_GONE', message: gone.message } })
  })

  t.test('an error without a code is published as XFER_INTERNAL', async (t) => {
    const { pbx, service, published } = setup()
    pbx.onRedirect = async () => { throw new Error('boom') }
    await t.rejects(service.execute(request()), { message: 'boom' })
    t.match(published[1]?.payload, { error: { code: 'XFER_INTERNAL', message: 'boom' } })
  })
})

t.test('attended transfer', async (t) => {
  t.test('Hold and the Local dial after Atxfer answered: consulting, with the consultation channel', async (t) => {
    const { pbx, service, published } = setup()
    pbx.onAttendedTransfer = async () => {
      setImmediate(() => { pbx.emit(hold(AGENT)); pbx.emit(localDial()) })
    }
    const result = await service.execute(request({ transferType: 'attended' }))
    t.same(pbx.actions(), [{ method: 'attendedTransfer', args: [AGENT, '103', CONTEXT] }])
    t.match(result, { type: 'attended', status: 'consulting', channels: { agent: AGENT, peer: CUSTOMER } })
    t.same(names(published), ['call:transfer_initiated', 'call:ami_attended_transfer_started'])
    t.match(published[1]?.payload, { id: result.id, status: 'consulting', consultationChannel: LOCAL_1 })
    t.equal(listeners(pbx), 0, 'no listener left behind')
  })

  t.test('events emitted synchronously inside attendedTransfer, before it resolves, are not missed', async (t) => {
    const { pbx, service, published } = setup()
    pbx.onAttendedTransfer = async () => { pbx.emit(hold(CUSTOMER)); pbx.emit(localDial()) }
    const result = await service.execute(request({ transferType: 'attended' }))
    t.equal(result.status, 'consulting')
    t.match(published[1]?.payload, { consultationChannel: LOCAL_1 })
    t.equal(listeners(pbx), 0)
  })

  t.test('events before Atxfer resolves, with Atxfer still slow to answer: waits for the answer', async (t) => {
    const { pbx, service } = setup()
    let answered = false
    pbx.onAttendedTransfer = async () => {
      pbx.emit(hold(AGENT))
      pbx.emit(localDial())
      await later(20)
      answered = true
    }
    const result = await service.execute(request({ transferType: 'attended' }))
    t.equal(answered, true)
    t.equal(result.status, 'consulting')
  })

  t.test('no events within consultationTimeoutMs: XFER_CONSULTATION_NOT_STARTED saying what was missing', async (t) => {
    const { pbx, service, published } = setup(100)
    const started = Date.now()
    await t.rejects(service.execute(request({ transferType: 'attended' })), {
      code: 'XFER_CONSULTATION_NOT_STARTED',
      message: /no Hold and no dial to the target seen/
    })
    t.ok(Date.now() - started >= 90, 'waited for the timeout')
    t.same(names(published), ['call:transfer_initiated', 'call:ami_transfer_failed'])
    t.match(published[1]?.payload, { error: { code: 'XFER_CONSULTATION_NOT_STARTED' } })
    t.equal(listeners(pbx), 0, 'no listener left behind after a timeout')
  })

  t.test('Hold without a dial: the message says the dial is missing', async (t) => {
    const { pbx, service } = setup(100)
    pbx.onAttendedTransfer = async () => { pbx.emit(hold(AGENT)) }
    await t.rejects(service.execute(request({ transferType: 'attended' })), {
      code: 'XFER_CONSULTATION_NOT_STARTED',
      message: /\(no dial to the target seen\)/
    })
  })

  t.test('dial without a Hold: the message says the Hold is missing', async (t) => {
    const { pbx, service } = setup(100)
    pbx.onAttendedTransfer = async () => { pbx.emit(localDial()) }
    await t.rejects(service.execute(request({ transferType: 'attended' })), {
      code: 'XFER_CONSULTATION_NOT_STARTED',
      message: /\(no Hold seen\)/
    })
  })

  t.test('events of unrelated channels do not start the consultation', async (t) => {
    const { pbx, service } = setup(100)
    pbx.onAttendedTransfer = async () => {
      pbx.emit(hold('PJSIP/102-00000030'))
      pbx.emit({ type: 'newChannel', ...ref('Local/104@from-internal-00000002;1'), exten: '104', context: CONTEXT, state: 'Down' })
    }
    await t.rejects(service.execute(request({ transferType: 'attended' })), { code: 'XFER_CONSULTATION_NOT_STARTED' })
  })

  t.test('agent hangup during the wait fails at once, well before the timeout', async (t) => {
    const { pbx, service, published } = setup(5000)
    pbx.onAttendedTransfer = async () => {
      pbx.emit(hold(AGENT))
      setTimeout(() => pbx.emit(hangup(AGENT)), 10)
    }
    const started = Date.now()
    await t.rejects(service.execute(request({ transferType: 'attended' })), {
      code: 'XFER_CONSULTATION_NOT_STARTED',
      message: /PJSIP\/101-0000002a hung up/
    })
    t.ok(Date.now() - started < 1000, `settled after ${Date.now() - started} ms`)
    t.same(names(published), ['call:transfer_initiated', 'call:ami_transfer_failed'])
    t.equal(listeners(pbx), 0, 'no listener left behind after a failure')
  })

  t.test('peer hangup before Atxfer even answered fails too', async (t) => {
    const { pbx, service } = setup(5000)
    pbx.onAttendedTransfer = async () => { pbx.emit(hangup(CUSTOMER)) }
    const started = Date.now()
    await t.rejects(service.execute(request({ transferType: 'attended' })), { code: 'XFER_CONSULTATION_NOT_STARTED', message: /hung up/ })
    t.ok(Date.now() - started < 1000)
  })

  t.test('Atxfer refused: its error is rethrown and published, nothing keeps waiting', async (t) => {
    const { pbx, service, published } = setup(5000)
    const gone = new ChannelGoneError(AGENT)
    pbx.onAttendedTransfer = async () => { throw gone }
    const started = Date.now()
    const error = await service.execute(request({ transferType: 'attended' })).then(() => undefined, (e: unknown) => e)
    t.equal(error, gone)
    t.ok(Date.now() - started < 1000, 'does not wait for the consultation timeout')
    t.same(names(published), ['call:transfer_initiated', 'call:ami_transfer_failed'])
    t.match(published[1]?.payload, { error: { code: 'XFER_CHANNEL_GONE' } })
    t.equal(listeners(pbx), 0)
  })

  t.test('events after a finished transfer change nothing and reach no listener', async (t) => {
    const { pbx, service, published } = setup(100)
    pbx.onAttendedTransfer = async () => { pbx.emit(hold(AGENT)); pbx.emit(localDial()) }
    await service.execute(request({ transferType: 'attended' }))
    pbx.emit(hangup(AGENT))
    await later(150)
    t.same(names(published), ['call:transfer_initiated', 'call:ami_attended_transfer_started'])
    t.equal(listeners(pbx), 0)
  })
})
