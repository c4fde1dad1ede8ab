// Two instances' routes sharing one real redis-server (the tests: test/helpers/shared-routes-suite.ts).
import t from 'tap'
import { sharedRoutesSuite } from '../helpers/shared-routes-suite.js'

sharedRoutesSuite(t, 'server')
