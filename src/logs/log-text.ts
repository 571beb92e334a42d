/**
 * The human form of a log line: local time with milliseconds, the instance as
 * process@version[pid], then the message with control characters made visible, so a process's
 * output cannot move the cursor or recolour the operator's terminal.
 */
import type {LogEntry} from './log-entry.js'

export function formatLogLine(entry: LogEntry): string {
  const pid = entry.pid === null ? '' : `[${entry.pid}]`
  return `${localTimeMs(entry.time)} ${entry.process}@${entry.version}${pid}: ${visible(entry.message)}`
}

// Local-time Date getters are slow and consecutive lines mostly share their second.
let cachedSecond = ''
let cachedLocal = ''

/** "2026-11-22T09:00:01.123456Z" → "2026-11-22 10:00:01.123" in the machine's time zone. */
export function localTimeMs(iso: string): string {
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3,}Z$/.test(iso)) return iso
  const second = iso.slice(0, 19)
  if (second !== cachedSecond) {
    const d = new Date(`${second}Z`)
    cachedSecond = second
    cachedLocal = `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`
  }
  return `${cachedLocal}.${iso.slice(20, 23)}`
}

// C0 controls except tab, DEL, and C1 controls (which some terminals also obey).
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g

const HAS_CONTROL = new RegExp(CONTROL.source)

export function visible(message: string): string {
  if (!HAS_CONTROL.test(message)) return message
  return message.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n)
}
