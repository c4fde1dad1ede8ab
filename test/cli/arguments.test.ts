// The command line: what each command accepts, and the usage errors raised before anything connects.
import t, { type Test } from 'tap'
import { CHECK_HELP, DEFAULT_TIMEOUT_S, MAIN_HELP, parseCommandLine, TRANSFER_HELP, UsageError } from '../../src/cli/arguments.js'

const transfer = (...args: string[]) => parseCommandLine(['transfer', ...args])

function usageError (t: Test, args: string[], message: RegExp): void {
  let error: unknown
  try {
    parseCommandLine(args)
  } catch (thrown) {
    error = thrown
  }
  t.type(error, UsageError, args.join(' '))
  t.match((error as UsageError | undefined)?.message, message, args.join(' '))
  t.match((error as UsageError | undefined)?.hint, /--help|--timeout|the commands are/, 'a hint')
}

t.test('help: no arguments, --help, -h, help <command>, <command> --help', async (t) => {
  t.same(parseCommandLine([]), { name: 'help', text: MAIN_HELP })
  t.same(parseCommandLine(['--help']), { name: 'help', text: MAIN_HELP })
  t.same(parseCommandLine(['-h']), { name: 'help', text: MAIN_HELP })
  t.same(parseCommandLine(['help']), { name: 'help', text: MAIN_HELP })
  t.same(parseCommandLine(['help', 'check']), { name: 'help', text: CHECK_HELP })
  t.same(parseCommandLine(['check', '--help']), { name: 'help', text: CHECK_HELP })
  t.same(parseCommandLine(['transfer', '--help']), { name: 'help', text: TRANSFER_HELP })
  t.same(parseCommandLine(['transfer', 'blind', '-h']), { name: 'help', text: TRANSFER_HELP }, 'help wins over missing options')
})

t.test('each help names its options and the environment', async (t) => {
  for (const text of [MAIN_HELP, CHECK_HELP, TRANSFER_HELP]) {
    t.match(text, /AMI_HOST/)
    t.match(text, /TRANSFER_CONTEXT/)
    t.match(text, /Exit status/)
    t.match(text, /ASTERISK_SERVERS .*instead of AMI_\* and ARI_\*/)
  }
  for (const option of ['--from', '--to', '--complete', '--cancel', '--timeout', '--server', '--env-file']) t.match(TRANSFER_HELP, option)
  t.match(CHECK_HELP, /--server <name>/)
})

t.test('version', async (t) => {
  t.same(parseCommandLine(['--version']), { name: 'version' })
  t.same(parseCommandLine(['-v']), { name: 'version' })
})

t.test('check, with and without --env-file', async (t) => {
  t.same(parseCommandLine(['check']), { name: 'check' })
  t.same(parseCommandLine(['check', '--env-file', 'prod.env']), { name: 'check', envFile: 'prod.env' })
  t.same(parseCommandLine(['check', '--env-file=prod.env']), { name: 'check', envFile: 'prod.env' })
})

t.test('transfer blind with the default timeout', async (t) => {
  t.same(transfer('blind', '--from', '101', '--to', '102'),
    { name: 'transfer', kind: 'blind', from: '101', to: '102', after: 'leave', steps: [], timeoutMs: DEFAULT_TIMEOUT_S * 1000 })
})

t.test('transfer attended: --complete, --cancel, neither; options in any order', async (t) => {
  t.match(transfer('attended', '--from', '101', '--to', '103', '--complete'), { kind: 'attended', after: 'complete' })
  t.match(transfer('--cancel', 'attended', '--to', '103', '--from', '101'), { kind: 'attended', after: 'cancel', from: '101', to: '103' })
  t.match(transfer('attended', '--from', '101', '--to', '103'), { after: 'leave' })
})

t.test('transfer attended: --swap (each one swap) then --three-way, before --complete, --cancel or neither', async (t) => {
  t.match(transfer('attended', '--from', '101', '--to', '103', '--swap'), { after: 'leave', steps: ['swap'] })
  t.match(transfer('attended', '--from', '101', '--to', '103', '--swap', '--swap', '--cancel'), { after: 'cancel', steps: ['swap', 'swap'] })
  t.match(transfer('attended', '--three-way', '--from', '101', '--swap', '--to', '103', '--complete'), { after: 'complete', steps: ['swap', 'three_way'] }, 'the three-way last, whatever the order')
  t.match(transfer('attended', '--from', '101', '--to', '103'), { steps: [] })
})

