import t from 'tap'
import type { PbxEvent } from '../../src/asterisk/ami-events.js'
import { ENDED_KEPT, RecordingWatch } from '../../src/transfers/recording-watch.js'

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

t.test('the file: set once read, kept for a recorded channel that hung up (by name), never for one not recorded', async (t) => {
  const watch = new RecordingWatch()
  watch.setFile('1.2', '/rec/a.wav')
  t.equal(watch.fileOf('1.2'), undefined, 'not recorded: no file')
  watch.observe({ type: 'mixMonitorStart', ...ref('1.2') })
  t.equal(watch.fileOf('1.2'), undefined, 'not read yet')
  watch.setFile('1.2', '/rec/a.wav')
  watch.observe({ type: 'mixMonitorStart', ...ref('1.2') })
  t.equal(watch.fileOf('1.2'), '/rec/a.wav', 'a second start event keeps the file read')
  watch.observe({ type: 'hangup', cause: 'Normal Clearing', ...ref('1.2') })
  t.equal(watch.fileOf('1.2'), undefined)
  t.equal(watch.endedFileOf('PJSIP/101-1.2'), '/rec/a.wav')
  watch.observe({ type: 'mixMonitorStart', ...ref('1.3') })
  watch.observe({ type: 'mixMonitorStop', ...ref('1.3') })
  watch.observe({ type: 'hangup', cause: 'Normal Clearing', ...ref('1.3') })
  t.equal(watch.endedFileOf('PJSIP/101-1.3'), undefined, 'stopped before its hangup')
})

t.test('the ended channels are bounded: the oldest is forgotten first', async (t) => {
  const watch = new RecordingWatch()
  for (let i = 0; i <= ENDED_KEPT; i++) {
    watch.started(`2.${i}`, `/rec/${i}.wav`)
    watch.observe({ type: 'hangup', cause: 'Normal Clearing', ...ref(`2.${i}`) })
  }
  t.equal(watch.endedFileOf('PJSIP/101-2.0'), undefined)
  t.equal(watch.endedFileOf('PJSIP/101-2.1'), '/rec/1.wav')
  t.equal(watch.endedFileOf(`PJSIP/101-2.${ENDED_KEPT}`), `/rec/${ENDED_KEPT}.wav`)
})
