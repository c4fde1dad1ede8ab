/**
 * The command line: what each command accepts, its help text, and the checks made before anything
 * connects to Asterisk (a typo must not cost a login, nor reach AMI). Pure: argv in, a command or a
 * UsageError out. Kept apart from `main.ts` so it can be tested without running the tool.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import Value from 'typebox/value'
import { Extension } from '../domain/transfer.js'
import { SERVER_NAME_PATTERN } from '../server-options.js'

export type TransferKind = 'blind' | 'attended'
/** What an attended transfer does once the consultation is up: complete it, cancel it, or leave it up. */
export type AfterConsultation = 'complete' | 'cancel' | 'leave'
/** What an attended transfer does once the target answered, before that: swap (each --swap once), then three-way. */
export type ConsultationStep = 'swap' | 'three_way'

export type Command =
  | { name: 'help', text: string }
  | { name: 'version' }
  | {
    name: 'check'
    /** Check this server of the pool only; default: every server. */
    server?: string
    envFile?: string
  }
  | {
    name: 'transfer'
    kind: TransferKind
    from: string
    to: string
    after: AfterConsultation
    /** In order, once the target answered and before `after`. */
    steps: ConsultationStep[]
    timeoutMs: number
    /** The server of the pool --from's call is on; needed when the pool has several. */
    server?: string
    envFile?: string
  }

/** A wrong command line: exit 2 with the message and a hint (usually: see --help). */
export class UsageError extends Error {
  override name = 'UsageError'
  readonly hint: string

  constructor (message: string, hint: string) {
    super(message)
    this.hint = hint
  }
}

export const PROGRAM = 'fastify-asterisk-transfer'
/** Longer than Asterisk's own limits (a Dial of 30 s, atxfernoanswertimeout of 15 s), so they decide first. */
export const DEFAULT_TIMEOUT_S = 60
const MAX_TIMEOUT_S = 600

const ENVIRONMENT_HELP = `Environment (as for the example app; variables already set win over the env file):
  AMI_HOST, AMI_PORT (5038), AMI_USERNAME, AMI_PASSWORD   Asterisk Manager Interface
  ARI_URL, ARI_USERNAME, ARI_PASSWORD                     Asterisk REST Interface (http://host:8088)
  TRANSFER_CONTEXT (from-internal)                        dialplan context the targets are dialed in
  ASTERISK_SERVERS                                        several servers, instead of AMI_* and ARI_*: a JSON array of
    {"name":"pbx1","ami":{"host","port","username","password"},"ari":{"url","username","password"},"transferContext"?}
    (names: a lowercase letter, then up to 31 lowercase letters, digits, _ or -; TRANSFER_CONTEXT is the default)

Exit status: 0 success, 1 a check or the transfer failed, 2 wrong usage or configuration.`

export const MAIN_HELP = `Usage: ${PROGRAM} <command> [options]

Server-side call transfers on an Asterisk call center, from the command line.

Commands:
  check                        check that Asterisk is ready for transfers
  transfer blind|attended      transfer an agent's call (see ${PROGRAM} transfer --help)

Options (--env-file goes after the command):
  --env-file <path>   read the variables below from this file (default: ./.env when it exists)
  -h, --help          show this help, or a command's (${PROGRAM} <command> --help)
  -v, --version       print the version

${ENVIRONMENT_HELP}`

export const CHECK_HELP = `Usage: ${PROGRAM} check [--server <name>] [--env-file <path>]

Checks, one line each, what transfers need from Asterisk:
  - AMI login (refused credentials and an unreachable Asterisk are told apart)
  - ARI reachable and the credentials accepted
  - AMI write permissions for the actions transfers send (Redirect, Atxfer, CancelAtxfer, Hangup,
    Getvar), as AMI ListCommands reports them for this user; BlindTransfer and CoreShowChannels are
    reported too but not required. AMI cannot tell its read permissions: manager.conf must give this
    user read = call (transfers follow the call events).
  - the atxfer feature code (features.conf [featuremap]); attended transfers do nothing without it
  - the swap and three-way digits (features.conf [general] atxferswap, atxferthreeway); a warning
    without them (only swap and three-way need them)
  - the transfer context exists in the dialplan
  - which extensions are online (registered) and offline

With ASTERISK_SERVERS, every server is checked in turn (--server <name>: that one only).
Fails (exit 1) when anything transfers need is missing.

${ENVIRONMENT_HELP}`

