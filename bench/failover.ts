// Failovers caused on purpose, through Sentinel and on a Redis Cluster: the master serving the transfers
// SIGKILLed FAILOVERS times per topology while an instance claims idempotency keys (one every 2 ms, each
// acknowledged by its master) and opens transfers. Measures the time from the kill to the first transfer
// opened again, with no intervention, and what the promoted replica lacks of what the dead master had
// acknowledged (asynchronous replication). BENCH_TOPOLOGIES=sentinel or =cluster runs one of them.
import { createHash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { RedisConnections } from '../src/store/redis-connections.js'
import { RedisIdempotencyStore } from '../src/store/redis-idempotency-store.js'
import { RedisKeys } from '../src/store/redis-keys.js'
import { RedisTransferStore } from '../src/store/redis-transfer-store.js'
import type { StoredTransfer } from '../src/store/transfer-store.js'
import { failoverTarget } from '../test/helpers/redis-topologies.js'
import { newResult, percentile, round, writeResult } from './lib/common.js'

const FAILOVERS = Number(process.env.BENCH_FAILOVERS ?? 5)
const TOPOLOGIES = (process.env.BENCH_TOPOLOGIES ?? 'sentinel,cluster').split(',') as Array<'sentinel' | 'cluster'>

function stored (id: string): StoredTransfer {
  const now = new Date().toISOString()
  return {
    record: { id, type: 'blind', status: 'initiated', origin: 'plugin', extension: '101', targetExtension: '103', requestedBy: '101', channels: { agent: `PJSIP/101-${id}`, peer: `PJSIP/trunk-${id}` }, createdAt: now, updatedAt: now },
    dialTarget: { exten: '103', context: 'from-internal', kind: 'agent' },
    tracking: { handedOver: false, reached: false, cancelRequested: false, targetHungUp: false }
  }
}

/** A read after the failover, tried again while the connection settles (the sentinels' notice may drop it once more). */
async function settled<T> (read: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try { return await read() } catch (error) { if (i > 200) throw error }
    await sleep(20)
  }
}

interface Figures {
  recovery: number[]
  /** From the kill to the promoted master named and answering as one (Redis's own part of `recovery`). */
  promotion: number[]
  acknowledged: number
  /** Keys whose slot the killed master served (all of them through Sentinel). */
  atRisk: number
  lost: number
  opened: number
  transfersLost: number
}

async function failovers (kind: 'sentinel' | 'cluster'): Promise<Figures> {
  const target = await failoverTarget(kind)
  const connections = new RedisConnections(target.setting)
  await connections.start()
  const prefix = 'failover:'
  const redisKeys = new RedisKeys(prefix)
  const store = new RedisTransferStore({ instanceId: 'A', commands: connections.commands, writes: connections.writes, prefix, leaseMs: 60_000, finishedTtlMs: 60_000 })
  const keys = new RedisIdempotencyStore({ commands: connections.commands, writes: connections.writes, prefix, ttlMs: 600_000 })
  const figures: Figures = { recovery: [], promotion: [], acknowledged: 0, atRisk: 0, lost: 0, opened: 0, transfersLost: 0 }
  try {
    for (let round = 0; round < FAILOVERS; round++) {
      // Keys claimed up to the kill: the last ones acknowledged may not have reached the replica.
      const acked: string[] = []
      let claiming = true
      const claimer = (async () => {
        // eslint-disable-next-line no-unmodified-loop-condition -- the measuring task clears it when the round ends
        for (let i = 0; claiming; i++) {
          const key = `${kind}-r${round}-k${i}`
          const claim = await keys.claim(key, 'fp').catch(() => undefined)
          if (claim?.kind === 'first') {
            claim.finish({ statusCode: 200, headers: {}, body: '{}' }, true)
            acked.push(key)
          }
          await sleep(2)
        }
      })()
      const openedBefore: string[] = []
      for (let i = 0; i < 5; i++) {
        const id = `${kind}-r${round}-t${i}`
        if ((await settled(async () => await store.open(stored(id), [`PJSIP/101-${id}`], 1000))).ok) openedBefore.push(id)
      }
      await sleep(300)
      const killed = await target.masterOf(redisKeys.record('any'))
      // On a cluster only the keys whose slot the killed master serves can be lost: counted apart.
      const ranges = kind === 'cluster'
        ? (await connections.commands.call('CLUSTER', 'SLOTS') as Array<[number, number, [string, number]]>).filter(([, , [, port]]) => port === killed.port)
        : undefined
      await killed.kill()
      const killedAt = Date.now()
      claiming = false
      await claimer
      await target.failedOver(killed)
      figures.promotion.push(Date.now() - killedAt)
      let back = 0
      for (let i = 0; ; i++) {
        const ok = await store.open(stored(`${kind}-r${round}-after${i}`), [`PJSIP/102-${kind}-r${round}-${i}`], 1000).then((answer) => answer.ok, () => false)
        if (ok) { back = Date.now() - killedAt; break }
        await sleep(5)
      }
      figures.recovery.push(back)
      for (const key of acked) {
        if (ranges !== undefined) {
          const slot = await settled(async () => await connections.commands.call('CLUSTER', 'KEYSLOT', redisKeys.idempotency(hashOf(key))) as number)
          if (ranges.some(([from, to]) => slot >= from && slot <= to)) figures.atRisk++
        } else {
          figures.atRisk++
        }
        const claim = await settled(async () => await keys.claim(key, 'fp'))
        if (claim.kind === 'first') figures.lost++
        if (claim.kind === 'same') await claim.answer.catch(() => undefined)
      }
      figures.acknowledged += acked.length
      for (const id of openedBefore) if (await settled(async () => await store.get(id)) === undefined) figures.transfersLost++
      figures.opened += openedBefore.length
      // The next failover promotes this one: only once it holds the data (a replica promoted before its
      // first sync completes brings an empty data set: the pitfall docs/reliability.md describes).
      await target.restartAsReplica(killed)
      await sleep(1500)
    }
  } finally {
    await connections.close()
    await target.stop()
  }
  return figures
}

