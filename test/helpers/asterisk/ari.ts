// Minimal ARI REST access for test code: fetch with basic auth and a timeout.
import { pbx } from './testbed.js'
import type { AriSettings } from './testbed.js'

export interface AriChannel {
  id: string
  name: string
  /** Down, Rsrvd, OffHook, Dialing, Ring, Ringing, Up, Busy, Dialing Offhook, Pre-ring, Unknown */
  state: string
  caller: { name: string, number: string }
  connected: { name: string, number: string }
  dialplan: { context: string, exten: string, priority: number, app_name?: string, app_data?: string }
  creationtime: string
  language?: string
}

export interface AriBridge {
  id: string
  technology: string
  bridge_type: string
  bridge_class: string
  creator: string
  name: string
  channels: string[]
}

export interface AriEndpoint {
  technology: string
  resource: string
  /** online, offline, unknown */
  state: string
  channel_ids: string[]
}

export class AriHttpError extends Error {
  readonly status: number
  readonly body: string
  constructor (message: string, status: number, body: string) {
    super(message)
    this.name = 'AriHttpError'
    this.status = status
    this.body = body
  }
}

/** Calls ARI (path relative to /ari, e.g. '/channels') and parses the JSON answer. */
export async function ariRequest<T> (path: string, opts: { method?: string, settings?: AriSettings, timeoutMs?: number } = {}): Promise<T> {
  const settings = opts.settings ?? pbx.ari
  const method = opts.method ?? 'GET'
  const url = `${settings.url}/ari${path}`
  const auth = Buffer.from(`${settings.username}:${settings.password}`).toString('base64')
  const res = await fetch(url, {
    method,
    headers: { authorization: `Basic ${auth}`, accept: 'application/json' },
    signal: AbortSignal.timeout(opts.timeoutMs ?? 5000)
  })
  const text = await res.text()
  if (!res.ok) throw new AriHttpError(`ARI ${method} ${path}: HTTP ${res.status} ${text}`, res.status, text)
  return (text === '' ? undefined : JSON.parse(text)) as T
}

/** The channels of the PBX (of the second PBX with `settings: pbx2.ari`). */
export async function listChannels (settings?: AriSettings): Promise<AriChannel[]> {
  return await ariRequest<AriChannel[]>('/channels', { settings })
}

export async function listBridges (settings?: AriSettings): Promise<AriBridge[]> {
  return await ariRequest<AriBridge[]>('/bridges', { settings })
}

export async function listEndpoints (technology = 'PJSIP', settings?: AriSettings): Promise<AriEndpoint[]> {
  return await ariRequest<AriEndpoint[]>(`/endpoints/${encodeURIComponent(technology)}`, { settings })
}
