// The plugin's services wired as src/plugin.ts wires them (call monitor, agent states, transfers, and
// everything they publish going through one event log), on any Pbx: the real AsteriskPbx over a stand-in
// AMI, or a FakePbx. No HTTP and no sockets: what the benchmarks measure is the work per Asterisk event.
import { AgentStatusService } from '../../src/agents/agent-status.js'
import type { Pbx } from '../../src/asterisk/pbx.js'
import { CallMonitor } from '../../src/calls/call-monitor.js'
import { withTransfer } from '../../src/calls/call-view.js'
import { EventLog } from '../../src/domain/event-log.js'
import { TransferService } from '../../src/transfers/transfer-service.js'
import { EVENT_FOR_STATE } from '../../src/transfers/transfer-events.js'
import { transferAudience } from '../../src/transfers/transfer-visibility.js'

export interface Services {
  monitor: CallMonitor
  agentStatus: AgentStatusService
  transfers: TransferService
  eventLog: EventLog
  stop: () => Promise<void>
}

export async function startServices (pbx: Pbx, agents: readonly string[]): Promise<Services> {
  const monitor = new CallMonitor(pbx)
  const directory = { list: async () => agents.map((extension) => ({ extension })) }
  const agentStatus = new AgentStatusService(pbx, monitor, directory)
  const transfers = new TransferService(pbx, { transferContext: 'from-internal', channelTechnology: 'PJSIP', consultationTimeoutMs: 30_000, calls: monitor })
  const eventLog = new EventLog()
  for (const type of new Set(Object.values(EVENT_FOR_STATE))) {
    transfers.events.on(type, (transfer) => { eventLog.append(type, transfer, { extensions: transferAudience(transfer) }) })
  }
  monitor.on('call:status', (status) => {
    const data = status.call === undefined ? status : { ...status, call: withTransfer(status.call, (channel) => transfers.activeHereOnChannel(channel)) }
    eventLog.append('call:status', data, { extensions: [status.extension] })
  })
  agentStatus.on('agent:status', (status) => { eventLog.append('agent:status', status, 'everyone') })
  transfers.start()
  await monitor.start()
  await agentStatus.start()
  const stop = async (): Promise<void> => {
    agentStatus.stop()
    monitor.stop()
    await transfers.stop()
  }
  return { monitor, agentStatus, transfers, eventLog, stop }
}

export interface PoolServices {
  monitors: CallMonitor[]
  agentStatuses: AgentStatusService[]
  transfers: TransferService
  eventLog: EventLog
  stop: () => Promise<void>
}

/**
 * The same for a pool of servers, as src/asterisk-pool.ts wires them: per server its call monitor and
 * agent states, once the transfer service (one engine per server) and the event log. Every server's
 * calls and agent states are published to the one event log, as the plugin does.
 */
export async function startPoolServices (servers: ReadonlyArray<{ name: string, pbx: Pbx, agents: readonly string[] }>): Promise<PoolServices> {
  const eventLog = new EventLog()
  const monitors = servers.map(({ pbx }) => new CallMonitor(pbx))
  const transfers = new TransferService(servers.map(({ name, pbx }, index) => ({ name, pbx, calls: monitors[index] as CallMonitor })), { transferContext: 'from-internal', channelTechnology: 'PJSIP', consultationTimeoutMs: 30_000 })
  const agentStatuses = servers.map(({ pbx, agents }, index) => {
    const directory = { list: async () => agents.map((extension) => ({ extension })) }
    return new AgentStatusService(pbx, monitors[index] as CallMonitor, directory)
  })
  for (const type of new Set(Object.values(EVENT_FOR_STATE))) {
    transfers.events.on(type, (transfer) => { eventLog.append(type, transfer, { extensions: transferAudience(transfer) }) })
  }
  servers.forEach(({ name }, index) => {
    const monitor = monitors[index] as CallMonitor
    monitor.on('call:status', (status) => {
      const data = status.call === undefined ? status : { ...status, call: withTransfer({ ...status.call, server: name }, (channel) => transfers.activeHereOnChannel(channel, name)) }
      eventLog.append('call:status', data, { extensions: [status.extension] })
    })
    agentStatuses[index]?.on('agent:status', (status) => { eventLog.append('agent:status', { ...status, server: name }, 'everyone') })
  })
  transfers.start()
  for (const monitor of monitors) await monitor.start()
  for (const agentStatus of agentStatuses) await agentStatus.start()
  const stop = async (): Promise<void> => {
    for (const agentStatus of agentStatuses) agentStatus.stop()
    for (const monitor of monitors) monitor.stop()
    await transfers.stop()
  }
  return { monitors, agentStatuses, transfers, eventLog, stop }
}
