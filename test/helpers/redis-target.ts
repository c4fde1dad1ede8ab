// Where a suite of shared-state tests runs: one redis-server, or a three-master Redis Cluster. The
// same tests on both show that every script and transaction addresses one slot (a cluster answers
// CROSSSLOT otherwise) and that what instances share works the same.
import { Cluster, Redis, type RedisOptions } from 'ioredis'
import { startRedis } from './redis-process.js'
import { startRedisCluster } from './redis-topologies.js'

export interface RedisTarget {
  readonly name: 'server' | 'cluster'
  /** A new client (the caller disconnects it), with the options given for each connection. */
  client: (options?: RedisOptions) => Redis | Cluster
  /** Drops every key (every master of a cluster): Redis losing its data. */
  flushAll: () => Promise<void>
  stop: () => Promise<void>
}

export async function redisTarget (kind: 'server' | 'cluster'): Promise<RedisTarget> {
  if (kind === 'server') {
    const server = await startRedis()
    return {
      name: 'server',
      client: (options = {}) => new Redis(server.url, options),
      flushAll: async () => { await server.flushAll() },
      stop: async () => { await server.stop() }
    }
  }
  const cluster = await startRedisCluster()
  return {
    name: 'cluster',
    client: (options = {}) => {
      const { enableOfflineQueue, ...redisOptions } = options
      // Sharded subscribers: the command bus's inboxes are sharded channels on a cluster.
      return new Cluster(cluster.nodes, { redisOptions, shardedSubscribers: true, ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }) })
    },
    flushAll: async () => {
      for (const server of cluster.servers) await server.flushAll()
    },
    stop: async () => { await cluster.stop() }
  }
}
