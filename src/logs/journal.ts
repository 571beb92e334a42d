/**
 * Reads the journal through journalctl, optionally of another root (a sandbox's:
 * `--journal-root`): small queries as `-o json` (failure reasons), log streams as `-o export`
 * chunks (`launcho logs`).
 */
import {execFile} from 'node:child_process'
import {promisify} from 'node:util'
import {systemTool} from '../systemd/system-tool.js'
import {parseUnitName} from '../systemd/unit-name.js'
import {journalctlOutput} from './journalctl-output.js'

const run = promisify(execFile)

export interface JournalEntry {
  /** Realtime µs since the epoch. */
  timeUs: number
  message: string
  fields: Record<string, string>
}

export interface JournalQuery {
  /** journalctl match arguments, e.g. `['-u', 'launcho-web-1a2b3c4d.service']` or `['LAUNCHO_PROCESS=web']`. */
  matches: string[]
  lines?: number
  /** Realtime µs; only entries after it. */
  sinceUs?: number
}

export interface JournalStreamQuery {
  /** journalctl matches (`FIELD=value`); fields of one name are ORed, different names ANDed. */
  matches: string[]
  /** Only these fields (journalctl adds the cursor and timestamps). */
  fields: readonly string[]
  /** The last N entries (with follow: then every new one). */
  lines: number
  follow: boolean
}

export class Journal {
  constructor(private readonly root?: string) {}

  baseArgs(): string[] {
    return ['--no-pager', '-q', '-o', 'json', ...this.rootArgs()]
  }

  private rootArgs(): string[] {
    return this.root ? [`--root=${this.root}`] : []
  }

  /** The instance units of `process` that have written to the journal (journald's own `_SYSTEMD_UNIT`). */
  async unitsOf(process: string): Promise<string[]> {
    const {stdout} = await run(systemTool('journalctl'), ['--no-pager', '-q', ...this.rootArgs(), '--field=_SYSTEMD_UNIT'], {maxBuffer: 64 * 1024 * 1024})
    return stdout
      .split('\n')
      .filter((unit) => parseUnitName(unit)?.process === process)
      .sort()
  }

  /**
   * journalctl's export output for a query, oldest first, read only as fast as the consumer
   * iterates; a follow runs until `signal` aborts or the consumer stops.
   */
  exportStream(query: JournalStreamQuery, signal: AbortSignal): AsyncGenerator<Buffer> {
    const args = ['--no-pager', '-q', '-o', 'export', `--output-fields=${query.fields.join(',')}`, `--lines=${query.lines}`, ...this.rootArgs()]
    if (query.follow) args.push('--follow')
    return journalctlOutput([...args, ...query.matches], signal)
  }

  /** The entries matching `query`, oldest first: with `lines`, the newest N of them. */
  async query(query: JournalQuery): Promise<JournalEntry[]> {
    const args = [...this.baseArgs(), ...query.matches]
    if (query.lines !== undefined) args.push('-n', String(query.lines))
    if (query.sinceUs !== undefined) args.push(`--since=@${(query.sinceUs / 1e6).toFixed(6)}`)
    // With --since, journalctl starts at that time and -n keeps the first N from there; read
    // newest first instead, so -n keeps the newest N, and put them back in order.
    const newestFirst = query.lines !== undefined && query.sinceUs !== undefined
    if (newestFirst) args.push('--reverse')
    const {stdout} = await run(systemTool('journalctl'), args, {maxBuffer: 64 * 1024 * 1024})
    const entries = stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map(parseEntry)
    return newestFirst ? entries.reverse() : entries
  }

  /**
   * Why a unit's last run ended, in systemd's words: the spawn error when there is one ("Failed to
   * locate executable /x: No such file or directory"), with the exit status line.
   */
  async failureReason(unit: string, sinceUs?: number): Promise<string | undefined> {
    const entries = await this.query({matches: ['-u', unit], lines: 40, sinceUs}).catch(() => [])
    return summarizeFailure(unit, entries)
  }
}

