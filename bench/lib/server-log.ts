/** The launcho server's JSON log lines (pino: `time` in epoch ms, `msg`, fields), from the harness. */
import type {Harness} from '../../test/helpers/harness.js'

export interface LogLine {
  time: number
  msg: string
  unit?: string
  state?: string
  [key: string]: unknown
}

/** Lines parsed so far per harness, so polling the log costs only the new lines. */
const parsed = new WeakMap<Harness, {offset: number; lines: LogLine[]}>()

/** Every parseable line of the server's output so far, at or after `since` (epoch ms). */
export function serverLog(h: Harness, since = 0): LogLine[] {
  let cache = parsed.get(h)
  // A restarted server starts a new log.
  if (!cache || cache.offset > h.serverLog.length) parsed.set(h, (cache = {offset: 0, lines: []}))
  const end = h.serverLog.lastIndexOf('\n') + 1
  for (const text of h.serverLog.slice(cache.offset, end).split('\n')) {
    if (!text.startsWith('{')) continue
    try {
      const line = JSON.parse(text) as LogLine
      if (typeof line.time === 'number') cache.lines.push(line)
    } catch {
      // not one of the server's JSON lines
    }
  }
  cache.offset = Math.max(cache.offset, end)
  return cache.lines.filter((line) => line.time >= since)
}

/** The time of the first line at or after `since` that `match` accepts, or undefined. */
export function firstLogAt(h: Harness, since: number, match: (line: LogLine) => boolean): number | undefined {
  return serverLog(h, since).find(match)?.time
}
