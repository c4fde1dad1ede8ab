// Two instances of the example app on a Redis Cluster with replicas (REDIS_CLUSTER_NODES), the master serving
// the transfers SIGKILLed mid-consultation and while 20 transfers are executed:
// test/helpers/failover-instances-suite.ts.
import t from 'tap'
import { failoverInstancesSuite } from '../helpers/failover-instances-suite.js'

await failoverInstancesSuite(t, 'cluster')
