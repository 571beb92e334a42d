/**
 * `launcho logs` on the server: decides which instances' lines a request means and turns
 * journalctl's output into NDJSON log lines. Without follow, a process's lines are those of its
 * current version (or of every version, when asked); a follow shows every version of it, so it
 * goes on across a rollout; no process means every process. Lines are selected by journald's
 * `_SYSTEMD_UNIT`, never by `LAUNCHO_PROCESS`/`LAUNCHO_VERSION`: any local user can write a
 * journal entry with those fields (`logger --journald`), but not one from a launcho unit's cgroup.
 */
import {LaunchoError} from '../errors.js'
import {SLICE} from '../systemd/unit-name.js'
import {ExportParser} from './export-parser.js'
import type {Journal} from './journal.js'
import {instanceOf, LOG_FIELDS, logEntryOf} from './log-entry.js'
import type {LogsRequest} from './logs-request.js'
import {resolveSince} from './since.js'

const KEEP = new Set(LOG_FIELDS)

/** The version a process should run now and its unit, while it is in the target. */
/** The desired version of a process and its units (one per replica; `unit` is replica 0's). */
export type CurrentVersion = (process: string) => {version: string; unit: string; units?: string[]} | undefined

/** What to ask journalctl for, and which of its entries to drop. */
export interface LogPlan {
  matches: string[]
  /** Only lines written by an instance of this process (every process when undefined; of this version, when set) are kept. */
  process?: string
  version?: string
  lines: number
  follow: boolean
  /** Entries before this (µs since the epoch) are dropped. */
  sinceUs?: number
}

export class LogService {
  constructor(
    private readonly journal: Journal,
    private readonly current: CurrentVersion,
  ) {}

  /**
   * The lines a request means. A name that is not in the target and has no lines at all is
   * not_found; a --since that is not a time is invalid_request.
   */
  async plan(request: LogsRequest): Promise<LogPlan> {
    const sinceUs = request.since === undefined ? undefined : await resolveSince(request.since)
    const base = {lines: request.lines, follow: request.follow, ...(sinceUs !== undefined ? {sinceUs} : {})}
    // Every launcho instance's lines; lines() keeps only those a launcho unit wrote.
    if (request.process === undefined) return {...base, matches: [`_SYSTEMD_SLICE=${SLICE}`]}
    const process = request.process
    const current = this.current(process)
    const currentUnits = current ? (current.units ?? [current.unit]) : []
    if (current && !request.allVersions && !request.follow) return {...base, process, version: current.version, matches: currentUnits.map((unit) => `_SYSTEMD_UNIT=${unit}`)}
    const units = new Set(await this.journal.unitsOf(process))
    for (const unit of currentUnits) units.add(unit)
    if (units.size === 0) {
      throw new LaunchoError('not_found', `no process "${process}" in the target and no log lines of one in the journal`, {
        hint: '"launcho status" lists the processes; logs are found by the process name used in the target',
      })
    }
    // A follow also shows versions started after it began, whose units are not known yet: it asks
    // for every launcho instance's lines that name the process, and lines() keeps only its units'.
    if (request.follow) return {...base, process, matches: [`_SYSTEMD_SLICE=${SLICE}`, `LAUNCHO_PROCESS=${process}`]}
    return {...base, process, matches: [...units].map((unit) => `_SYSTEMD_UNIT=${unit}`)}
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
        if (!instance || (plan.process !== undefined && instance.process !== plan.process) || (plan.version !== undefined && instance.version !== plan.version)) continue
        text += `${JSON.stringify(logEntryOf(fields, instance))}\n`
      }
      if (text !== '') yield Buffer.from(text)
    }
  }
}