export const TRANSFER_HELP = `Usage: ${PROGRAM} transfer blind|attended --from <ext> --to <ext> [options]

Transfers the call of extension --from to extension --to, prints every transfer event with its time
and the outcome verified on Asterisk (who is bridged with whom).

  blind      the customer is sent to --to; waits until --to answers (or the transfer fails)
  attended   the customer is put on hold and --from is connected to --to; then:
               --complete   waits for --to to answer, then completes: --from leaves, the customer
                            stays with --to
               --cancel     waits for --to to answer, then cancels: --from is back with the customer
               (neither)    reports the consultation and exits 0, leaving it up
             and before that, once --to answered:
               --swap       --from goes over to the customer while --to waits; given twice, back
                            to --to (each --swap is one swap)
               --three-way  the customer, --from and --to in one call (after the swaps); then
                            --complete: --from leaves; --cancel: --to is dropped

Options:
  --from <ext>        the agent whose call is transferred
  --to <ext>          the target extension (dialed in TRANSFER_CONTEXT)
  --complete          attended only: complete once the target answered
  --cancel            attended only: cancel once the target answered
  --swap              attended only: swap between the customer and the target (repeatable)
  --three-way         attended only: join the customer, the agent and the target
  --timeout <s>       how long to wait for Asterisk's outcome, in seconds (default ${DEFAULT_TIMEOUT_S})
  --server <name>     the server --from's call is on, when ASTERISK_SERVERS names several
  --env-file <path>   read the variables below from this file (default: ./.env when it exists)
  -h, --help          show this help

Extensions are 1 to 32 of digits, letters, *, #, +, _ and -.
On failure the exit status is 1 and the error code of the HTTP API is printed (XFER_NO_ACTIVE_CHANNEL...).

${ENVIRONMENT_HELP}`

const COMMON_OPTIONS = {
  'env-file': { type: 'string' },
  server: { type: 'string' },
  help: { type: 'boolean', short: 'h' }
} as const satisfies ParseArgsConfig['options']

const TRANSFER_OPTIONS = {
  ...COMMON_OPTIONS,
  from: { type: 'string' },
  to: { type: 'string' },
  complete: { type: 'boolean' },
  cancel: { type: 'boolean' },
  swap: { type: 'boolean', multiple: true },
  'three-way': { type: 'boolean' },
  timeout: { type: 'string' }
} as const satisfies ParseArgsConfig['options']

/** parseArgs with its errors turned into usage errors pointing at the right help. */
function parse<O extends NonNullable<ParseArgsConfig['options']>> (args: string[], options: O, helpCommand: string) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true })
  } catch (error) {
    // Node's messages ("Unknown option '--form'...") are clear; only the error code prefix is noise.
    const message = (error as Error).message.replace(/\. To specify a positional argument starting with a '-'.*$/, '')
    throw new UsageError(message, `see ${helpCommand} --help`)
  }
}

function checkExtension (option: string, value: string | undefined): string {
  const hint = `see ${PROGRAM} transfer --help`
  if (value === undefined || value === '') throw new UsageError(`${option} <ext> is required`, hint)
  // The routes' own schema, so the tool refuses exactly what the HTTP API would refuse.
  if (!Value.Check(Extension, value)) {
    throw new UsageError(`${option} ${JSON.stringify(value)} is not an extension (1 to 32 of digits, letters, *, #, +, _, -)`, hint)
  }
  return value
}

function checkTimeout (value: string | undefined): number {
  if (value === undefined) return DEFAULT_TIMEOUT_S * 1000
  const seconds = Number(value)
  if (value.trim() === '' || !Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_TIMEOUT_S) {
    throw new UsageError(`--timeout ${JSON.stringify(value)} is not a number of seconds between 0 and ${MAX_TIMEOUT_S}`, `e.g. --timeout ${DEFAULT_TIMEOUT_S}`)
  }
  return Math.round(seconds * 1000)
}

