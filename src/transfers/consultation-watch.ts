/**
 * Waits for the events that prove an attended transfer's consultation started (see consultation.ts for
 * the rule). Subscribe before sending Atxfer: the Hold can arrive before Atxfer's own response.
 */
import type { EventEmitter } from 'node:events'
import type { PbxEvent } from '../asterisk/ami-events.js'
import type { PbxEvents } from '../asterisk/pbx.js'
import { ConsultationNotStartedError } from '../errors.js'
import {
  advanceConsultation,
  describeMissing,
  initialProgress,
  isConsultationStarted,
  type ConsultationExpectation
} from './consultation.js'

export interface ConsultationWatch {
  /** Resolves with the consultation channel (the Local half Asterisk dials the target through). */
  started: Promise<string>
  /** Stops waiting (the Atxfer action itself failed). */
  abandon: () => void
}

export function awaitConsultation (
  events: EventEmitter<PbxEvents>,
  expected: ConsultationExpectation,
  timeoutMs: number
): ConsultationWatch {
  let abandon = (): void => {}
  const started = new Promise<string>((resolve, reject) => {
    let progress = initialProgress
    const stop = (): void => {
      clearTimeout(timer)
      events.off('event', onEvent)
    }
    const fail = (): void => {
      stop()
      reject(new ConsultationNotStartedError(expected.agentChannel, describeMissing(progress)))
    }
    const onEvent = (event: PbxEvent): void => {
      progress = advanceConsultation(progress, event, expected)
      if (isConsultationStarted(progress)) {
        stop()
        resolve(progress.consultationChannel as string)
      } else if (progress.failure !== undefined) {
        fail()
      }
    }
    const timer = setTimeout(fail, timeoutMs)
    events.on('event', onEvent)
    abandon = fail
  })
  started.catch(() => {})
  return { started, abandon: () => abandon() }
}
