import t from 'tap'
import { backoffDelay } from '../../src/client/backoff.js'

const options = { initialDelayMs: 500, maxDelayMs: 10_000 }

t.test('doubles from the initial delay and stops at the cap', async (t) => {
  const noJitter = (): number => 0.5
  t.same([0, 1, 2, 3, 4, 5, 10].map((attempt) => backoffDelay(attempt, options, noJitter)), [500, 1000, 2000, 4000, 8000, 10_000, 10_000])
})

t.test('jitter stays within ±20 % and never passes the cap', async (t) => {
  t.equal(backoffDelay(0, options, () => 0), 400)
  t.equal(backoffDelay(0, options, () => 0.999999), 600)
  t.equal(backoffDelay(9, options, () => 0.999999), 10_000)
})
