import t from 'tap'
import { AmiParser, type AmiMessage } from '../../src/asterisk/ami-parser.js'

/** Feeds the chunks in order and returns the parser and every message it completed. */
function parse (...chunks: string[]): { parser: AmiParser, messages: AmiMessage[] } {
  const messages: AmiMessage[] = []
  const parser = new AmiParser((message) => messages.push(message))
  for (const chunk of chunks) parser.push(chunk)
  return { parser, messages }
}

const NEWSTATE = 'Event: Newstate\r\nPrivilege: call,all\r\nChannel: PJSIP/101-0000002a\r\nChannelStateDesc: Up\r\nUniqueid: 1712000000.42\r\n\r\n'
const EXPECTED = { event: 'Newstate', privilege: 'call,all', channel: 'PJSIP/101-0000002a', channelstatedesc: 'Up', uniqueid: '1712000000.42' }

t.test('the greeting is not a message; a message ends at a blank line, keys lowercased', async (t) => {
  const { parser, messages } = parse(`Asterisk Call Manager/9.0.0\r\n${NEWSTATE}`)
  t.equal(parser.greeting, 'Asterisk Call Manager/9.0.0')
  t.same(messages, [EXPECTED])
})

t.test('a message is not complete before its blank line', async (t) => {
  const { messages } = parse('Asterisk Call Manager/9.0.0\r\n', NEWSTATE.slice(0, -2))
  t.same(messages, [])
})

t.test('a stream cut at every possible place gives the same messages', async (t) => {
  const stream = `Asterisk Call Manager/9.0.0\r\n${NEWSTATE}Response: Success\r\nActionID: a-1\r\nMessage: Pong\r\n\r\n`
  const whole = parse(stream).messages
  t.equal(whole.length, 2)
  for (let cut = 1; cut < stream.length; cut++) {
    const { messages } = parse(stream.slice(0, cut), stream.slice(cut))
    if (JSON.stringify(messages) !== JSON.stringify(whole)) t.fail(`cut at ${cut}: ${JSON.stringify(messages)}`)
  }
  // One character at a time: every line end falls between chunks, CR and LF apart.
  t.same(parse(...stream.split('')).messages, whole)
})

t.test('bare LF line ends, and CRLF and LF mixed in one stream', async (t) => {
  const bare = NEWSTATE.replaceAll('\r\n', '\n')
  t.same(parse(bare).messages, [EXPECTED])
  const mixed = 'Event: Hold\nChannel: PJSIP/101-0000002a\r\nUniqueid: 1.1\n\r\n'
  t.same(parse(mixed).messages, [{ event: 'Hold', channel: 'PJSIP/101-0000002a', uniqueid: '1.1' }])
})

t.test('a repeated key gives its values in order as an array', async (t) => {
  const { messages } = parse('Event: Test\r\nItem: a\r\nItem: b\r\nOther: x\r\nItem: c\r\n\r\n')
  t.same(messages, [{ event: 'Test', item: ['a', 'b', 'c'], other: 'x' }])
})

t.test('Variable and ChanVariable lines are gathered by name', async (t) => {
  const { messages } = parse('Event: Test\r\nChanVariable: XFER_ID=42\r\nChanVariable: EMPTY=\r\nChanVariable: EQ=a=b\r\nVariable: X=1\r\n\r\n')
  t.same(messages, [{ event: 'Test', chanvariable: { XFER_ID: '42', EMPTY: '', EQ: 'a=b' }, variable: { X: '1' } }])
})

t.test('values keep their colons and inner spaces; an empty value is the empty string', async (t) => {
  const { messages } = parse('Event: Test\r\nAppData: Dial(PJSIP/103,30): now\r\nAccountCode: \r\nMessage:  two spaces\r\n\r\n')
  t.same(messages, [{ event: 'Test', appdata: 'Dial(PJSIP/103,30): now', accountcode: '', message: ' two spaces' }])
})

