// Two instances of the example app sharing one redis-server on the real Asterisk 22 test bed: the
// scenarios of test/helpers/multi-instance-suite.ts, and Redis killed and restarted empty.
import t from 'tap'
import { multiInstanceSuite } from '../helpers/multi-instance-suite.js'

await multiInstanceSuite(t, 'server')
