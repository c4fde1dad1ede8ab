// The shared state through Sentinel (a master, a replica, three sentinels), its master killed while two
// instances work and publish: test/helpers/redis-failover-suite.ts.
import t from 'tap'
import { redisFailoverSuite } from '../helpers/redis-failover-suite.js'

redisFailoverSuite(t, 'sentinel')