/** A server's name is checked here already: a typo must not wait for the environment to be read. */
function checkServer (value: string | undefined, helpCommand: string): string | undefined {
  if (value === undefined) return undefined
  if (!new RegExp(SERVER_NAME_PATTERN).test(value)) {
    throw new UsageError(`--server ${JSON.stringify(value)} is not a server's name (a lowercase letter, then up to 31 lowercase letters, digits, _ or -)`, `see ${helpCommand} --help`)
  }
  return value
}

function withCommon<T extends object> (command: T, values: { 'env-file'?: string, server?: string }, helpCommand: string): T & { server?: string, envFile?: string } {
  const server = checkServer(values.server, helpCommand)
  const envFile = values['env-file']
  return { ...command, ...(server === undefined ? {} : { server }), ...(envFile === undefined ? {} : { envFile }) }
}

function parseCheck (args: string[]): Command {
  const { values, positionals } = parse(args, COMMON_OPTIONS, `${PROGRAM} check`)
  if (values.help === true) return { name: 'help', text: CHECK_HELP }
  if (positionals.length > 0) throw new UsageError(`check takes no arguments, got ${JSON.stringify(positionals[0])}`, `see ${PROGRAM} check --help`)
  return withCommon({ name: 'check' as const }, values, `${PROGRAM} check`)
}

function parseTransfer (args: string[]): Command {
  const { values, positionals } = parse(args, TRANSFER_OPTIONS, `${PROGRAM} transfer`)
  if (values.help === true) return { name: 'help', text: TRANSFER_HELP }
  const hint = `see ${PROGRAM} transfer --help`
  const [kind, extra] = positionals
  if (kind !== 'blind' && kind !== 'attended') {
    throw new UsageError(kind === undefined ? 'transfer needs a kind: blind or attended' : `unknown transfer kind ${JSON.stringify(kind)}: blind or attended`, hint)
  }
  if (extra !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(extra)}`, hint)
  const from = checkExtension('--from', values.from)
  const to = checkExtension('--to', values.to)
  if (from === to) throw new UsageError(`--from and --to are both ${from}: a call cannot be transferred to its own extension`, hint)
  if (values.complete === true && values.cancel === true) throw new UsageError('--complete and --cancel exclude each other', hint)
  const after: AfterConsultation = values.complete === true ? 'complete' : values.cancel === true ? 'cancel' : 'leave'
  const steps: ConsultationStep[] = [...(values.swap ?? []).map((): ConsultationStep => 'swap'), ...(values['three-way'] === true ? ['three_way' as const] : [])]
  if (kind === 'blind') {
    const attendedOnly = after !== 'leave' ? `--${after}` : steps.length > 0 ? (steps[0] === 'swap' ? '--swap' : '--three-way') : undefined
    if (attendedOnly !== undefined) throw new UsageError(`${attendedOnly} is for attended transfers: a blind transfer is over once the target answers`, hint)
  }
  return withCommon({ name: 'transfer' as const, kind, from, to, after, steps, timeoutMs: checkTimeout(values.timeout) }, values, `${PROGRAM} transfer`)
}

/** The command `args` (process.argv without node and the script) asks for. */
export function parseCommandLine (args: readonly string[]): Command {
  const [first, ...rest] = args
  switch (first) {
    case undefined:
    case '-h':
    case '--help':
      return { name: 'help', text: MAIN_HELP }
    case 'help':
      return parseCommandLine(rest.length === 0 ? ['--help'] : [rest[0] as string, '--help'])
    case '-v':
    case '--version':
      return { name: 'version' }
    case 'check':
      return parseCheck(rest)
    case 'transfer':
      return parseTransfer(rest)
    default:
      throw new UsageError(`unknown command ${JSON.stringify(first)}`, `the commands are check and transfer; see ${PROGRAM} --help`)
  }
}
