/**
 * The recording follows the customer. A call recorded with MixMonitor on the agent's leg (started by
 * the dialplan or the queue on the agent's side) loses its recording when that leg leaves: at a blind
 * transfer's Redirect, at an attended transfer's completion. When the agent's channel is recorded and
 * the customer's is not, the plugin starts MixMonitor on the customer's channel (right before the
 * Redirect, or as the agent's phone's blind transfer is seen; at completion), into a file named after the agent's (`customerRecordingFile`), and the
 * transfer record lists the call's files as Asterisk names them. A recording on the customer's own
 * channel is left alone: it survives both moves by itself.
 *
 * Nothing here may fail a transfer: a recording that cannot be read or started is logged.
 */
import type { PbxEvent } from '../asterisk/ami-events.js'
import type { Pbx } from '../asterisk/pbx.js'
import type { Transfer } from '../domain/transfer.js'
import { isFinal } from '../domain/transfer.js'
import type { Logger } from '../support/logger.js'
import type { ActiveTransfer } from './active-transfer.js'
import { RecordingWatch } from './recording-watch.js'
import type { TransferLedger } from './transfer-ledger.js'

/** The channel variable in which MixMonitor leaves the path of the last recording it started on a channel. */
export const RECORDING_FILE_VARIABLE = 'MIXMONITOR_FILENAME'

/** What the customer's own file adds to the agent's name, before its extension. */
export const CUSTOMER_RECORDING_SUFFIX = '-transferred'

/** The customer's file, named after the agent's: `/…/call-42.wav` -> `/…/call-42-transferred.wav`. */
export function customerRecordingFile (agentFile: string): string {
  return agentFile.replace(/(\.[^./]*)?$/, (extension) => `${CUSTOMER_RECORDING_SUFFIX}${extension}`)
}

/** The record listing `files` too (each once, in the order they were learned). */
export function withRecordings (record: Transfer, files: readonly string[]): Transfer {
  const known = record.recordings ?? []
  const added = files.filter((file) => file !== '' && !known.includes(file))
  return added.length === 0 ? record : { ...record, recordings: [...known, ...added] }
}

export class RecordingFollower {
  readonly watch = new RecordingWatch()
  readonly #pbx: Pbx
  readonly #ledger: TransferLedger
  readonly #log: Logger
  /** Attended transfers whose agent's recording was read at the start: transfer id -> the agent's file. */
  readonly #agentFiles = new Map<string, string>()
  /** Transfers already looked at (once each). */
  readonly #noted = new Set<string>()
  /** Attended transfers whose customer's recording was started before the completion was asked. */
  readonly #startedEarly = new Set<string>()

  constructor (pbx: Pbx, ledger: TransferLedger, logger: Logger) {
    this.#pbx = pbx
    this.#ledger = ledger
    this.#log = logger
  }

