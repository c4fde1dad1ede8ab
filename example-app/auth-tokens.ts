/**
 * The example app's authentication: static bearer tokens from AUTH_TOKENS, written as
 * comma-separated `token:extension[:supervisor]`. A real host app would check its own sessions here.
 */
import { timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import type { Authenticate, Identity } from '../src/index.js'

const EXTENSION = /^[0-9A-Za-z*#+_-]{1,32}$/

export function parseAuthTokens (spec: string): Map<string, Identity> {
  const tokens = new Map<string, Identity>()
  for (const entry of spec.split(',').map((part) => part.trim()).filter(Boolean)) {
    const [token, extension, role, ...rest] = entry.split(':')
    if (token === undefined || token.length < 8) throw new Error(`AUTH_TOKENS entry "${entry}": the token must have at least 8 characters`)
    if (extension === undefined || !EXTENSION.test(extension)) throw new Error(`AUTH_TOKENS entry for token "${token.slice(0, 3)}…": "${extension ?? ''}" is not an extension`)
    if (rest.length > 0 || (role !== undefined && role !== 'supervisor')) throw new Error(`AUTH_TOKENS entry for extension ${extension}: expected token:extension[:supervisor]`)
    if (tokens.has(token)) throw new Error(`AUTH_TOKENS: a token is listed twice (extension ${extension})`)
    tokens.set(token, { extension, role: role === 'supervisor' ? 'supervisor' : 'agent' })
  }
  if (tokens.size === 0) throw new Error('AUTH_TOKENS is empty: give at least one token:extension')
  return tokens
}

/** The bearer token of a request, from `Authorization: Bearer <t>` or, for browsers' WebSockets, `?token=`. */
function tokenOf (request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (header !== undefined) return /^Bearer\s+(\S+)$/i.exec(header)?.[1]
  const query = request.query as Record<string, unknown> | undefined
  return typeof query?.token === 'string' ? query.token : undefined
}

function sameToken (a: string, b: string): boolean {
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  return left.length === right.length && timingSafeEqual(left, right)
}

export function bearerAuthenticate (tokens: Map<string, Identity>): Authenticate {
  const entries = [...tokens]
  return (request) => {
    const presented = tokenOf(request)
    if (presented === undefined) return null
    // Compare against every token in constant time, so timing does not reveal which prefix matched.
    let found: Identity | null = null
    for (const [token, identity] of entries) if (sameToken(presented, token)) found = identity
    return found
  }
}
