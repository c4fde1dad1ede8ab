/** Who is calling the plugin's routes, as the host app's `authenticate` hook says. */
import type { FastifyRequest } from 'fastify'

export type Role = 'agent' | 'supervisor'

export interface Identity {
  /** The agent's own extension: transfers default to its call. */
  extension: string
  role: Role
}

/** Supplied by the host app: resolve the request's credentials to an identity, or null when there are none. */
export type Authenticate = (request: FastifyRequest) => Identity | null | undefined | Promise<Identity | null | undefined>
