import t from 'tap'
import { isChannelOf, isLocalTo, localCounterpart, parseChannelName } from '../../src/asterisk/channel-name.js'

t.test('parseChannelName', async (t) => {
  t.test('PJSIP call leg', async (t) => {
    t.same(parseChannelName('PJSIP/101-0000002a'), { technology: 'PJSIP', resource: '101' })
  })

  t.test('chan_sip and IAX2 legs', async (t) => {
    t.same(parseChannelName('SIP/102-000000ff'), { technology: 'SIP', resource: '102' })
    t.same(parseChannelName('IAX2/office-4567'), { technology: 'IAX2', resource: 'office' })
  })

  t.test('an endpoint name containing dashes keeps them; only the last -hex is the suffix', async (t) => {
    t.same(parseChannelName('PJSIP/trunk-provider-00000003'), { technology: 'PJSIP', resource: 'trunk-provider' })
  })

  t.test('upper-case hex suffix', async (t) => {
    t.same(parseChannelName('PJSIP/101-0000002A'), { technology: 'PJSIP', resource: '101' })
  })

  t.test('the two halves of a Local channel carry exten@context and the half', async (t) => {
    t.same(parseChannelName('Local/103@from-internal-00000001;1'), { technology: 'Local', resource: '103@from-internal', localHalf: 1 })
    t.same(parseChannelName('Local/103@from-internal-00000001;2'), { technology: 'Local', resource: '103@from-internal', localHalf: 2 })
  })

  t.test('a PJSIP endpoint with @ in its name', async (t) => {
    t.same(parseChannelName('PJSIP/alice@example.com-00000010'), { technology: 'PJSIP', resource: 'alice@example.com' })
  })

  t.test('names that are not call legs parse to undefined', async (t) => {
    const invalid = [
      '',
      'PJSIP',
      'PJSIP/',
      'PJSIP/101',
      'PJSIP/101-',
      'PJSIP/101-xyz',
      '/101-0000002a',
      'PJ SIP/101-0000002a',
      'Local/103@from-internal-00000001;3',
      'Local/103@from-internal-00000001;',
      'PJSIP/101-0000002a<ZOMBIE>',
      'PJSIP/101-0000002a\r\nAction: Hangup'
    ]
    for (const name of invalid) t.equal(parseChannelName(name), undefined, JSON.stringify(name))
  })
})

t.test('isChannelOf', async (t) => {
  t.test('matches a leg of the endpoint', async (t) => {
    t.equal(isChannelOf('PJSIP/101-0000002a', 'PJSIP', '101'), true)
  })

  t.test('endpoint 101 is not 1010, 10 or 1011', async (t) => {
    t.equal(isChannelOf('PJSIP/1010-0000002a', 'PJSIP', '101'), false)
    t.equal(isChannelOf('PJSIP/101-0000002a', 'PJSIP', '1010'), false)
    t.equal(isChannelOf('PJSIP/101-0000002a', 'PJSIP', '10'), false)
    t.equal(isChannelOf('PJSIP/1011-0000002a', 'PJSIP', '101'), false)
  })

  t.test('compares the technology case-insensitively', async (t) => {
    t.equal(isChannelOf('PJSIP/101-0000002a', 'pjsip', '101'), true)
    t.equal(isChannelOf('pjsip/101-0000002a', 'PJSIP', '101'), true)
  })

  t.test('another technology does not match', async (t) => {
    t.equal(isChannelOf('SIP/101-0000002a', 'PJSIP', '101'), false)
    t.equal(isChannelOf('IAX2/101-0000002a', 'PJSIP', '101'), false)
  })

  t.test('a Local half never counts as an endpoint leg', async (t) => {
    t.equal(isChannelOf('Local/101@from-internal-00000001;1', 'Local', '101@from-internal'), false)
    t.equal(isChannelOf('Local/101@from-internal-00000001;2', 'Local', '101@from-internal'), false)
    t.equal(isChannelOf('Local/101@from-internal-00000001;2', 'PJSIP', '101'), false)
  })

  t.test('an unparsable name matches nothing', async (t) => {
    t.equal(isChannelOf('PJSIP/101', 'PJSIP', '101'), false)
  })
})

t.test('localCounterpart', async (t) => {
  t.test(';1 and ;2 point at each other', async (t) => {
    t.equal(localCounterpart('Local/103@from-internal-00000001;1'), 'Local/103@from-internal-00000001;2')
    t.equal(localCounterpart('Local/103@from-internal-00000001;2'), 'Local/103@from-internal-00000001;1')
  })

  t.test('the technology is recognised case-insensitively', async (t) => {
    t.equal(localCounterpart('local/103@from-internal-00000001;1'), 'local/103@from-internal-00000001;2')
  })

  t.test('non-Local channels and Local names without a half have none', async (t) => {
    t.equal(localCounterpart('PJSIP/101-0000002a'), undefined)
    t.equal(localCounterpart('PJSIP/101-0000002a;1'), undefined)
    t.equal(localCounterpart('Local/103@from-internal-00000001'), undefined)
    t.equal(localCounterpart('Local/103@from-internal-00000001;3'), undefined)
  })
})

t.test('isLocalTo', async (t) => {
  t.test('both halves of a Local channel to exten@context match', async (t) => {
    t.equal(isLocalTo('Local/103@from-internal-00000001;1', '103', 'from-internal'), true)
    t.equal(isLocalTo('Local/103@from-internal-00000001;2', '103', 'from-internal'), true)
  })

  t.test('another extension or context does not match', async (t) => {
    t.equal(isLocalTo('Local/103@from-internal-00000001;1', '1030', 'from-internal'), false)
    t.equal(isLocalTo('Local/1030@from-internal-00000001;1', '103', 'from-internal'), false)
    t.equal(isLocalTo('Local/103@from-internal-00000001;1', '103', 'from-external'), false)
    t.equal(isLocalTo('Local/103@from-internal-00000001;1', '10', '3@from-internal'), false)
  })

  t.test('a leg that is not a Local half does not match', async (t) => {
    t.equal(isLocalTo('PJSIP/103-00000001', '103', 'from-internal'), false)
    t.equal(isLocalTo('Local/103@from-internal-00000001', '103', 'from-internal'), false)
  })
})
