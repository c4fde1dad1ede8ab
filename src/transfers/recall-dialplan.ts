/**
 * The plugin's own dialplan for transfer recall, as the lines AMI `DialplanExtensionAdd` adds, and the
 * steps the tracker recognises in Asterisk's events. Pure: `recall-installer.ts` sends the lines.
 *
 * A blind transfer with recall redirects the customer to `transfer@<context>` instead of the target,
 * with the target and the agent in two channel variables. The customer then dials the target from
 * here, so when that Dial ends without an answer (timeout, busy, unreachable) the next step is ours,
 * not the target dialplan's `Hangup()`: there is no race to win against the dialplan.
 *
 *   transfer: Dial(Local/<target>@<transferContext>, <afterMs>); answered -> end, else -> recall
 *   recall:   agent's device not NOT_INUSE -> fallback; caller name prefixed "R: ";
 *             Dial(Local/<agent>@<transferContext>, <ringAgentMs>); answered -> end, else -> fallback
 *   fallback: [Set(QUEUE_PRIO=<its priority>)] Goto(<fallback's context>, <fallback's exten>, 1), or
 *             end when there is none
 *   end:      Hangup()  (also where a call answered by the target goes once it is over)
 *
 * The customer is sent to the context's entry (`recallEntry`), three lines written again in front of
 * every Redirect: it goes on to `transfer` when every other line of the context is there. A `dialplan reload`
 * drops runtime lines without a word (no AMI event), so the rest may be gone: then the customer waits
 * a moment at the entry, where the plugin sees it (its `Newexten`) and adds the context again, and goes
 * on to `transfer` once it is back, or to the target the plain way (no recall) if it is not. The
 * customer is never sent to a line that does not exist, and a Redirect carries three lines, not all.
 */

/** Channel variables set on the customer's channel before the Redirect. */
export const TARGET_VARIABLE = 'FASTIFY_XFER_TARGET'
export const AGENT_VARIABLE = 'FASTIFY_XFER_AGENT'

/** The extensions of the recall context: where each step of a recall happens. */
export const RECALL_STEPS = { transfer: 'transfer', recall: 'recall', fallback: 'fallback', end: 'end' } as const

/** Where a Redirect sends the customer once the context is installed: its entry (`recallEntry`). */
export const RECALL_ENTRY = 'start'

/** How long a customer waits at the entry for the plugin to add a context a reload dropped. */
export const ENTRY_WAIT_MS = 500

/** The application of the entry's waiting step: the customer running it tells the context is gone. */
const ENTRY_WAIT_APPLICATION = 'Wait'

export const DEFAULT_RECALL_CONTEXT = 'fastify-transfer-recall'

export interface RecallDialplanSettings {
  /** The context the plugin adds (one per plugin configuration: settings live in its lines). */
  context: string
  /** Where targets and agents are dialed. */
  transferContext: string
  /** The agents' channel technology, for their device state (`PJSIP/101`). */
  technology: string
  /** How long the target may ring. */
  afterMs: number
  /** How long the agent's phone rings for the recall. */
  ringAgentMs: number
  /**
   * Where the customer goes when the agent is not free or does not answer; a queue's `priority` goes
   * with them (QUEUE_PRIO), as it does with a transfer into that queue.
   */
  fallback?: { context: string, exten: string, priority?: number }
}

/**
 * Whether a blind transfer to this target goes through recall: agents and free extensions of the
 * transfer context (a phone that may not answer). Named destinations (queues, voicemail, parking...)
 * take the call by themselves and keep their own dialplan.
 */
export function usesRecall (target: { kind: string, context: string }, transferContext: string): boolean {
  return (target.kind === 'agent' || target.kind === 'free') && target.context === transferContext
}

export interface DialplanLine {
  context: string
  exten: string
  priority: number
  application: string
  data: string
}

/** Dial's timeout in seconds; fractions are allowed (Asterisk parses it as a time length). */
function seconds (ms: number): string {
  return String(Math.round(ms) / 1000)
}

