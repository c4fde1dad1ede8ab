import t from 'tap'
import type { PbxEvent } from '../../src/asterisk/ami-events.js'
import { RecordingWatch } from '../../src/transfers/recording-watch.js'

const ref = (uniqueId: string) => ({ channel: `PJSIP/101-${uniqueId}`, uniqueId, linkedId: '1.1' })

t.test('a channel is recorded from its MixMonitorStart until a MixMonitorStop or its hangup', async (t) => {
  const watch = new RecordingWatch()
  t.notOk(watch.isRecorded('1.2'))
  watch.observe({ type: 'mixMonitorStart', ...ref('1.2') })
  watch.observe({ type: 'mixMonitorStart', ...ref('1.3') })
  t.ok(watch.isRecorded('1.2'))
  watch.observe({ type: 'mixMonitorStop', ...ref('1.2') })
  t.notOk(watch.isRecorded('1.2'))
  // Asterisk sends no MixMonitorStop when the channel hangs up.
  watch.observe({ type: 'hangup', cause: 'Normal Clearing', ...ref('1.3') })
  t.notOk(watch.isRecorded('1.3'))
  t.equal(watch.size, 0, 'nothing kept for channels that are gone')
})

t.test('the plugin\'s own recordings count before their event; other events and unknown ids change nothing', async (t) => {
  const watch = new RecordingWatch()
  watch.started('1.4')
  watch.started('')
  t.ok(watch.isRecorded('1.4'))
  t.notOk(watch.isRecorded(undefined))
  watch.observe({ type: 'newState', state: 'Up', ...ref('1.4') } satisfies PbxEvent)
  watch.observe({ type: 'hangup', cause: 'Normal Clearing', ...ref('9.9') })
  t.ok(watch.isRecorded('1.4'))
  t.equal(watch.size, 1)
})
