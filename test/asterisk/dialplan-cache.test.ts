import t from 'tap'
import { DialplanCache } from '../../src/asterisk/dialplan-cache.js'

t.test('an extension seen to exist is not asked again within the TTL; a missing one always is', async (t) => {
  let now = 0
  let asked = 0
  const cache = new DialplanCache({ ttlMs: 1000, now: () => now })
  const ask = (answer: boolean) => async (): Promise<boolean> => { asked++; return answer }
  t.equal(await cache.exists('from-internal', '102', ask(true)), true)
  t.equal(await cache.exists('from-internal', '102', ask(false)), true, 'answered from memory')
  t.equal(asked, 1)
  t.equal(await cache.exists('from-internal', '999', ask(false)), false)
  t.equal(await cache.exists('from-internal', '999', ask(false)), false)
  t.equal(asked, 3, 'a missing extension is asked every time')
  now = 1000
  t.equal(await cache.exists('from-internal', '102', ask(false)), false, 'past the TTL Asterisk is asked again, and believed')
  t.equal(cache.size, 0)
})

t.test('clear() forgets everything (a reload, a reconnect); the memory is bounded', async (t) => {
  const cache = new DialplanCache({ maxEntries: 2 })
  for (const exten of ['101', '102', '103']) await cache.exists('c', exten, async () => true)
  t.equal(cache.size, 2, 'the oldest is forgotten first')
  let asked = 0
  await cache.exists('c', '101', async () => { asked++; return true })
  t.equal(asked, 1, '101 was the one forgotten')
  cache.clear()
  t.equal(cache.size, 0)
})
