// Redis as operators run it, for failover tests, all on loopback with Debian's binaries:
// - a Sentinel group: a master, a replica and three sentinels (quorum 2) that promote the replica when
//   the master dies (down after 1 s here, 30 s by default: the tests wait less, nothing else changes);
// - a Redis Cluster of three masters (each with a replica if asked), created with
//   `redis-cli --cluster create`, every node's bus on a port of its own.
// Either, behind one interface (`failoverTarget`), for the failover tests and bench/failover.ts: a master
// killed, what it served served again by a promoted replica, the killed one back as a replica.
// Every process is killed when the test process exits, and their directories removed.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import type { RedisSetting } from '../../src/store/redis-connections.js'
import { freePort } from './free-port.js'
import { ensureRedisServer, redisCliBinary, redisSentinelBinary, startRedis, type RedisServer } from './redis-process.js'

async function waitFor<T> (what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = await probe().catch(() => undefined)
    if (found !== undefined) return found
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await sleep(50)
  }
}

/** One question to a server, on a connection of its own that never waits for a server that is down. */
async function ask<T> (port: number, question: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000, enableOfflineQueue: false })
  client.on('error', () => {})
  try {
    await client.connect()
    return await question(client)
  } finally {
    client.disconnect()
  }
}

export interface Sentinel {
  readonly port: number
  kill: () => Promise<void>
}

export interface SentinelGroup {
  /** The master's name, as the sentinels know it. */
  readonly name: string
  /** What ioredis takes: `{ sentinels, name }`. */
  readonly sentinels: Array<{ host: string, port: number }>
  /** The two data servers, the first started as master. */
  readonly servers: RedisServer[]
  /** The server the sentinels name as master now. */
  master: () => Promise<RedisServer>
  /** SIGKILLs the master (as a crash); resolves when the process is gone (not when the failover is done). */
  killMaster: () => Promise<RedisServer>
  /** Resolves once the sentinels name another master than `port`, with the new one. */
  failedOver: (port: number, timeoutMs?: number) => Promise<RedisServer>
  /** The killed server started again: the sentinels make it a replica of the new master. */
  restart: (server: RedisServer) => Promise<void>
  /**
   * Resolves once every sentinel lists `server` as a healthy, promotable replica (flags `slave`, link up,
   * priority above 0): only such a replica can be promoted. A sentinel reads a replica's state every 10 s, so a replica that has just
   * synced may still look down to it, and a failover then finds no replica to promote.
   */
  knowsReplica: (server: RedisServer, timeoutMs?: number) => Promise<void>
  stop: () => Promise<void>
}