t.test('spaces inside a key are removed; a line without a colon is kept as content', async (t) => {
  const { messages } = parse('Response: Follows\r\nPrivilege: Command\r\nCaller ID: 101\r\nsome output\r\nmore output\r\n\r\n')
  t.same(messages, [{ response: 'Follows', privilege: 'Command', callerid: '101', content: 'some output\nmore output' }])
})

t.test('blank lines between messages do not make empty messages', async (t) => {
  const { messages } = parse(`\r\n\r\n${NEWSTATE}\r\n\r\n${NEWSTATE}`)
  t.equal(messages.length, 2)
})

t.test('a key named __proto__ cannot change the message prototype', async (t) => {
  const { messages } = parse('Event: Test\r\n__proto__: polluted\r\nChanVariable: __proto__=x\r\n\r\n')
  t.equal(Object.getPrototypeOf(messages[0]), Object.prototype)
  t.same(messages, [{ event: 'Test', chanvariable: {} }])
})

t.test('many messages in one chunk come out in order', async (t) => {
  const stream = Array.from({ length: 500 }, (_, index) => `Event: Test\r\nN: ${index}\r\n\r\n`).join('')
  const { messages } = parse(stream)
  t.same(messages.map((message) => message.n), Array.from({ length: 500 }, (_, index) => String(index)))
})

t.test('skipEvent: an event it names is dropped up to its blank line; the next message is read whole', async (t) => {
  const asked: string[] = []
  const messages: AmiMessage[] = []
  const parser = new AmiParser((message) => messages.push(message), { skipEvent: (name) => { asked.push(name); return name === 'VarSet' } })
  parser.push(`Event: VarSet\r\nChannel: PJSIP/101-0000002a\r\nVariable: X\r\nValue: 1\r\n\r\n${NEWSTATE}`)
  t.same(messages, [EXPECTED])
  t.same(asked, ['VarSet', 'Newstate'], 'asked once per event, with the name as written')
})

t.test('skipEvent is asked of events only, on their first line: responses and other lines are read', async (t) => {
  const asked: string[] = []
  const messages: AmiMessage[] = []
  const parser = new AmiParser((message) => messages.push(message), { skipEvent: (name) => { asked.push(name); return true } })
  parser.push('Response: Success\r\nActionID: a-1\r\nEvent: Unusual\r\n\r\nPrivilege: call,all\r\nEvent: Late\r\n\r\n')
  t.same(asked, [])
  t.same(messages, [{ response: 'Success', actionid: 'a-1', event: 'Unusual' }, { privilege: 'call,all', event: 'Late' }])
})

t.test('a stream with skipped events, cut at every possible place, gives the messages of the whole stream without them', async (t) => {
  const varSet = 'Event: VarSet\r\nPrivilege: dialplan,all\r\nChannel: PJSIP/101-0000002a\r\nVariable: DIALSTATUS\r\nValue: \r\n\r\n'
  const bareLf = 'Event: VarSet\nVariable: X\n\nEvent: Hold\nChannel: PJSIP/101-0000002a\nUniqueid: 1.1\n\n'
  const stream = `Asterisk Call Manager/9.0.0\r\n${varSet}${NEWSTATE}${varSet}${varSet}Response: Success\r\nActionID: a-1\r\nMessage: Pong\r\n\r\n${bareLf}${varSet}`
  const unfiltered = parse(stream).messages.filter((message) => message.event !== 'VarSet')
  t.equal(unfiltered.length, 3)
  const skipping = (...chunks: string[]): AmiMessage[] => {
    const messages: AmiMessage[] = []
    const parser = new AmiParser((message) => messages.push(message), { skipEvent: (name) => name === 'VarSet' })
    for (const chunk of chunks) parser.push(chunk)
    return messages
  }
  t.same(skipping(stream), unfiltered)
  for (let cut = 1; cut < stream.length; cut++) {
    const messages = skipping(stream.slice(0, cut), stream.slice(cut))
    if (JSON.stringify(messages) !== JSON.stringify(unfiltered)) t.fail(`cut at ${cut}: ${JSON.stringify(messages)}`)
  }
  t.same(skipping(...stream.split('')), unfiltered, 'one character at a time')
})
