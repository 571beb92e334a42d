/**
 * `launcho logs` on the server: decides which instances' lines a request means (the process's
 * current version, or every version) and turns journalctl's output into NDJSON log lines. Lines
 * are selected by journald's `_SYSTEMD_UNIT`, never by `LAUNCHO_PROCESS`/`LAUNCHO_VERSION`: any
 * local user can write a journal entry with those fields (`logger --journald`), but not one from
 * a launcho unit's cgroup.
 */
import {LaunchoError} from '../errors.js'
import type {DesiredState} from '../reconcile/desired.js'
import {SLICE} from '../systemd/unit-name.js'
import {ExportParser} from './export-parser.js'
import type {Journal} from './journal.js'
import {instanceOf, LOG_FIELDS, logEntryOf} from './log-entry.js'
import type {LogsRequest} from './logs-request.js'
import {resolveSince} from './since.js'

const KEEP = new Set(LOG_FIELDS)

/** What to ask journalctl for, and which of its entries to drop. */
export interface LogPlan {
  matches: string[]
  /** Only lines written by an instance of this process (and of this version, when set) are kept. */
  process: string
  version?: string
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
    const base = {process: request.process, lines: request.lines, follow: request.follow, ...(sinceUs !== undefined ? {sinceUs} : {})}
    const current = this.desired()?.get(request.process)
    if (current && !request.allVersions) return {...base, version: current.version, matches: [`_SYSTEMD_UNIT=${current.unit}`]}
    const units = new Set(await this.journal.unitsOf(request.process))
    if (current) units.add(current.unit)
    if (units.size === 0) {
      throw new LaunchoError('not_found', `no process "${request.process}" in the target and no log lines of one in the journal`, {
        hint: '"launcho status" lists the processes; logs are found by the process name used in the target',
      })
    }
    // A follow also shows versions started after it began, whose units are not known yet: it asks
    // for every launcho instance's lines that name the process, and lines() keeps only its units'.
    if (request.follow) return {...base, matches: [`_SYSTEMD_SLICE=${SLICE}`, `LAUNCHO_PROCESS=${request.process}`]}
    return {...base, matches: [...units].map((unit) => `_SYSTEMD_UNIT=${unit}`)}
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
        const instance = instanceOf(fields)
        if (!instance || instance.process !== plan.process || (plan.version !== undefined && instance.version !== plan.version)) continue
        text += `${JSON.stringify(logEntryOf(fields, instance))}\n`
      }
      if (text !== '') yield Buffer.from(text)
    }
  }
}