export function summarizeFailure(unit: string, entries: JournalEntry[]): string | undefined {
  const fromSystemd = entries
    .filter((entry) => entry.message.startsWith(`${unit}: `))
    .map((entry) => entry.message.slice(unit.length + 2))
  const lastWhere = (test: (message: string, i: number) => boolean): number => {
    for (let i = fromSystemd.length - 1; i >= 0; i--) if (test(fromSystemd[i]!, i)) return i
    return -1
  }
  const exitAt = lastWhere((message, i) => /^(Main|Control) process exited/.test(message) || cleanExitAt(fromSystemd, i))
  const cause = fromSystemd
    .filter((message) => /^Failed (to|at step)/.test(message) && !/^Failed to start|^Failed with result/.test(message))
    .at(-1)
  const exitText = exitAt < 0 ? undefined : describeExit(fromSystemd[exitAt]!)
  const resultAt = lastWhere((message) => message.startsWith('Failed with result'))
  // systemd says "Failed with result 'oom-kill'" after the exit line of a run the OOM killer ended.
  if (resultAt > exitAt && fromSystemd[resultAt] === "Failed with result 'oom-kill'.") {
    return `out of memory: the OOM killer ended it at its memoryMax${exitText ? ` (${exitText})` : ''}`
  }
  if (cause && exitText) return `${exitText}: ${cause}`
  return cause ?? exitText
}

/**
 * A clean exit (status 0) has no "process exited" line, only "Deactivated successfully", which a
 * stop also logs: it is an exit when systemd then schedules a restart by itself.
 */
function cleanExitAt(messages: string[], i: number): boolean {
  if (!messages[i]!.startsWith('Deactivated successfully')) return false
  for (const later of messages.slice(i + 1)) {
    if (later.startsWith('Scheduled restart job')) return true
    if (/^(Main|Control) process exited|^Deactivated successfully|^Stopped /.test(later)) return false
  }
  return false
}

/** "Main process exited, code=exited, status=3/NOTIMPLEMENTED" → "exited with status 3". */
function describeExit(line: string): string {
  if (line.startsWith('Deactivated successfully')) return 'exited with status 0'
  const who = line.startsWith('Control') ? '`before` ' : ''
  const match = /code=(\w+), status=(\S+)/.exec(line)
  if (!match) return line
  const [, code, status] = match
  if (code === 'exited') return `${who}exited with status ${exitStatus(status!)}`
  if (code === 'killed' || code === 'dumped') return `${who}killed by signal ${status}${code === 'dumped' ? ' (core dumped)' : ''}`
  return `${who}${code} ${status}`
}

/**
 * An app's own exit code as the number it chose: systemd names every code after its meaning in
 * LSB or BSD (3 is "NOTIMPLEMENTED", 1 "FAILURE") although the app meant nothing of the kind.
 * Only systemd's own codes, 200–243 (203/EXEC, 217/USER …), keep their name: they say which
 * step of starting the process failed.
 */
export function exitStatus(status: string): string {
  const match = /^(\d+)\/\w+$/.exec(status)
  if (!match) return status
  const code = Number(match[1])
  return code >= 200 && code <= 243 ? status : String(code)
}

function parseEntry(line: string): JournalEntry {
  const fields = JSON.parse(line) as Record<string, unknown>
  const text = (value: unknown): string => {
    if (typeof value === 'string') return value
    if (!Array.isArray(value) || value.length === 0) return ''
    // A byte array is a value that is not valid UTF-8; an array of values is a repeated field.
    return typeof value[0] === 'number' ? Buffer.from(value as number[]).toString('utf8') : text(value[0])
  }
  const flat: Record<string, string> = {}
  for (const [key, value] of Object.entries(fields)) flat[key] = text(value)
  return {timeUs: Number(flat.__REALTIME_TIMESTAMP ?? 0), message: flat.MESSAGE ?? '', fields: flat}
}
