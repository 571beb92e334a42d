/**
 * Reads the journal through journalctl (`-o json`), optionally of another root (a sandbox's:
 * `--journal-root`). Used for failure reasons now and for `launcho logs` later.
 */
import {execFile} from 'node:child_process'
import {promisify} from 'node:util'

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

export class Journal {
  constructor(private readonly root?: string) {}

  baseArgs(): string[] {
    return ['--no-pager', '-q', '-o', 'json', ...(this.root ? [`--root=${this.root}`] : [])]
  }

  async query(query: JournalQuery): Promise<JournalEntry[]> {
    const args = [...this.baseArgs(), ...query.matches]
    if (query.lines !== undefined) args.push('-n', String(query.lines))
    if (query.sinceUs !== undefined) args.push(`--since=@${(query.sinceUs / 1e6).toFixed(6)}`)
    const {stdout} = await run('journalctl', args, {maxBuffer: 64 * 1024 * 1024})
    return stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map(parseEntry)
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
  const exit = fromSystemd.filter((message) => /^(Main|Control) process exited/.test(message)).at(-1)
  const cause = fromSystemd
    .filter((message) => /^Failed (to|at step)/.test(message) && !/^Failed to start|^Failed with result/.test(message))
    .at(-1)
  const exitText = exit === undefined ? undefined : describeExit(exit)
  if (cause && exitText) return `${exitText}: ${cause}`
  return cause ?? exitText
}

/** "Main process exited, code=exited, status=1/FAILURE" → "exited with status 1/FAILURE". */
function describeExit(line: string): string {
  const who = line.startsWith('Control') ? '`before` ' : ''
  const match = /code=(\w+), status=(\S+)/.exec(line)
  if (!match) return line
  const [, code, status] = match
  if (code === 'exited') return `${who}exited with status ${status}`
  if (code === 'killed' || code === 'dumped') return `${who}killed by signal ${status}${code === 'dumped' ? ' (core dumped)' : ''}`
  return `${who}${code} ${status}`
}

function parseEntry(line: string): JournalEntry {
  const fields = JSON.parse(line) as Record<string, unknown>
  const text = (value: unknown): string =>
    typeof value === 'string' ? value : Array.isArray(value) ? Buffer.from(value as number[]).toString('utf8') : ''
  const flat: Record<string, string> = {}
  for (const [key, value] of Object.entries(fields)) flat[key] = text(value)
  return {timeUs: Number(flat.__REALTIME_TIMESTAMP ?? 0), message: flat.MESSAGE ?? '', fields: flat}
}
