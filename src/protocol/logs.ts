/** `GET /v1/logs[/:process]`: log lines as NDJSON, one LogEntry per line. */
import {z} from 'zod'

export const logEntrySchema = z.object({
  /** ISO 8601, UTC, with the journal's microseconds. */
  time: z.string(),
  process: z.string(),
  /** The instance's version (8 hex digits). */
  version: z.string(),
  unit: z.string(),
  /** PID in the namespace of the systemd that ran it; null when the journal has none. */
  pid: z.number().int().nullable(),
  message: z.string(),
  /** syslog priority, 0 (emerg) … 7 (debug); stdout lines are 6 (info). */
  priority: z.number().int().nullable(),
})
export type LogEntry = z.infer<typeof logEntrySchema>

export interface LogsQuery {
  /** The last N lines (with follow: before the new ones). */
  lines?: number
  /** Anything `journalctl --since` accepts: "10 min ago", "2026-11-22 10:00", "yesterday", "-1h". */
  since?: string
  /** Keep sending new lines, of every version of the process (or of every process). */
  follow?: boolean
  /** Without follow: the lines of replaced versions too (with follow they always are). */
  allVersions?: boolean
}
