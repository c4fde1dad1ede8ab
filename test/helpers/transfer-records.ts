// A transfer record for unit tests: agent 101's call with the customer, attended to 103 and consulting,
// unless told otherwise.
import type { Transfer } from '../../src/domain/transfer.js'
import { AGENT, CUSTOMER } from './fake-pbx.js'

export function transferRecord (fields: Partial<Transfer> = {}, channels: Partial<Transfer['channels']> = {}): Transfer {
  return {
    id: 't1',
    type: 'attended',
    status: 'consulting',
    origin: 'plugin',
    extension: '101',
    targetExtension: '103',
    requestedBy: '101',
    createdAt: '',
    updatedAt: '',
    ...fields,
    channels: { agent: AGENT, peer: CUSTOMER, ...fields.channels, ...channels }
  }
}
