import t from 'tap'
import { SocketCount } from '../../src/feed/socket-count.js'

t.test('up to the maximum per key; a release gives one place back; keys apart; empty keys forgotten', async (t) => {
  const count = new SocketCount(2)
  t.same([count.take('101'), count.take('101'), count.take('101')], [true, true, false])
  t.equal(count.take('102'), true, 'another key has its own places')
  count.release('101')
  t.equal(count.take('101'), true)
  t.equal(count.take('101'), false)
  count.release('102')
  t.equal(count.size, 1, 'a key without sockets is not kept')
})
