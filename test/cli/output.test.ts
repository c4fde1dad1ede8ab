// Formatting of the command-line tool, on a terminal and in a pipe or log (plain ASCII).
import t from 'tap'
import { transferFixture } from './fixtures/transfer.js'
import type { Transfer } from '../../src/domain/transfer.js'
import {
  clock,
  describeTransfer,
  detectStyle,
  errorLines,
  eventLine,
  extensionList,
  fit,
  mark,
  outcomeLines,
  Printer,
  spinnerFrame,
  statusLines,
  type Style
} from '../../src/cli/output.js'

const tty: Style = { fancy: true, animate: true }
const plain: Style = { fancy: false, animate: false }
const ESC = '\x1b'

const transfer = (overrides: Partial<Transfer> = {}): Transfer => transferFixture({ status: 'initiated', ...overrides })

t.test('detectStyle: a terminal gets ✓ and colour; a pipe, NO_COLOR or TERM=dumb get ASCII', async (t) => {
  t.same(detectStyle({ isTTY: true }, {}), { fancy: true, animate: true })
  t.same(detectStyle({ isTTY: false }, {}), { fancy: false, animate: false })
  t.same(detectStyle({}, {}), { fancy: false, animate: false }, 'a stream without isTTY is not a terminal')
  t.same(detectStyle({ isTTY: true }, { NO_COLOR: '1' }), { fancy: false, animate: true }, 'NO_COLOR: no colour, but the spinner may still turn')
  t.same(detectStyle({ isTTY: true }, { NO_COLOR: '' }), { fancy: true, animate: true }, 'an empty NO_COLOR does not count (no-color.org)')
  t.same(detectStyle({ isTTY: true }, { TERM: 'dumb' }), { fancy: false, animate: false })
})

t.test('marks', async (t) => {
  t.equal(mark('ok', tty), `${ESC}[32m✓${ESC}[0m`)
  t.equal(mark('fail', tty), `${ESC}[31m✗${ESC}[0m`)
  t.equal(mark('warn', tty), `${ESC}[33m!${ESC}[0m`)
  t.same(['ok', 'warn', 'fail', 'info'].map((status) => mark(status as 'ok', plain)), ['[ok]  ', '[warn]', '[FAIL]', '[info]'])
  t.ok(['ok', 'warn', 'fail', 'info'].every((status) => mark(status as 'ok', plain).length === 6), 'same width: labels line up')
})

t.test('status lines: mark, label, detail, and the hint under the label', async (t) => {
  t.same(statusLines('ok', 'atxfer feature code', '*2', plain), ['[ok]   atxfer feature code: *2'])
  t.same(statusLines('fail', 'transfer context', 'nope does not exist', plain, 'set TRANSFER_CONTEXT'),
    ['[FAIL] transfer context: nope does not exist', '       hint: set TRANSFER_CONTEXT'])
  t.same(statusLines('fail', '', 'cannot reach AMI', tty, 'is Asterisk running?'),
    [`${ESC}[31m✗${ESC}[0m cannot reach AMI`, '  hint: is Asterisk running?'], 'no label: the detail alone')
})

t.test('plain output is pure ASCII without escape sequences', async (t) => {
  const lines = [
    ...statusLines('warn', 'extensions online (PJSIP)', 'none', plain, 'no phone is registered'),
    ...errorLines('XFER_NO_ACTIVE_CHANNEL: No active channel for extension 104', 'place a call', plain),
    eventLine(new Date(2025, 0, 2, 3, 4, 5, 6), 'call:transfer_initiated', transfer(), plain),
    ...outcomeLines(transfer({ status: 'answered' }), true, plain)
  ]
  for (const line of lines) t.match(line, /^[\x20-\x7e]*$/, line)
})

t.test('errorLines: one line for the error, one for the hint', async (t) => {
  t.same(errorLines('XFER_NO_ACTIVE_CHANNEL: No active channel for extension 104', '104 has no call', plain),
    ['[FAIL] error: XFER_NO_ACTIVE_CHANNEL: No active channel for extension 104', '       hint: 104 has no call'])
  t.same(errorLines('oops', undefined, plain), ['[FAIL] error: oops'])
})

t.test('extensions in dialing order', async (t) => {
  t.equal(extensionList(['107', '20', 'customer2', '101', 'customer10', '3']), '3, 20, 101, 107, customer2, customer10')
  t.equal(extensionList([]), 'none')
})

t.test('clock: local time with milliseconds', async (t) => {
  t.equal(clock(new Date(2025, 0, 2, 3, 4, 5, 6)), '03:04:05.006')
  t.equal(clock(new Date(2025, 0, 2, 23, 59, 59, 999)), '23:59:59.999')
})

t.test('event lines: time, status, event name, what it means', async (t) => {
  const at = new Date(2025, 0, 2, 3, 4, 5, 6)
  t.equal(eventLine(at, 'call:transfer_initiated', transfer(), plain),
    '03:04:05.006  initiated        call:transfer_initiated              blind transfer of 101\'s call (customer PJSIP/customer1-00000000, agent PJSIP/101-00000001) to 102')
  t.equal(eventLine(at, 'call:ami_transfer_complete', transfer({ status: 'redirected' }), tty),
    `${ESC}[2m03:04:05.006${ESC}[0m  redirected       call:ami_transfer_complete           Asterisk accepted the Redirect: the customer is on the way to 102`)
})