  /**
   * Follows the recordings. The file of each recording that starts is read at once (one Getvar per
   * recorded call, not per event), so a transfer finds it without a round trip, and a transfer the
   * agent's phone made, whose leg is gone a moment later, finds it too.
   */
  observe (event: PbxEvent): void {
    this.watch.observe(event)
    if (event.type !== 'mixMonitorStart' || event.uniqueId === '') return
    this.#fileOf(event.channel).then((file) => { this.watch.setFile(event.uniqueId, file) }, (error: unknown) => {
      this.#log.debug({ err: error, channel: event.channel }, 'a recording\'s file could not be read at its start')
    })
  }

  /**
   * Blind, right before the Redirect: the customer's recording is started now, so the two files
   * together cover the call. Costs nothing for a call that is not recorded.
   */
  async beforeRedirect (transfer: ActiveTransfer): Promise<void> {
    const { agent, peer } = transfer.record.uniqueIds ?? {}
    const agentRecorded = this.watch.isRecorded(agent)
    const peerRecorded = this.watch.isRecorded(peer)
    if (!agentRecorded && !peerRecorded) return
    try {
      const [agentFile, peerFile] = await Promise.all([
        agentRecorded ? this.#recordingOf(agent, transfer.record.channels.agent) : '',
        peerRecorded ? this.#recordingOf(peer, transfer.record.channels.peer) : ''
      ])
      const files = [agentFile, peerFile]
      if (!peerRecorded && agentFile !== '') files.push(await this.#recordCustomer(transfer.record, agentFile))
      this.#ledger.amend(transfer, withRecordings(transfer.record, files))
    } catch (error) {
      this.#log.warn({ err: error, transferId: transfer.record.id }, 'the recording could not be made to follow the customer')
    }
  }

  /**
   * Attended, completed through the plugin: the customer's recording starts right before the agent
   * leaves, while the customer waits in its own bridge, so nothing of their talk with the target is
   * missed (started once the completion is seen, the first moments would be). Should the completion
   * fail, the customer stays recorded with the agent: the record lists the file.
   */
  async beforeCompletion (record: Transfer): Promise<void> {
    const agentFile = this.#agentFiles.get(record.id)
    if (agentFile === undefined || this.watch.isRecorded(record.uniqueIds?.peer) || this.#startedEarly.has(record.id)) return
    this.#startedEarly.add(record.id)
    try {
      await this.#recordCustomer(record, agentFile)
    } catch (error) {
      this.#startedEarly.delete(record.id)
      this.#log.warn({ err: error, transferId: record.id }, 'the customer\'s recording could not be started before the completion')
    }
  }

  /**
   * A transfer is about to enter `record`'s state; returns the record to store. Attended: at its start
   * the files are noted while the agent's channel is there (read in the background when not known yet:
   * the consultation is not delayed); at completion the customer's recording starts, and the record
   * stored lists it. Blind made on the agent's phone (the plugin's own are handled before their
   * Redirect): the customer's recording starts as soon as the transfer is seen.
   */
  entering (transfer: ActiveTransfer, record: Transfer): Transfer {
    const { id } = record
    if (isFinal(record.status)) return this.#ending(record)
    if (this.#noted.has(id)) return record
    this.#noted.add(id)
    if (record.type === 'blind') return record.origin === 'phone' ? this.#followPhoneBlind(record) : record
    const { agent, peer } = record.uniqueIds ?? {}
    const agentFile = this.watch.fileOf(agent)
    const peerFile = this.watch.fileOf(peer)
    const peerRecorded = this.watch.isRecorded(peer)
    if (agentFile !== undefined && !peerRecorded) this.#agentFiles.set(id, agentFile)
    const unknown = (this.watch.isRecorded(agent) && agentFile === undefined) || (peerRecorded && peerFile === undefined)
    if (unknown) {
      this.#noteFiles(transfer, record).catch((error: unknown) => {
        this.#log.warn({ err: error, transferId: id }, 'the call\'s recordings could not be read')
      })
    }
    return withRecordings(record, [agentFile ?? '', peerFile ?? ''])
  }

  /** A final state: an attended transfer's customer recorded from its completion on; what was kept is dropped. */
  #ending (record: Transfer): Transfer {
    const { id } = record
    const agentFile = this.#agentFiles.get(id)
    const early = this.#startedEarly.delete(id)
    this.#agentFiles.delete(id)
    this.#noted.delete(id)
    if (agentFile === undefined || record.type !== 'attended') return record
    const customerFile = customerRecordingFile(agentFile)
    if (early) return withRecordings(record, [agentFile, customerFile])
    // A completion the plugin did not ask for (the agent's phone hung up): as soon as it is seen.
    if (record.status !== 'completed' || this.watch.isRecorded(record.uniqueIds?.peer)) return record
    this.#startCustomer(record, agentFile)
    return withRecordings(record, [agentFile, customerFile])
  }

  /** The agent's phone sent the customer on: its leg leaves now, with its recording. */
  #followPhoneBlind (record: Transfer): Transfer {
    const { agent, peer } = record.uniqueIds ?? {}
    const agentFile = this.watch.fileOf(agent) ?? this.watch.endedFileOf(record.channels.agent)
    if (this.watch.isRecorded(peer)) return withRecordings(record, [agentFile ?? '', this.watch.fileOf(peer) ?? ''])
    if (agentFile === undefined) return record
    this.#startCustomer(record, agentFile)
    return withRecordings(record, [agentFile, customerRecordingFile(agentFile)])
  }

  /** Starts the customer's recording in the background (the record already lists its file). */
  #startCustomer (record: Transfer, agentFile: string): void {
    this.#recordCustomer(record, agentFile).catch((error: unknown) => {
      this.#log.warn({ err: error, transferId: record.id, file: customerRecordingFile(agentFile) }, 'the customer\'s recording could not be started')
    })
  }

  async #noteFiles (transfer: ActiveTransfer, record: Transfer): Promise<void> {
    const { agent, peer } = record.uniqueIds ?? {}
    const peerRecorded = this.watch.isRecorded(peer)
    const [agentFile, peerFile] = await Promise.all([
      this.watch.isRecorded(agent) ? this.#recordingOf(agent, record.channels.agent) : '',
      peerRecorded ? this.#recordingOf(peer, record.channels.peer) : ''
    ])
    if (agentFile !== '' && !peerRecorded && this.#noted.has(record.id)) this.#agentFiles.set(record.id, agentFile)
    if (!transfer.disposed) this.#ledger.amend(transfer, withRecordings(transfer.record, [agentFile, peerFile]))
  }

  /** A recorded channel's file: known since its start, else read now. */
  async #recordingOf (uniqueId: string | undefined, channel: string): Promise<string> {
    return this.watch.fileOf(uniqueId) ?? await this.#fileOf(channel)
  }

  async #fileOf (channel: string): Promise<string> {
    return await this.#pbx.getVariable(channel, RECORDING_FILE_VARIABLE)
  }

  /** Starts the customer's recording, named after the agent's; its file, as Asterisk will name it. */
  async #recordCustomer (record: Transfer, agentFile: string): Promise<string> {
    const file = customerRecordingFile(agentFile)
    await this.#pbx.startRecording(record.channels.peer, file)
    this.watch.started(record.uniqueIds?.peer ?? '', file)
    return file
  }
}