/** How the idempotency store names a key in Redis (`idem:<sha256>`). */
function hashOf (key: string): string {
  return createHash('sha256').update(key).digest('hex')
}

const result = newResult('failover', { failovers: FAILOVERS, topologies: TOPOLOGIES.join(',') })
for (const kind of TOPOLOGIES) {
  const figures = await failovers(kind)
  const sorted = Float64Array.from(figures.recovery).sort()
  const name = kind === 'sentinel' ? 'Sentinel' : 'Cluster'
  const promoted = Float64Array.from(figures.promotion).sort()
  result.rows.push({ topology: name, measure: 'master SIGKILLed → first transfer opened again (ms)', failovers: FAILOVERS, value: `median ${round(percentile(sorted, 0.5), 0)}, max ${round(sorted[sorted.length - 1] as number, 0)}`, detail: figures.recovery.join(' ') })
  result.rows.push({ topology: name, measure: 'of which: master SIGKILLed → the promoted master named and answering as one (ms)', failovers: FAILOVERS, value: `median ${round(percentile(promoted, 0.5), 0)}, max ${round(promoted[promoted.length - 1] as number, 0)}`, detail: figures.promotion.join(' ') })
  result.rows.push({ topology: name, measure: 'idempotency keys acknowledged by the dead master, missing on the promoted one', failovers: FAILOVERS, value: `${figures.lost} of ${figures.atRisk}`, detail: `claimed every 2 ms up to the kill${kind === 'cluster' ? ` (${figures.acknowledged} claimed in all, ${figures.atRisk} on the killed master's slots)` : ''}` })
  result.rows.push({ topology: name, measure: 'transfers opened (300 ms or more before the kill), missing after', failovers: FAILOVERS, value: `${figures.transfersLost} of ${figures.opened}`, detail: '' })
}
result.notes.push(
  'Sentinel: a master, a replica and three sentinels on loopback (quorum 2, down-after-milliseconds 1000: the default is 30000, which adds 29 s to every figure here). Cluster: three masters each with a replica, cluster-node-timeout 1000 (the default is 15000, which adds 14 s). The master killed is the one serving the transfers (`{transfers}`); it is started again after each round, and the next round starts once it is a replica in sync (and, with Sentinel, once every sentinel sees it as a healthy replica: a sentinel reads a replica\'s state every 10 s, and a failover that finds no replica it deems healthy is tried again only after failover-timeout).',
  'Keys were claimed every 2 ms up to the kill; a key acknowledged by the dead master and missing on the promoted one is the window asynchronous replication leaves (see docs/reliability.md for WAIT and min-replicas-to-write).'
)
writeResult(result, 'Redis failovers caused on purpose (Sentinel and Cluster)')
