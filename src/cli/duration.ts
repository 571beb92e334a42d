/** Durations on the command line: "500ms", "90s", "10m", "1h", a bare number of seconds, "0". */
import {LaunchoError} from '../errors.js'

const UNIT_MS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000}

export function parseDuration(text: string, flag: string): number {
  const match = /^(\d{1,9})(ms|s|m|h)?$/.exec(text.trim())
  if (!match) throw new LaunchoError('invalid_request', `${flag} ${JSON.stringify(text)} is not a duration`, {hint: `write it as 90s, 10m or 1h (0: no limit)`})
  return Number(match[1]) * UNIT_MS[match[2] ?? 's']!
}
