/**
 * One log line as the API sends it (one NDJSON object per line) and as `launcho logs --json`
 * prints it, built from the journal fields of one entry. Which instance a line belongs to comes
 * from `_SYSTEMD_UNIT`, which journald sets from the sender's cgroup: fields without a leading
 * underscore (`LAUNCHO_PROCESS`, `UNIT`, …) are whatever the sender wrote, and any local user can
 * send lines to the journal.
 */
import {parseUnitName, type InstanceId} from '../systemd/unit-name.js'
import type {LogEntry} from '../protocol/logs.js'
import type {ExportEntry} from './export-parser.js'

export type {LogEntry} from '../protocol/logs.js'

/** The journal fields read for log lines; everything else stays inside journalctl. */
export const LOG_FIELDS: readonly string[] = [
  '__REALTIME_TIMESTAMP',
  '_PID',
  'PRIORITY',
  '_SYSTEMD_UNIT',
  'MESSAGE',
]

/** The instance that wrote an entry, from its trusted unit; undefined when no launcho instance did. */
export function instanceOf(fields: ExportEntry): (InstanceId & {unit: string}) | undefined {
  const unit = fields._SYSTEMD_UNIT
  const id = unit === undefined ? undefined : parseUnitName(unit)
  return id && {...id, unit: unit!}
}

export function logEntryOf(fields: ExportEntry, instance: InstanceId & {unit: string}): LogEntry {
  return {
    time: isoMicros(fields.__REALTIME_TIMESTAMP ?? '0'),
    process: instance.process,
    version: instance.version,
    unit: instance.unit,
    pid: numberOrNull(fields._PID),
    message: fields.MESSAGE ?? '',
    priority: numberOrNull(fields.PRIORITY),
  }
}

// Consecutive lines mostly share their second; formatting a Date per line was a hot spot.
let cachedSecond = -1
let cachedPrefix = ''

/** "1795310047559232" (µs since the epoch) → "2026-11-22T10:00:47.559232Z". */
export function isoMicros(realtimeUs: string): string {
  const us = Number(realtimeUs)
  if (!Number.isSafeInteger(us) || us < 0) return '1970-01-01T00:00:00.000000Z'
  const second = Math.floor(us / 1_000_000)
  if (second !== cachedSecond) {
    cachedSecond = second
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, 20)
  }
  return `${cachedPrefix}${String(us % 1_000_000).padStart(6, '0')}Z`
}

function numberOrNull(text: string | undefined): number | null {
  if (text === undefined || text === '') return null
  const value = Number(text)
  return Number.isInteger(value) ? value : null
}
