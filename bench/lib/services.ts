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
