/**
 * Which target a transfer dials: a named destination the host configured, an agent, or, only when the
 * host allows free dialing, any extension of the transfer context. Pure: the agent check is passed in.
 */
import type { DestinationMap, DialTarget } from '../domain/destination.js'

export interface TargetRules {
  destinations: DestinationMap
  transferContext: string
  allowFreeDialing: boolean
}

export function resolveTarget (target: string, isAgent: boolean, rules: TargetRules): DialTarget | undefined {
  const destination = Object.hasOwn(rules.destinations, target) ? rules.destinations[target] : undefined
  if (destination !== undefined) {
    const dialed: DialTarget = { exten: destination.exten ?? target, context: destination.context, kind: destination.kind, destination: target }
    if (destination.kind !== 'queue') return dialed
    const queue = { name: destination.queue ?? target, ...(destination.priority === undefined ? {} : { priority: destination.priority }) }
    return { ...dialed, queue }
  }
  if (isAgent) return { exten: target, context: rules.transferContext, kind: 'agent' }
  return rules.allowFreeDialing ? { exten: target, context: rules.transferContext, kind: 'free' } : undefined
}
