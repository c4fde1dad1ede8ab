// Two instances of the example app through Sentinel (REDIS_SENTINELS, REDIS_SENTINEL_NAME), the master
// SIGKILLed mid-consultation and while 20 transfers are executed: test/helpers/failover-instances-suite.ts.
import t from 'tap'
import { failoverInstancesSuite } from '../helpers/failover-instances-suite.js'

await failoverInstancesSuite(t, 'sentinel')
