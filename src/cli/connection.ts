/**
 * The tool's connection to Asterisk: the plugin's own AMI and ARI adapters and PBX, opened once for one
 * command and closed after it. Unlike the plugin, the tool does not wait for an Asterisk that is down:
 * each side reports its first connection attempt, and the tool says what went wrong.
 */
import { AmiClient } from '../asterisk/ami-client.js'
import { AriClient } from '../asterisk/ari-client.js'
import { AsteriskPbx } from '../asterisk/pbx.js'
import type { ConnectionSettings } from './environment.js'
import { settingNames, type SettingNames } from './setting-names.js'

/** The single server's variables: what the hints name when the caller says nothing of a pool. */
const SINGLE_SERVER = settingNames({ name: 'default' })

/** What went wrong, on one line, and what to do about it. */
export interface Problem {
  message: string
  hint: string
}

export interface AsteriskConnection {
  ami: AmiClient
  ari: AriClient
  pbx: AsteriskPbx
  /** The first AMI login: resolved, or rejected with AmiLoginError / AsteriskUnavailableError / AsteriskTimeoutError. */
  amiReady: Promise<void>
  /** The first ARI connection (it checks the credentials too). */
  ariReady: Promise<void>
  close (): Promise<void>
}

/** A failed attempt is reported, not retried: a command-line user wants the answer now. */
const NO_RETRY = { initialDelayMs: 60_000, maxDelayMs: 60_000 }

/** swagger-client prints a deprecation notice with console.log on every connect: not the tool's output. */
async function withoutConsoleLog<T> (work: () => Promise<T>): Promise<T> {
  const log = console.log
  console.log = () => {}
  try {
    return await work()
  } finally {
    console.log = log
  }
}

export function openConnection (settings: ConnectionSettings, actionTimeoutMs: number): AsteriskConnection {
  const ami = new AmiClient({ ...settings.ami, actionTimeoutMs, reconnect: NO_RETRY, pingIntervalMs: 0 })
  const ari = new AriClient({ ...settings.ari, requestTimeoutMs: actionTimeoutMs, reconnect: NO_RETRY })
  const pbx = new AsteriskPbx(ami, ari)
  const amiReady = ami.start()
  const ariReady = withoutConsoleLog(async () => { await ari.start() })
  // Each is awaited by the command that needs it; one nobody awaits must not become an unhandled rejection.
  amiReady.catch(() => {})
  ariReady.catch(() => {})
  return {
    ami,
    ari,
    pbx,
    amiReady,
    ariReady,
    async close () {
      ari.close()
      await ami.close()
    }
  }
}

function codeOf (error: unknown): string | undefined {
  return (error as { code?: string }).code
}

/** The library's own words for the failure: the part in parentheses, or after "ARI at <url>: ". */
function reasonOf (error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return /\(([^()]+)\)$/.exec(message)?.[1] ?? /ARI at \S+: (.*)$/.exec(message)?.[1] ?? message
}

/**
 * Refused credentials and an unreachable Asterisk need different fixes: they are told apart here.
 * `names`: where the server's settings were read (`setting-names.ts`): AMI_* by default, the server's
 * entry of ASTERISK_SERVERS in a pool.
 */
export function describeAmiFailure (error: unknown, ami: ConnectionSettings['ami'], names: SettingNames = SINGLE_SERVER): Problem {
  const where = `${ami.host}:${ami.port}`
  const { of, server } = names
  switch (codeOf(error)) {
    case 'XFER_AMI_LOGIN_FAILED':
      return {
        message: `AMI login refused for user "${ami.username}" at ${where}: ${(error as Error).message.replace(/^AMI login failed: /, '')}`,
        hint: `check ${of('ami.username')} and ${of('ami.password')}${server} against manager.conf [${ami.username}] (its secret, and permit/deny for this host)`
      }
    case 'XFER_ASTERISK_TIMEOUT':
      return {
        message: `AMI at ${where} did not answer the login in time`,
        hint: `check that ${of('ami.host')}/${of('ami.port')}${server} point at Asterisk's manager port (manager.conf [general] port) and that no firewall drops the packets`
      }
    default:
      return {
        message: `cannot reach AMI at ${where} (${reasonOf(error)})`,
        hint: `is Asterisk running, with manager.conf [general] enabled = yes and a port/bindaddr matching ${of('ami.host')} and ${of('ami.port')}${server}?`
      }
  }
}

export function describeAriFailure (error: unknown, ari: ConnectionSettings['ari'], names: SettingNames = SINGLE_SERVER): Problem {
  const reason = reasonOf(error)
  const { of, server } = names
  if (/^401\b/.test(reason)) {
    return {
      message: `ARI refused the credentials of user "${ari.username}" at ${ari.url}`,
      hint: `check ${of('ari.username')} and ${of('ari.password')}${server} against ari.conf [${ari.username}] (type = user, password)`
    }
  }
  if (codeOf(error) === 'XFER_ASTERISK_TIMEOUT') {
    return {
      message: `ARI at ${ari.url} did not answer in time`,
      hint: `check that ${of('ari.url')}${server} points at Asterisk's HTTP server (http.conf bindaddr/bindport)`
    }
  }
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|ECONNRESET|EAI_AGAIN/.test(reason)) {
    return {
      message: `cannot reach ARI at ${ari.url} (${reason})`,
      hint: `is Asterisk running, with http.conf enabled = yes and a bindaddr/bindport matching ${of('ari.url')}${server}?`
    }
  }
  // ari-client loses the network error of some failures (EHOSTUNREACH...) and only says it could not
  // read the API description: the hint covers both a wrong address and ARI being off.
  return {
    message: `ARI at ${ari.url} failed: ${reason}`,
    hint: `check that ${of('ari.url')}${server} is reachable and is the base URL without a path (http://host:8088), with http.conf enabled = yes and ari.conf [general] enabled = yes`
  }
}
