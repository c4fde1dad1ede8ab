// The Redis side of the shared state on one real redis-server (the tests: test/helpers/redis-stores-suite.ts).
import t from 'tap'
import { redisStoresSuite } from '../helpers/redis-stores-suite.js'

redisStoresSuite(t, 'server')
