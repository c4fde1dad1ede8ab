/**
 * AMI `Atxfer` answers "queued" whatever happens next: it only injects the atxfer feature code as DTMF.
 * A consultation really started when Asterisk put the call on hold and began dialing the target. This
 * module decides that from events; it is pure so each path is unit-tested.
 */
import type { PbxEvent } from '../asterisk/ami-events.js'
import { isChannelOf, isLocalTo } from '../asterisk/channel-name.js'

export interface ConsultationExpectation {
  agentChannel: string
  peerChannel: string
  target: string
  context: string
  technology: string
}

export interface ConsultationProgress {
  held: boolean
  /** The channel dialing the target: the Local half Asterisk creates, or the target's own leg. */
  consultationChannel?: string
  /** Set when the attempt can no longer succeed. */
  failure?: string
}

export const initialProgress: ConsultationProgress = { held: false }

export function isConsultationStarted (progress: ConsultationProgress): boolean {
  return progress.held && progress.consultationChannel !== undefined
}

function dialsTarget (event: PbxEvent, expected: ConsultationExpectation): string | undefined {
  if (event.type === 'newChannel' && isLocalTo(event.channel, expected.target, expected.context)) return event.channel
  if (event.type === 'dialBegin') {
    if (isLocalTo(event.destChannel, expected.target, expected.context)) return event.destChannel
    if (isChannelOf(event.destChannel, expected.technology, expected.target)) return event.destChannel
  }
  return undefined
}

export function advanceConsultation (
  progress: ConsultationProgress,
  event: PbxEvent,
  expected: ConsultationExpectation
): ConsultationProgress {
  if (progress.failure !== undefined) return progress
  const involved = [expected.agentChannel, expected.peerChannel]
  if (event.type === 'hold' && involved.includes(event.channel)) return { ...progress, held: true }
  if (event.type === 'hangup' && involved.includes(event.channel)) {
    return { ...progress, failure: `${event.channel} hung up` }
  }
  const consultationChannel = progress.consultationChannel ?? dialsTarget(event, expected)
  return consultationChannel === progress.consultationChannel ? progress : { ...progress, consultationChannel }
}

/** What was missing when time ran out, for the error message. */
export function describeMissing (progress: ConsultationProgress): string {
  if (progress.failure !== undefined) return progress.failure
  const missing = [
    progress.held ? undefined : 'no Hold',
    progress.consultationChannel === undefined ? 'no dial to the target' : undefined
  ].filter((part) => part !== undefined)
  return `${missing.join(' and ')} seen`
}