/** The fallback: the customer keeps a queue's priority there too (the tracker knows the step by its extension). */
function fallbackSteps (fallback: RecallDialplanSettings['fallback']): Array<[string, string, string]> {
  const { fallback: step, end } = RECALL_STEPS
  if (fallback === undefined) return [[step, 'Goto', `${end},1`]]
  const goto: [string, string, string] = [step, 'Goto', `${fallback.context},${fallback.exten},1`]
  return fallback.priority === undefined ? [goto] : [[step, 'Set', `QUEUE_PRIO=${fallback.priority}`], goto]
}

export function recallDialplan (settings: RecallDialplanSettings): DialplanLine[] {
  const { context, transferContext, technology, fallback } = settings
  const { transfer, recall, end } = RECALL_STEPS
  const answeredOr = (next: string): string => `$["\${DIALSTATUS}" = "ANSWER"]?${end},1:${next},1`
  const steps: Array<[string, string, string]> = [
    [transfer, 'Dial', `Local/\${${TARGET_VARIABLE}}@${transferContext},${seconds(settings.afterMs)}`],
    [transfer, 'GotoIf', answeredOr(recall)],
    // Not free (on another call, ringing, offline): straight to the fallback.
    [recall, 'GotoIf', `$["\${DEVICE_STATE(${technology}/\${${AGENT_VARIABLE}})}" != "NOT_INUSE"]?${RECALL_STEPS.fallback},1`],
    // What the agent's phone shows: this is a call coming back, not a new one.
    [recall, 'Set', 'CALLERID(name)=R: ${CALLERID(name)}'],
    [recall, 'Dial', `Local/\${${AGENT_VARIABLE}}@${transferContext},${seconds(settings.ringAgentMs)}`],
    [recall, 'GotoIf', answeredOr(RECALL_STEPS.fallback)],
    ...fallbackSteps(fallback),
    [end, 'Hangup', '']
  ]
  const priorities = new Map<string, number>()
  return steps.map(([exten, application, data]) => {
    const priority = (priorities.get(exten) ?? 0) + 1
    priorities.set(exten, priority)
    return { context, exten, priority, application, data }
  })
}

/**
 * The context's entry, written in front of every Redirect into it (`Replace`, so Asterisk logs nothing).
 * It goes on only when every line of `lines` (the context, `recallDialplan`) is there: a reload in the
 * middle of adding them leaves some, so no single line stands for the others (one lookup each, in
 * Asterisk's memory).
 */
export function recallEntry (settings: Pick<RecallDialplanSettings, 'context' | 'transferContext'>, lines: readonly DialplanLine[]): DialplanLine[] {
  const { context, transferContext } = settings
  const installed = `$[${lines.map((line) => `\${DIALPLAN_EXISTS(${line.context},${line.exten},${line.priority})}`).join(' & ')}]`
  const steps: Array<[string, string]> = [
    ['GotoIf', `${installed}?${RECALL_STEPS.transfer},1`],
    // Only when the rest is gone (a dialplan reload): the plugin sees this step and adds it again.
    [ENTRY_WAIT_APPLICATION, seconds(ENTRY_WAIT_MS)],
    // Back: the recall as usual. Still gone (the plugin could not add it): the target, the plain way.
    ['GotoIf', `${installed}?${RECALL_STEPS.transfer},1:${transferContext},\${${TARGET_VARIABLE}},1`]
  ]
  return steps.map(([application, data], index) => ({ context, exten: RECALL_ENTRY, priority: index + 1, application, data }))
}

/** Whether a dialplan event is a customer waiting at the entry: the rest of the context is gone. */
export function waitsAtEntry (event: { context: string, exten: string, application: string }, recallContext: string): boolean {
  return event.context === recallContext && event.exten === RECALL_ENTRY && event.application === ENTRY_WAIT_APPLICATION
}

/** The step of the recall context a dialplan event is at, if it is in that context. */
export function recallStep (context: string, recallContext: string, exten: string): keyof typeof RECALL_STEPS | undefined {
  if (context !== recallContext) return undefined
  return (Object.keys(RECALL_STEPS) as Array<keyof typeof RECALL_STEPS>).find((step) => RECALL_STEPS[step] === exten)
}
