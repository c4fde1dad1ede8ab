// The Redis side of the shared state on a real three-master Redis Cluster, made with redis-cli
// --cluster create: the same tests as on one server (test/helpers/redis-stores-suite.ts). A script
// whose keys spread over slots would fail here with CROSSSLOT.
import t from 'tap'
import { redisStoresSuite } from '../helpers/redis-stores-suite.js'

redisStoresSuite(t, 'cluster')
