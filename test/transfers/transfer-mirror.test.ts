import t from 'tap'
import type { Transfer } from '../../src/domain/transfer.js'
import { EventLog } from '../../src/domain/event-log.js'
import { DEFAULT_SERVER } from '../../src/domain/server.js'
import { TransferMirror } from '../../src/transfers/transfer-mirror.js'
import { transferRecord } from '../helpers/transfer-records.js'

const now = new Date().toISOString()
const transfer = (status: Transfer['status'], consultation?: string): Transfer =>
  transferRecord({ status, createdAt: now, updatedAt: now }, { agent: 'PJSIP/101-1', peer: 'PJSIP/trunk-2', ...(consultation === undefined ? {} : { consultation }) })

t.test('follows the feed: channels of transfers in progress, whoever published them; gone once final', async (t) => {
  const log = new EventLog()
  const mirror = new TransferMirror(log)
  t.equal(mirror.onChannel(DEFAULT_SERVER, 'PJSIP/101-1'), undefined)
  // Numbered elsewhere (another instance's event, read from the shared log).
  log.insert({ id: 7, type: 'call:transfer_initiated', timestamp: now, data: transfer('initiated') }, { extensions: ['101'] })
  t.equal(mirror.onChannel(DEFAULT_SERVER, 'PJSIP/trunk-2')?.status, 'initiated')
  log.append('call:ami_attended_transfer_started', transfer('consulting', 'Local/103@from-internal-1;1'), { extensions: ['101'] })
  t.equal(mirror.onChannel(DEFAULT_SERVER, 'Local/103@from-internal-1;2')?.status, 'consulting', 'the consultation\'s far half too')
  log.append('agent:status', { extension: '101', status: 'busy' } as never, 'everyone')
  t.equal(mirror.onChannel(DEFAULT_SERVER, 'PJSIP/101-1')?.status, 'consulting', 'other events change nothing')
  log.append('call:ami_attended_transfer_completed', transfer('completed', 'Local/103@from-internal-1;1'), { extensions: ['101'] })
  for (const channel of ['PJSIP/101-1', 'PJSIP/trunk-2', 'Local/103@from-internal-1;1']) t.equal(mirror.onChannel(DEFAULT_SERVER, channel), undefined, channel)
  mirror.stop()
})

t.test('a channel is known on its transfer\'s server only: the same name on another server is another channel', async (t) => {
  const log = new EventLog()
  const mirror = new TransferMirror(log)
  log.append('call:transfer_initiated', { ...transfer('initiated'), server: 'pbx2' }, { extensions: ['101'] })
  t.equal(mirror.onChannel('pbx2', 'PJSIP/101-1')?.status, 'initiated')
  t.equal(mirror.onChannel(DEFAULT_SERVER, 'PJSIP/101-1'), undefined)
  mirror.stop()
})

t.test('lastPublished: a transfer\'s newest record on the feed, finished too, while the log holds it', async (t) => {
  const log = new EventLog({ capacity: 4 })
  const mirror = new TransferMirror(log)
  log.insert({ id: 7, type: 'call:transfer_initiated', timestamp: now, data: transfer('initiated') }, { extensions: ['101'] })
  log.append('call:transfer_updated', { ...transfer('consulting'), id: 'other' }, { extensions: ['102'] })
  t.equal(mirror.lastPublished('t1')?.status, 'initiated', 'published before the mirror was asked: read from the log')
  log.append('call:ami_attended_transfer_completed', transfer('completed'), { extensions: ['101'] })
  t.equal(mirror.lastPublished('t1')?.status, 'completed', 'the newest, even final')
  t.equal(mirror.lastPublished('other')?.status, 'consulting')
  t.equal(mirror.lastPublished('unknown'), undefined)
  for (let i = 0; i < 4; i++) log.append('agent:status', { extension: '101', status: 'busy' } as never, 'everyone')
  t.equal(mirror.lastPublished('t1'), undefined, 'no longer in the log')
  mirror.stop()
})

t.test('ended: the record once the transfer\'s end is published, whoever published it; nothing once abandoned', async (t) => {
  const log = new EventLog()
  const mirror = new TransferMirror(log)
  const pending = Symbol('pending')
  const settledSoon = async (promise: Promise<Transfer>): Promise<Transfer | symbol> =>
    await Promise.race([promise, new Promise<symbol>((resolve) => setTimeout(() => { resolve(pending) }, 20))])
  const asked = new AbortController()
  const ended = mirror.ended('t1', asked.signal)
  const abandoned = new AbortController()
  const forgotten = mirror.ended('t1', abandoned.signal)
  abandoned.abort()
  log.append('call:ami_attended_transfer_started', transfer('consulting'), { extensions: ['101'] })
  log.append('call:transfer_updated', { ...transfer('cancelled'), id: 'other' }, { extensions: ['102'] })
  t.equal(await settledSoon(ended), pending, 'not before the end, nor at another transfer\'s')
  log.insert({ id: 9, type: 'call:ami_attended_transfer_completed', timestamp: now, data: transfer('completed') }, { extensions: ['101'] })
  t.match(await settledSoon(ended), { id: 't1', status: 'completed' }, 'the end, as another instance published it')
  t.equal(await settledSoon(forgotten), pending, 'abandoned before the end: never settles')
  const late = new AbortController()
  late.abort()
  t.equal(await settledSoon(mirror.ended('t1', late.signal)), pending, 'asked with an aborted signal: never settles')
  mirror.stop()
})