/** A master, a replica and three sentinels; resolves once the sentinels know the replica and each other. */
export async function startSentinelGroup (options: { name?: string, downAfterMs?: number } = {}): Promise<SentinelGroup> {
  await ensureRedisServer()
  const name = options.name ?? 'transfers'
  const downAfterMs = options.downAfterMs ?? 1000
  const master = await startRedis()
  const replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(master.port)] })
  const servers = [master, replica]
  await waitFor('the replica in sync', async () => {
    const info = await ask(replica.port, async (client) => await client.info('replication'))
    return /master_link_status:up/.test(info) ? true : undefined
  }, 10_000)
  const dir = mkdtempSync(join(tmpdir(), 'redis-sentinels-'))
  const children: ChildProcess[] = []
  const sentinels: Sentinel[] = []
  process.on('exit', () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  })
  for (let i = 0; i < 3; i++) {
    const port = await freePort()
    const config = join(dir, `sentinel-${port}.conf`)
    // Sentinel rewrites its configuration file with what it learns: one file each, writable.
    writeFileSync(config, [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${master.port} 2`,
      `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
      `sentinel failover-timeout ${name} 10000`,
      `sentinel parallel-syncs ${name} 1`,
      ''
    ].join('\n'))
    const log = openSync(join(dir, `sentinel-${port}.log`), 'a')
    writeSync(log, `===== ${new Date().toISOString()} starting sentinel on ${port} =====\n`)
    const child = spawn(redisSentinelBinary, [config], { stdio: ['ignore', log, log] })
    closeSync(log)
    children.push(child)
    const exited = once(child, 'exit').catch(() => {})
    sentinels.push({
      port,
      kill: async () => {
        if (child.exitCode !== null || child.signalCode !== null) return
        child.kill('SIGKILL')
        await exited
      }
    })
  }
  // A failover needs the sentinels to know the replica and to have found each other (over the master's
  // hello channel): until then, a dead master would stay dead.
  for (const { port } of sentinels) {
    await waitFor(`sentinel ${port} knows the replica and the other sentinels`, async () => {
      const [replicas, others] = await ask(port, async (client) => [
        await client.call('SENTINEL', 'REPLICAS', name) as unknown[],
        await client.call('SENTINEL', 'SENTINELS', name) as unknown[]
      ])
      return replicas.length >= 1 && others.length >= 2 ? true : undefined
    }, 20_000)
  }

  const masterPort = async (): Promise<number> => {
    for (const { port } of sentinels) {
      const address = await ask(port, async (client) => await client.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name) as [string, string] | null).catch(() => null)
      if (address !== null) return Number(address[1])
    }
    throw new Error('no sentinel answers')
  }
  const byPort = (port: number): RedisServer => {
    const server = servers.find((candidate) => candidate.port === port)
    if (server === undefined) throw new Error(`the sentinels name ${port}, not one of this group`)
    return server
  }

  return {
    name,
    sentinels: sentinels.map(({ port }) => ({ host: '127.0.0.1', port })),
    servers,
    master: async () => byPort(await masterPort()),
    killMaster: async () => {
      const current = byPort(await masterPort())
      await current.kill()
      return current
    },
    failedOver: async (port, timeoutMs = 30_000) => {
      const promoted = await waitFor(`a master other than ${port}`, async () => {
        const now = await masterPort()
        if (now === port) return undefined
        // Named by the sentinels and answering as a master (its promotion done).
        const role = await ask(now, async (client) => await client.call('ROLE') as [string])
        return role[0] === 'master' ? now : undefined
      }, timeoutMs)
      return byPort(promoted)
    },
    restart: async (server) => {
      await server.restart()
    },
    knowsReplica: async (server, timeoutMs = 30_000) => {
      for (const { port } of sentinels) {
        await waitFor(`sentinel ${port} sees ${server.port} as a healthy replica`, async () => {
          const replicas = await ask(port, async (client) => await client.call('SENTINEL', 'REPLICAS', name) as string[][])
          const fields = replicas.map((flat) => new Map(flat.flatMap((value, index) => index % 2 === 0 ? [[value, flat[index + 1]]] : [])))
          const seen = fields.find((replica) => replica.get('port') === String(server.port))
          return seen?.get('flags') === 'slave' && seen.get('master-link-status') === 'ok' && seen.get('slave-priority') !== '0' ? true : undefined
        }, timeoutMs)
      }
    },
    stop: async () => {
      for (const sentinel of sentinels) await sentinel.kill()
      for (const server of servers) await server.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

export interface RedisCluster {
  /** Every node's address, masters first. */
  readonly nodes: Array<{ host: string, port: number }>
  readonly servers: RedisServer[]
  /** The server that serves `key`'s slot as master now. */
  masterOf: (key: string) => Promise<RedisServer>
  /** Resolves once the cluster is ok again with another master for the slots `port` served. */
  failedOver: (port: number, timeoutMs?: number) => Promise<void>
  stop: () => Promise<void>
}

/**
 * Three masters (and a replica of each with `replicas: 1`), slots spread by `redis-cli --cluster
 * create`; resolves once every node says cluster_state:ok. A master unreachable for `nodeTimeoutMs`
 * is replaced by its replica.
 */
export async function startRedisCluster (options: { replicas?: 0 | 1, nodeTimeoutMs?: number } = {}): Promise<RedisCluster> {
  await ensureRedisServer()
  const count = 3 * (1 + (options.replicas ?? 0))
  const servers: RedisServer[] = []
  for (let i = 0; i < count; i++) {
    // The bus port set apart: port + 10000 (Redis's default) may be taken or out of range.
    const busPort = await freePort()
    servers.push(await startRedis({
      args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', String(options.nodeTimeoutMs ?? 1000), '--cluster-port', String(busPort),
      // A replica may take over however long ago it last heard its master (a node killed right after
      // the cluster formed included): the tests cause failovers, never on stale data beyond that.
        '--cluster-replica-validity-factor', '0']
    }))
  }
  const create = spawn(redisCliBinary, ['--cluster', 'create', ...servers.map(({ port }) => `127.0.0.1:${port}`), '--cluster-replicas', String(options.replicas ?? 0), '--cluster-yes'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  create.stdout.on('data', (chunk) => { output += String(chunk) })
  create.stderr.on('data', (chunk) => { output += String(chunk) })
  const [code] = await once(create, 'close') as [number | null]
  if (code !== 0) throw new Error(`redis-cli --cluster create failed (${String(code)}):\n${output}`)
  const clusterOk = async (): Promise<void> => {
    for (const server of servers.filter((candidate) => candidate.running())) {
      await waitFor(`node ${server.port} in a cluster that is ok`, async () => {
        const info = await ask(server.port, async (client) => await client.call('CLUSTER', 'INFO') as string)
        return /cluster_state:ok/.test(info) ? true : undefined
      }, 30_000)
    }
  }
  await clusterOk()
  // Replicas are known to be replicas only once they synced: wait for them too.
  if ((options.replicas ?? 0) > 0) {
    await waitFor('every replica attached', async () => {
      const nodes = await ask(servers[0]?.port as number, async (client) => await client.call('CLUSTER', 'NODES') as string)
      return nodes.split('\n').filter((line) => line.includes(' slave ') && !line.includes('fail')).length >= 3 ? true : undefined
    }, 30_000)
    for (const server of servers) {
      await waitFor(`node ${server.port} a master or a replica in sync`, async () => {
        const info = await ask(server.port, async (client) => await client.info('replication'))
        return /role:master/.test(info) || /master_link_status:up/.test(info) ? true : undefined
      }, 30_000)
    }
  }

  const masterPortOf = async (key: string): Promise<number> => {
    for (const server of servers.filter((candidate) => candidate.running())) {
      const slot = await ask(server.port, async (client) => await client.call('CLUSTER', 'KEYSLOT', key) as number).catch(() => undefined)
      if (slot === undefined) continue
      const slots = await ask(server.port, async (client) => await client.call('CLUSTER', 'SLOTS') as Array<[number, number, [string, number]]>)
      const range = slots.find(([from, to]) => slot >= from && slot <= to)
      if (range !== undefined) return range[2][1]
    }
    throw new Error('no node answers')
  }

  return {
    nodes: servers.map(({ port }) => ({ host: '127.0.0.1', port })),
    servers,
    masterOf: async (key) => {
      const port = await masterPortOf(key)
      return servers.find((server) => server.port === port) as RedisServer
    },
    failedOver: async (port, timeoutMs = 30_000) => {
      await waitFor(`the slots of ${port} served by another master`, async () => {
        for (const server of servers.filter((candidate) => candidate.running())) {
          const slots = await ask(server.port, async (client) => await client.call('CLUSTER', 'SLOTS') as Array<[number, number, [string, number]]>).catch(() => undefined)
          if (slots === undefined) continue
          if (slots.some(([, , [, master]]) => master === port)) return undefined
          return slots.length > 0 ? true : undefined
        }
        return undefined
      }, timeoutMs)
      await clusterOk()
    },
    stop: async () => {
      for (const server of servers) await server.stop()
    }
  }
}

/** A Redis topology whose masters can be killed and replaced by their replicas. */
export interface FailoverTarget {
  readonly kind: 'sentinel' | 'cluster'
  /** The plugin's `redis` option for it. */
  readonly setting: RedisSetting
  /** The same as the example app reads it (REDIS_SENTINELS and REDIS_SENTINEL_NAME, or REDIS_CLUSTER_NODES). */
  readonly env: Record<string, string>
  /** The masters in use now, as `RedisConnections.masters()` names them. */
  masters: () => Promise<string[]>
  /** The server that serves `key` as master now. */
  masterOf: (key: string) => Promise<RedisServer>
  /** Resolves once another master serves what `killed` served. */
  failedOver: (killed: RedisServer) => Promise<void>
  /** The killed server started again (empty: it saves nothing) and a replica in sync of the new master. */
  restartAsReplica: (killed: RedisServer) => Promise<void>
  stop: () => Promise<void>
}

/** Once a restarted server is a replica whose first sync is done: only then may it be promoted. */
export async function inSync (server: RedisServer): Promise<void> {
  const probe = server.client()
  try {
    await waitFor(`${server.port} a replica in sync`, async () => {
      const info = await probe.info('replication')
      return /role:slave/.test(info) && /master_link_status:up/.test(info) && /master_sync_in_progress:0/.test(info) ? true : undefined
    }, 30_000)
  } finally {
    probe.disconnect()
  }
}

export async function failoverTarget (kind: 'sentinel' | 'cluster'): Promise<FailoverTarget> {
  if (kind === 'sentinel') {
    const group = await startSentinelGroup()
    return {
      kind,
      setting: { sentinels: group.sentinels, name: group.name },
      env: { REDIS_SENTINELS: group.sentinels.map(({ host, port }) => `${host}:${port}`).join(','), REDIS_SENTINEL_NAME: group.name },
      masters: async () => [`127.0.0.1:${(await group.master()).port}`],
      masterOf: async () => await group.master(),
      failedOver: async (killed) => { await group.failedOver(killed.port) },
      restartAsReplica: async (killed) => {
        // Brought back as an operator should bring back a master that lost its data: as a replica of the
        // current master, and not promotable (replica-priority 0) until its first sync is done. Left to
        // the sentinels, it came back as an empty master; a sentinel that had just switched to the new
        // master saw that one down within 1 s (down-after 1000) and promoted the empty server in its
        // place, whose sync then emptied the new master (the sentinels' logs of 1 round in 12, caused on
        // purpose; in CI the same server was still not a replica 30 s after its restart).
        const master = await group.master()
        await killed.restart(['--replicaof', '127.0.0.1', String(master.port), '--replica-priority', '0'])
        await inSync(killed)
        const client = killed.client()
        try { await client.call('CONFIG', 'SET', 'replica-priority', '100') } finally { client.disconnect() }
        await group.knowsReplica(killed)
      },
      stop: async () => { await group.stop() }
    }
  }
  const cluster = await startRedisCluster({ replicas: 1 })
  const masters = async (): Promise<string[]> => {
    const served = new Set<string>()
    for (const server of cluster.servers.filter((candidate) => candidate.running())) {
      const client = server.client()
      try {
        const slots = await client.call('CLUSTER', 'SLOTS') as Array<[number, number, [string, number]]>
        for (const [, , [host, port]] of slots) served.add(`${host}:${port}`)
        return [...served].sort()
      } catch {
        continue
      } finally {
        client.disconnect()
      }
    }
    throw new Error('no node answers')
  }
  return {
    kind,
    setting: { cluster: cluster.nodes },
    env: { REDIS_CLUSTER_NODES: cluster.nodes.map(({ host, port }) => `${host}:${port}`).join(',') },
    masters,
    masterOf: async (key) => await cluster.masterOf(key),
    failedOver: async (killed) => { await cluster.failedOver(killed.port) },
    restartAsReplica: async (killed) => {
      // It finds its cluster again from its nodes.conf, and learns there that its replica took over.
      await killed.restart()
      await inSync(killed)
    },
    stop: async () => { await cluster.stop() }
  }
}
