/**
 * The check of the `redis` option at registration: one server, Sentinel or a cluster, each said wrong
 * by name before anything connects (a Sentinel name mistyped would otherwise be "All sentinels are
 * unreachable" in a log, retried forever). Pure: no connection is made here.
 */
import { Cluster, Redis } from 'ioredis'

const PREFIX = 'fastify-asterisk-transfer: option "redis'

/** `host:port` (an IPv6 host in brackets): for the example app's lists and cluster nodes given as strings. */
export function parseHostPort (text: string): { host: string, port: number } | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9_.-]+)):(\d{1,5})$/.exec(text.trim())
  if (match === null) return undefined
  const port = Number(match[3])
  if (port < 1 || port > 65535) return undefined
  return { host: (match[1] ?? match[2]) as string, port }
}

function isAddress (value: unknown): boolean {
  if (typeof value === 'string') return parseHostPort(value) !== undefined
  if (typeof value !== 'object' || value === null) return false
  const { host, port } = value as { host?: unknown, port?: unknown }
  const portOk = port === undefined || (Number.isInteger(Number(port)) && Number(port) >= 1 && Number(port) <= 65535)
  return (host === undefined || (typeof host === 'string' && host.length > 0)) && portOk && (host !== undefined || port !== undefined)
}

/** Throws an Error naming what is wrong with the `redis` option; returns when it is usable. */
export function checkRedisSetting (value: unknown): void {
  if (value instanceof Redis || value instanceof Cluster) return
  if (typeof value === 'string') {
    if (!/^rediss?:\/\/\S+$/.test(value)) throw new Error(`${PREFIX}" must be a redis:// or rediss:// URL, ioredis options (with sentinels and name for Sentinel), { cluster: [nodes] }, or an ioredis Redis or Cluster client`)
    return
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${PREFIX}" must be a redis:// or rediss:// URL, ioredis options (with sentinels and name for Sentinel), { cluster: [nodes] }, or an ioredis Redis or Cluster client`)
  }
  const setting = value as Record<string, unknown>
  if ('cluster' in setting) {
    const nodes = setting.cluster
    if (!Array.isArray(nodes) || nodes.length === 0) throw new Error(`${PREFIX}.cluster" must be a non-empty list of nodes (host:port or { host, port })`)
    nodes.forEach((node, index) => {
      if (!isAddress(node)) throw new Error(`${PREFIX}.cluster[${index}]" must be host:port or { host, port }, got ${JSON.stringify(node)}`)
    })
    if (setting.options !== undefined && (typeof setting.options !== 'object' || setting.options === null || Array.isArray(setting.options))) {
      throw new Error(`${PREFIX}.options" must be ioredis cluster options`)
    }
    if ('sentinels' in setting) throw new Error(`${PREFIX}" takes a cluster or sentinels, not both`)
    return
  }
  if ('sentinels' in setting || 'name' in setting) {
    const { sentinels, name } = setting
    if (!Array.isArray(sentinels) || sentinels.length === 0) throw new Error(`${PREFIX}.sentinels" must be a non-empty list of { host, port } (with "name", the master's name in Sentinel)`)
    sentinels.forEach((sentinel, index) => {
      if (typeof sentinel !== 'object' || sentinel === null || !isAddress(sentinel)) throw new Error(`${PREFIX}.sentinels[${index}]" must be { host, port }, got ${JSON.stringify(sentinel)}`)
    })
    if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw new Error(`${PREFIX}.name" must be the master's name as Sentinel knows it (sentinel monitor <name> …), with "sentinels"`)
    if ('host' in setting || 'port' in setting) throw new Error(`${PREFIX}" takes sentinels or host/port, not both: Sentinel says where the master is`)
  }
}
