// The shared state on a Redis Cluster of three masters each with a replica, the master of the transfers
// killed, then the master of the feed, while two instances work and publish:
// test/helpers/redis-failover-suite.ts.
import t from 'tap'
import { redisFailoverSuite } from '../helpers/redis-failover-suite.js'

redisFailoverSuite(t, 'cluster')