t.test('each status is described in the words of the call', async (t) => {
  const channels = { agent: 'PJSIP/101-01', peer: 'PJSIP/customer1-00', consultation: 'Local/103@from-internal-07;1', target: 'PJSIP/103-02' }
  const attended = (status: Transfer['status'], more: Partial<Transfer> = {}) =>
    describeTransfer(transfer({ type: 'attended', targetExtension: '103', status, channels, ...more }))
  t.equal(attended('consulting'), 'consultation call to 103 started (Local/103@from-internal-07;1); the customer is on hold')
  t.equal(attended('target_answered'), '103 answered the consultation (PJSIP/103-02)')
  t.equal(attended('completed'), 'the customer is with 103 (PJSIP/103-02); 101 left the call')
  t.equal(attended('cancelled'), 'consultation ended: 101 is back with the customer')
  t.equal(attended('abandoned'), 'the customer\'s call ended before the transfer was over')
  t.equal(attended('failed', { failureReason: 'no_answer' }), 'failed (no_answer)')
  t.equal(describeTransfer(transfer({ status: 'failed', failureReason: 'asterisk_refused', error: { code: 'XFER_ASTERISK_REFUSED', message: 'Asterisk refused AMI Redirect: Permission denied' } })),
    'failed (asterisk_refused): XFER_ASTERISK_REFUSED: Asterisk refused AMI Redirect: Permission denied')
  t.equal(describeTransfer(transfer({ status: 'answered', channels: { ...channels, target: 'PJSIP/102-03' } })), '102 answered: the customer is with PJSIP/102-03')
})

t.test('outcome lines: ✓ when it is what was asked, ✗ otherwise', async (t) => {
  t.same(outcomeLines(transfer({ status: 'answered' }), true, plain), ['[ok]   outcome: answered: the customer is with 102'])
  t.same(outcomeLines(transfer({ status: 'failed', failureReason: 'target_busy' }), false, plain), ['[FAIL] outcome: failed: target_busy'])
  t.same(outcomeLines(transfer({ status: 'abandoned' }), false, plain), ['[FAIL] outcome: abandoned: the customer\'s call ended before the transfer was over'])
  t.match(outcomeLines(transfer({ type: 'attended', status: 'consulting' }), true, plain)[0], /consulting: 101 is in consultation with 102 .* left up/)
})

t.test('fit: a spinner line never wraps', async (t) => {
  t.equal(fit('short', 80), 'short')
  t.equal(fit('x'.repeat(100), 10), `${'x'.repeat(8)}…`)
  t.equal(fit('x'.repeat(100), undefined), 'x'.repeat(100), 'unknown width: as is')
})

t.test('spinner frames: braille on a terminal, ASCII otherwise', async (t) => {
  t.equal(spinnerFrame(0, tty), '⠋')
  t.equal(spinnerFrame(10, tty), '⠋', 'wraps around')
  t.same([0, 1, 2, 3, 4].map((tick) => spinnerFrame(tick, plain)), ['|', '/', '-', '\\', '|'])
})

function recorder (isTTY: boolean): { stream: { isTTY: boolean, columns: number, write: (text: string) => boolean }, written: string[] } {
  const written: string[] = []
  return { stream: { isTTY, columns: 80, write: (text: string) => { written.push(text); return true } }, written }
}

t.test('Printer without a terminal: one "..." line per wait, no carriage returns', async (t) => {
  const { stream, written } = recorder(false)
  const printer = new Printer(stream, plain)
  printer.waiting('waiting for 102 to answer')
  printer.line('an event')
  printer.done()
  printer.lines(['a', 'b'])
  t.same(written, ['... waiting for 102 to answer\n', 'an event\n', 'a\n', 'b\n'])
  t.notOk(written.join('').includes('\r'))
})

t.test('Printer on a terminal: the spinner is erased before a line and drawn again after it', async (t) => {
  const { stream, written } = recorder(true)
  const printer = new Printer(stream, tty)
  printer.waiting('waiting for 102 to answer')
  t.same(written, ['\r⠋ waiting for 102 to answer\x1b[K'])
  printer.line('an event')
  t.same(written.slice(1), ['\r\x1b[K', 'an event\n', '\r⠋ waiting for 102 to answer\x1b[K'])
  printer.done()
  t.equal(written.at(-1), '\r\x1b[K', 'done erases the spinner')
  printer.line('after')
  t.equal(written.at(-1), 'after\n', 'no spinner once done')
})

t.test('Printer on a terminal: the spinner turns while waiting and stops when done', async (t) => {
  const { stream, written } = recorder(true)
  const printer = new Printer(stream, tty)
  printer.waiting('connecting')
  await new Promise((resolve) => setTimeout(resolve, 250))
  printer.done()
  const frames = written.filter((text) => text.startsWith('\r') && text.includes('connecting'))
  t.ok(frames.length >= 2, `redrawn ${frames.length} times`)
  t.not(frames[0], frames[1], 'with another frame')
  const count = written.length
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.equal(written.length, count, 'nothing drawn after done')
})
