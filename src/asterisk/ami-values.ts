/**
 * AMI is a line protocol and values are written as they are: a CR or LF inside a value
 * starts a new header (or a whole new action) and Asterisk accepts a bare LF as a line end. `Channel`
 * fields also accept `/regex/`, which would turn "hang up this call" into "hang up every call". So every
 * field is checked here, before anything is written to the socket.
 */
import { UnsafeAmiValueError } from '../errors.js'

export type AmiFieldValue = string | number | boolean | Readonly<Record<string, string>>
export type AmiFields = Readonly<Record<string, AmiFieldValue | undefined>>

const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/
const LINE_BREAKING = /[\r\n\0]/
/** Fields that name channels; Asterisk treats a value wrapped in slashes as a pattern there. */
const CHANNEL_FIELDS = new Set(['channel', 'extrachannel', 'channel1', 'channel2', 'transfererchannel'])

function checkText (field: string, text: string): void {
  if (LINE_BREAKING.test(text)) throw new UnsafeAmiValueError(field)
}

export function assertSafeAmiFields (fields: AmiFields): void {
  for (const [name, value] of Object.entries(fields)) {
    if (!FIELD_NAME.test(name)) throw new UnsafeAmiValueError(JSON.stringify(name))
    if (value === undefined) continue
    if (typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) {
        checkText(name, key)
        checkText(name, String(inner))
        if (key.includes('=')) throw new UnsafeAmiValueError(name)
      }
      continue
    }
    const text = String(value)
    checkText(name, text)
    if (CHANNEL_FIELDS.has(name.toLowerCase()) && text.startsWith('/')) {
      throw new UnsafeAmiValueError(name)
    }
  }
}
