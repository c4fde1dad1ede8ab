// Two instances of the example app sharing a three-master Redis Cluster (REDIS_CLUSTER_NODES) on the real
// Asterisk 22 test bed: the scenarios of test/helpers/multi-instance-suite.ts (spread complete, cancel,
// swap and three-way; idempotent retry and concurrent requests; feed resume on the other instance;
// takeover of a killed instance, asked and not; the leader killed; a phone's own transfer; a rolling
// restart), with the transfers', the feed's and each idempotency key's slots spread over the masters.
import t from 'tap'
import { multiInstanceSuite } from '../helpers/multi-instance-suite.js'

await multiInstanceSuite(t, 'cluster')