t.test('--timeout in seconds, decimals allowed', async (t) => {
  t.match(transfer('blind', '--from', '101', '--to', '102', '--timeout', '5'), { timeoutMs: 5000 })
  t.match(transfer('blind', '--from', '101', '--to', '102', '--timeout=2.5'), { timeoutMs: 2500 })
  t.match(transfer('blind', '--from', '101', '--to', '102', '--timeout', '600'), { timeoutMs: 600_000 })
})

t.test('extensions: the routes\' pattern (digits, letters, * # + _ -, 1 to 32)', async (t) => {
  t.match(transfer('blind', '--from', 'agent_7', '--to', '*72#'), { from: 'agent_7', to: '*72#' })
  t.match(transfer('blind', '--from', '+4930-1', '--to', 'x'.repeat(32)), { from: '+4930-1' })
})

t.test('usage errors', async (t) => {
  usageError(t, ['frobnicate'], /unknown command "frobnicate"/)
  usageError(t, ['help', 'frobnicate'], /unknown command "frobnicate"/)
  usageError(t, ['check', 'extra'], /check takes no arguments/)
  usageError(t, ['check', '--verbose'], /Unknown option '--verbose'/)
  usageError(t, ['check', '--env-file'], /--env-file/)
  usageError(t, ['transfer'], /needs a kind: blind or attended/)
  usageError(t, ['transfer', 'warm', '--from', '101', '--to', '102'], /unknown transfer kind "warm"/)
  usageError(t, ['transfer', 'blind', 'now', '--from', '101', '--to', '102'], /unexpected argument "now"/)
  usageError(t, ['transfer', 'blind', '--to', '102'], /--from <ext> is required/)
  usageError(t, ['transfer', 'blind', '--from', '101'], /--to <ext> is required/)
  usageError(t, ['transfer', 'blind', '--from', '', '--to', '102'], /--from <ext> is required/)
  usageError(t, ['transfer', 'blind', '--form', '101', '--to', '102'], /Unknown option '--form'/)
  usageError(t, ['transfer', 'blind', '--from', '101', '--to', '101'], /both 101/)
  usageError(t, ['transfer', 'blind', '--from', '101', '--to', '102', '--complete'], /--complete is for attended transfers/)
  usageError(t, ['transfer', 'blind', '--from', '101', '--to', '102', '--cancel'], /--cancel is for attended transfers/)
  usageError(t, ['transfer', 'attended', '--from', '101', '--to', '102', '--complete', '--cancel'], /exclude each other/)
  usageError(t, ['transfer', 'blind', '--from', '101', '--to', '102', '--swap'], /--swap is for attended transfers/)
  usageError(t, ['transfer', 'blind', '--from', '101', '--to', '102', '--three-way'], /--three-way is for attended transfers/)
  usageError(t, ['transfer', 'attended', '--from', '101', '--to', '102', '--three-way=yes'], /--three-way/)
  for (const timeout of ['0', '-1', 'soon', '', '601', 'Infinity']) {
    usageError(t, ['transfer', 'blind', '--from', '101', '--to', '102', `--timeout=${timeout}`], /--timeout .* is not a number of seconds/)
  }
})

t.test('extensions that could break an AMI header or widen a channel match are refused before connecting', async (t) => {
  for (const bad of ['102\r\nAction: Hangup', '102\n', '/.*/', '1 02', '102;1', 'x'.repeat(33), 'PJSIP/102', '10é']) {
    usageError(t, ['transfer', 'blind', '--from', '101', '--to', bad], /--to .* is not an extension/)
    usageError(t, ['transfer', 'blind', '--from', bad, '--to', '102'], /--from .* is not an extension/)
  }
})

t.test('--server: the server of a pool, for check and transfer; its name checked before anything is read', async (t) => {
  t.same(parseCommandLine(['check', '--server', 'pbx2']), { name: 'check', server: 'pbx2' })
  t.match(transfer('blind', '--from', '101', '--to', '102', '--server=pbx-1'), { server: 'pbx-1', from: '101' })
  t.notOk('server' in transfer('blind', '--from', '101', '--to', '102'), 'without it, none: the pool decides')
  for (const bad of ['PBX1', '1pbx', 'pbx:1', '', 'x'.repeat(33)]) {
    usageError(t, ['check', `--server=${bad}`], /--server .* is not a server's name/)
    usageError(t, ['transfer', 'blind', '--from', '101', '--to', '102', `--server=${bad}`], /--server .* is not a server's name/)
  }
})
