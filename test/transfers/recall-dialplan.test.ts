import t from 'tap'
import { recallDialplan, recallEntry, recallStep, usesRecall, waitsAtEntry } from '../../src/transfers/recall-dialplan.js'

const settings = { context: 'fastify-transfer-recall', transferContext: 'from-internal', technology: 'PJSIP', afterMs: 20_000, ringAgentMs: 2500 }
const lines = (extra = {}): string[] => recallDialplan({ ...settings, ...extra }).map((line) => `${line.exten},${line.priority},${line.application}(${line.data})`)

t.test('the target is dialed from the plugin\'s context: an unanswered dial comes back to the agent, then the fallback', async (t) => {
  t.same(lines({ fallback: { context: 'from-internal', exten: 'sales' } }), [
    'transfer,1,Dial(Local/${FASTIFY_XFER_TARGET}@from-internal,20)',
    'transfer,2,GotoIf($["${DIALSTATUS}" = "ANSWER"]?end,1:recall,1)',
    'recall,1,GotoIf($["${DEVICE_STATE(PJSIP/${FASTIFY_XFER_AGENT})}" != "NOT_INUSE"]?fallback,1)',
    'recall,2,Set(CALLERID(name)=R: ${CALLERID(name)})',
    'recall,3,Dial(Local/${FASTIFY_XFER_AGENT}@from-internal,2.5)',
    'recall,4,GotoIf($["${DIALSTATUS}" = "ANSWER"]?end,1:fallback,1)',
    'fallback,1,Goto(from-internal,sales,1)',
    'end,1,Hangup()'
  ])
})

t.test('a fallback queue with a priority: the customer joins it with that priority', async (t) => {
  t.same(lines({ fallback: { context: 'from-internal', exten: 'sales', priority: 10 } }).slice(-3), [
    'fallback,1,Set(QUEUE_PRIO=10)',
    'fallback,2,Goto(from-internal,sales,1)',
    'end,1,Hangup()'
  ])
})

t.test('without a fallback the customer the agent cannot take ends the call', async (t) => {
  t.same(lines().slice(-2), ['fallback,1,Goto(end,1)', 'end,1,Hangup()'])
})

t.test('recall applies to agents and free extensions of the transfer context, not to named destinations', async (t) => {
  t.ok(usesRecall({ kind: 'agent', context: 'from-internal' }, 'from-internal'))
  t.ok(usesRecall({ kind: 'free', context: 'from-internal' }, 'from-internal'))
  for (const kind of ['queue', 'voicemail', 'parking', 'external', 'other']) t.notOk(usesRecall({ kind, context: 'from-internal' }, 'from-internal'), kind)
  t.notOk(usesRecall({ kind: 'agent', context: 'elsewhere' }, 'from-internal'))
})

t.test('a dialplan step is a recall step only in the recall context', async (t) => {
  t.equal(recallStep('fastify-transfer-recall', 'fastify-transfer-recall', 'fallback'), 'fallback')
  t.equal(recallStep('fastify-transfer-recall', 'fastify-transfer-recall', 'elsewhere'), undefined)
  t.equal(recallStep('from-internal', 'fastify-transfer-recall', 'fallback'), undefined)
})

t.test('the entry goes on to the recall when every line of the context is there; else waits for the plugin to add them, then the target the plain way', async (t) => {
  const context = recallDialplan(settings)
  const every = '$[' + [
    'transfer,1', 'transfer,2', 'recall,1', 'recall,2', 'recall,3', 'recall,4', 'fallback,1', 'end,1'
  ].map((line) => `\${DIALPLAN_EXISTS(fastify-transfer-recall,${line})}`).join(' & ') + ']'
  t.same(recallEntry(settings, context).map((line) => `${line.context}:${line.exten},${line.priority},${line.application}(${line.data})`), [
    `fastify-transfer-recall:start,1,GotoIf(${every}?transfer,1)`,
    'fastify-transfer-recall:start,2,Wait(0.5)',
    `fastify-transfer-recall:start,3,GotoIf(${every}?transfer,1:from-internal,\${FASTIFY_XFER_TARGET},1)`
  ])
  const [, wait] = recallEntry(settings, context)
  t.ok(waitsAtEntry({ context: 'fastify-transfer-recall', exten: 'start', application: wait?.application ?? '' }, 'fastify-transfer-recall'), 'a customer waiting there: the context is gone')
  t.notOk(waitsAtEntry({ context: 'fastify-transfer-recall', exten: 'start', application: 'GotoIf' }, 'fastify-transfer-recall'), 'passing through')
  t.notOk(waitsAtEntry({ context: 'elsewhere', exten: 'start', application: 'Wait' }, 'fastify-transfer-recall'))
})
