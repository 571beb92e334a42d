/**
 * `launcho logs` on the server: decides which instances' lines a request means (the process's
 * current version, or every version) and turns journalctl's output into NDJSON log lines.
 */
import {LaunchoError} from '../errors.js'
import type {DesiredState} from '../reconcile/desired.js'
import {ExportParser} from './export-parser.js'
import type {Journal} from './journal.js'
import {LOG_FIELDS, logEntryOf} from './log-entry.js'
import type {LogsRequest} from './logs-request.js'
import {resolveSince} from './since.js'

const KEEP = new Set(LOG_FIELDS)

/** What to ask journalctl for, and which of its entries to drop. */
export interface LogPlan {
  matches: string[]
  lines: number
  follow: boolean
  /** Entries before this (µs since the epoch) are dropped. */
  sinceUs?: number
}

export class LogService {
  constructor(
    private readonly journal: Journal,
    private readonly desired: () => DesiredState | undefined,
  ) {}

  /**
   * The process's lines, narrowed to the version in the desired state unless all versions are
   * asked for or the process has left the target. A name that is not in the target and has no
   * lines at all is not_found; a --since that is not a time is invalid_request.
   */
  async plan(request: LogsRequest): Promise<LogPlan> {
    const sinceUs = request.since === undefined ? undefined : await resolveSince(request.since)
    const base = {lines: request.lines, follow: request.follow, ...(sinceUs !== undefined ? {sinceUs} : {})}
    const byProcess = `LAUNCHO_PROCESS=${request.process}`
    const current = this.desired()?.get(request.process)
    if (current) return {...base, matches: request.allVersions ? [byProcess] : [byProcess, `LAUNCHO_VERSION=${current.version}`]}
    if (!(await this.journal.hasEntries([byProcess]))) {
      throw new LaunchoError('not_found', `no process "${request.process}" in the target and no log lines of one in the journal`, {
        hint: '"launcho status" lists the processes; logs are found by the process name used in the target',
      })
    }
    return {...base, matches: [byProcess]}
  }

  /**
   * NDJSON chunks (one LogEntry per line), at most one per chunk journalctl wrote.
   * --since is applied here, not by journalctl: its --since with --lines gives the *first* N
   * lines after the time, while "the last N lines since TIME" is the last N lines minus those
   * before TIME.
   */
  async *lines(plan: LogPlan, signal: AbortSignal): AsyncGenerator<Buffer> {
    const parser = new ExportParser(KEEP)
    const output = this.journal.exportStream({matches: plan.matches, fields: LOG_FIELDS, lines: plan.lines, follow: plan.follow}, signal)
    for await (const chunk of output) {
      let text = ''
      for (const fields of parser.push(chunk)) {
        if (plan.sinceUs !== undefined && Number(fields.__REALTIME_TIMESTAMP) < plan.sinceUs) continue
        text += `${JSON.stringify(logEntryOf(fields))}\n`
      }
      if (text !== '') yield Buffer.from(text)
    }
  }
}
