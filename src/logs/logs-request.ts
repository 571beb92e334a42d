/**
 * What a `GET /v1/logs[/:process]` request asks for, validated: the process name (none: every
 * process), how many lines,
 * since when, whether to follow and whether replaced versions count. Values reach journalctl as
 * single `--opt=value` arguments, never as separate words, so none can become an option.
 */
import {LaunchoError, type Problem} from '../errors.js'

export const DEFAULT_LINES = 100
export const MAX_LINES = 1_000_000
const MAX_SINCE_LENGTH = 64

export interface LogsRequest {
  /** Undefined: every process. */
  process?: string
  /** The last N lines (with follow: before the new ones). */
  lines: number
  /** Anything `journalctl --since` accepts: "10 min ago", "2026-11-22 10:00", "yesterday", "-1h". */
  since?: string
  follow: boolean
  allVersions: boolean
}

export const SINCE_EXAMPLES = `"10 min ago", "2026-11-22 10:00", "yesterday", "-1h"`

export function parseLogsRequest(process: string | undefined, query: Record<string, unknown>): LogsRequest {
  const problems: Problem[] = []
  if (process !== undefined && !/^[a-z0-9-]{1,63}$/.test(process)) {
    problems.push({field: 'process', message: `"${process.slice(0, 80)}" is not a process name: use lowercase letters, digits and dashes (at most 63)`})
  }
  const lines = integerParam(query.lines, DEFAULT_LINES)
  if (lines === undefined || lines < 0 || lines > MAX_LINES) {
    problems.push({field: 'lines', message: `must be a whole number from 0 to ${MAX_LINES}`})
  }
  const since = query.since === undefined || query.since === '' ? undefined : String(query.since)
  if (since !== undefined && (since.length > MAX_SINCE_LENGTH || !/^[A-Za-z0-9 :.+\-@/_]+$/.test(since))) {
    problems.push({field: 'since', message: `must be a time such as ${SINCE_EXAMPLES} (letters, digits, spaces and : . + - @ / _, at most ${MAX_SINCE_LENGTH})`})
  }
  const follow = booleanParam(query.follow, 'follow', problems)
  const allVersions = booleanParam(query.allVersions, 'allVersions', problems)
  if (problems.length > 0) {
    throw new LaunchoError('invalid_request', 'invalid logs request', {problems, hint: 'see "launcho logs --help"'})
  }
  return {...(process !== undefined ? {process} : {}), lines: lines!, ...(since !== undefined ? {since} : {}), follow, allVersions}
}

function integerParam(value: unknown, fallback: number): number | undefined {
  if (value === undefined || value === '') return fallback
  const text = String(value)
  return /^\d{1,9}$/.test(text) ? Number(text) : undefined
}

function booleanParam(value: unknown, field: string, problems: Problem[]): boolean {
  if (value === undefined || value === '' || value === 'false' || value === '0') return false
  if (value === 'true' || value === '1') return true
  problems.push({field, message: 'must be true or false'})
  return false
}
