// Two instances' routes sharing a real three-master Redis Cluster: idempotent retries, one transfer per
// call, the rate limit's one budget (its counters on the cluster), 503 without it, a loss of its data.
// The same tests as on one server (test/helpers/shared-routes-suite.ts).
import t from 'tap'
import { sharedRoutesSuite } from '../helpers/shared-routes-suite.js'

sharedRoutesSuite(t, 'cluster')
