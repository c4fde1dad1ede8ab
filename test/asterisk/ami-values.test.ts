import t, { type Test } from 'tap'
import { assertSafeAmiFields, type AmiFields } from '../../src/asterisk/ami-values.js'

/** Asserts that `fields` are refused as unsafe (code XFER_UNSAFE_AMI_VALUE, HTTP 400). */
function assertRefused (t: Test, fields: AmiFields, message: string): void {
  t.throws(() => assertSafeAmiFields(fields), { code: 'XFER_UNSAFE_AMI_VALUE', statusCode: 400 }, message)
}

const lineBreakers = { CR: '\r', LF: '\n', CRLF: '\r\n', NUL: '\0' }
const positions = {
  start: (c: string) => `${c}102`,
  middle: (c: string) => `10${c}2`,
  end: (c: string) => `102${c}`
}

t.test('refuses CR, LF, CRLF and NUL anywhere in a plain value', async (t) => {
  for (const [charName, c] of Object.entries(lineBreakers)) {
    for (const [where, place] of Object.entries(positions)) {
      assertRefused(t, { Action: 'Redirect', Exten: place(c) }, `${charName} at the ${where} of Exten`)
    }
  }
})

t.test('refuses the classic header injection that would smuggle a second action', async (t) => {
  assertRefused(t, { Action: 'Redirect', Channel: 'PJSIP/101-0000002a', Exten: '102\r\nAction: Hangup' }, 'CRLF + Action')
  assertRefused(t, { Action: 'Redirect', Channel: 'PJSIP/101-0000002a', Exten: '102\nAction: Hangup' }, 'bare LF + Action')
})

t.test('refuses line breakers in the Action name itself', async (t) => {
  assertRefused(t, { Action: 'Ping\r\nAction: Hangup' }, 'CRLF in Action')
})

t.test('refuses CR, LF, CRLF and NUL in a key or value of a variables object', async (t) => {
  for (const [charName, c] of Object.entries(lineBreakers)) {
    assertRefused(t, { Action: 'Originate', Variable: { FOO: `bar${c}` } }, `${charName} in a variable value`)
    assertRefused(t, { Action: 'Originate', Variable: { [`FO${c}O`]: 'bar' } }, `${charName} in a variable name`)
  }
})

t.test('refuses a variable name containing "=", which would shift the value', async (t) => {
  assertRefused(t, { Action: 'Originate', Variable: { 'A=B': 'c' } }, '= in a variable name')
})

t.test('accepts "=" inside a variable value', async (t) => {
  t.doesNotThrow(() => assertSafeAmiFields({ Action: 'Originate', Variable: { A: 'b=c' } }))
})

t.test('refuses CR, LF, CRLF and NUL in a field name', async (t) => {
  for (const [charName, c] of Object.entries(lineBreakers)) {
    assertRefused(t, { Action: 'Ping', [`Ex${c}ten`]: '102' }, `${charName} in a field name`)
  }
})

t.test('refuses field names with spaces, colons or no letters', async (t) => {
  assertRefused(t, { Action: 'Ping', 'Ex ten': '102' }, 'space inside')
  assertRefused(t, { Action: 'Ping', 'Exten ': '102' }, 'trailing space')
  assertRefused(t, { Action: 'Ping', 'Exten:': '102' }, 'trailing colon')
  assertRefused(t, { Action: 'Ping', 'Exten: 102\r\nAction': 'Hangup' }, 'a whole header in the name')
  assertRefused(t, { Action: 'Ping', '': 'x' }, 'empty name')
  assertRefused(t, { Action: 'Ping', '1Exten': '102' }, 'name starting with a digit')
})

t.test('the error names the offending field', async (t) => {
  t.throws(() => assertSafeAmiFields({ Action: 'Redirect', Context: 'from-internal\n' }), { message: /Context/ })
})

t.test('refuses a /regex/ in every channel-naming field, whatever its case', async (t) => {
  for (const name of ['Channel', 'channel', 'CHANNEL', 'ExtraChannel', 'Channel1', 'Channel2', 'TransfererChannel']) {
    assertRefused(t, { Action: 'Hangup', [name]: '/PJSIP/.*/' }, `${name}: /PJSIP/.*/`)
  }
  assertRefused(t, { Action: 'Hangup', Channel: '/' }, 'a lone slash')
})

t.test('allows a leading slash in fields that do not name channels', async (t) => {
  t.doesNotThrow(() => assertSafeAmiFields({ Action: 'Command', Command: '/core show channels' }))
})

t.test('accepts ordinary action fields', async (t) => {
  const ordinary: AmiFields[] = [
    { Action: 'Redirect', Channel: 'PJSIP/101-0000002a', Exten: '103', Context: 'from-internal', Priority: 1 },
    { Action: 'Atxfer', Channel: 'Local/103@from-internal-00000001;1', Exten: '*2', Context: 'from-internal' },
    { Action: 'Hangup', Channel: 'SIP/trunk-provider-000000ff', Cause: 16 },
    { Action: 'Originate', Channel: 'PJSIP/101', Async: true, Variable: { CALLERID: '"Alice" <101>', A: 'b=c' } },
    { Action: 'Getvar', Variable: 'DIALPLAN_EXISTS(from-internal,103,1)' },
    { Action: 'Events', EventMask: false, Optional: undefined },
    { Action: 'Redirect', Channel: 'PJSIP/101/extra-00000001' }
  ]
  for (const fields of ordinary) {
    t.doesNotThrow(() => assertSafeAmiFields(fields), JSON.stringify(fields))
  }
})

t.test('skips undefined values but still checks their field names', async (t) => {
  t.doesNotThrow(() => assertSafeAmiFields({ Action: 'Ping', Exten: undefined }))
  assertRefused(t, { Action: 'Ping', 'Bad Name': undefined }, 'bad name with an undefined value')
})
