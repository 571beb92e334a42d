/**
 * Turns a `--since` text into a time, with the parser journalctl itself uses for --since
 * (systemd's parse_timestamp, reached through `systemd-analyze timestamp`), so every form
 * journalctl accepts works the same: "10 min ago", "2026-11-22 10:00", "yesterday", "-1h", "@1795…".
 */
import {execFile} from 'node:child_process'
import {promisify} from 'node:util'
import {LaunchoError} from '../errors.js'
import {SINCE_EXAMPLES} from './logs-request.js'

const run = promisify(execFile)

/** Microseconds since the epoch. */
export async function resolveSince(text: string): Promise<number> {
  let stdout: string
  try {
    // `--` keeps a text such as "-1h" from being read as an option.
    ;({stdout} = await run('systemd-analyze', ['timestamp', '--', text], {timeout: 10_000}))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new LaunchoError('internal', 'systemd-analyze is not installed on the server, so --since cannot be read', {
        hint: 'install systemd on the server (apt-get install systemd), or leave out --since',
      })
    }
    throw notATime(text)
  }
  const seconds = parseUnixSeconds(stdout)
  if (seconds === undefined) throw notATime(text)
  return seconds
}

/** The µs of "UNIX seconds: @1795309754.816537" in systemd-analyze's output. */
export function parseUnixSeconds(output: string): number | undefined {
  const match = /UNIX seconds: @(\d+)(?:\.(\d{1,6}))?/.exec(output)
  if (!match) return undefined
  return Number(match[1]) * 1_000_000 + Number((match[2] ?? '').padEnd(6, '0'))
}

function notATime(text: string): LaunchoError {
  return new LaunchoError('invalid_request', `"${text}" is not a time journalctl understands`, {
    problems: [{field: 'since', message: 'not a valid time'}],
    hint: `give --since a time such as ${SINCE_EXAMPLES}`,
  })
}
