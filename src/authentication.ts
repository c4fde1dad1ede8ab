/**
 * Resolves the caller's identity through the host app's `authenticate` hook before anything else runs
 * (before body validation too, so an anonymous caller learns nothing about the API).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { UnauthenticatedError } from './errors.js'
import type { Authenticate, Identity } from './identity.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Set on every request to the plugin's routes; null only before authentication ran. */
    transferIdentity: Identity | null
  }
}

export function requireIdentity (fastify: FastifyInstance, authenticate: Authenticate): void {
  fastify.decorateRequest('transferIdentity', null)
  fastify.addHook('onRequest', async (request: FastifyRequest) => {
    const identity = await authenticate(request)
    if (identity === null || identity === undefined) throw new UnauthenticatedError()
    request.transferIdentity = identity
  })
}

/** The identity of a request that passed `requireIdentity`. */
export function identityOf (request: FastifyRequest): Identity {
  if (request.transferIdentity === null) throw new UnauthenticatedError()
  return request.transferIdentity
}
