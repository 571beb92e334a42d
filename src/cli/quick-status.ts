/**
 * `launcho status` without oclif: bin/launcho.js tries this first. Loading oclif and its commands
 * is most of the CLI's start-up (~80 of ~105 ms here), and `status` is what operators run most, in
 * loops and in scripts. At 1000 processes the quick path prints in about the time `--version`
 * takes; through oclif it took ~1.7 times that.
 *
 * It takes only argv it reads exactly as oclif reads the command's flags (`--json`, `--events N`,
 * `--auth FILE`, each at most once; test/unit/quick-status.test.ts holds it to oclif's parser),
 * and only a status it could fetch. Anything else (`-w`, `--help`, a typo, no auth file) is left
 * to the command. So is a request that failed (a server down, an error answer, a timeout): the
 * command then reports that very failure (quick-handoff.ts) rather than asking again, so a
 * timeout is waited for once, and every error is printed by the command's one implementation.
 */
import {loadClientAuth, resolveClientAuthPath} from './client-auth.js'
import {ApiClient} from './client.js'
import {readQuickArgv} from './quick-argv.js'
import {handOver} from './quick-handoff.js'
import {DEFAULT_STATUS_EVENTS, MAX_STATUS_EVENTS, statusQuery} from './status-query.js'
import {statusText} from './status-view.js'

export interface QuickStatusFlags {
  json: boolean
  events: number
  auth?: string
}

/** The flags of `status` argv (after the command name), or undefined if anything else is in it. */
export function readQuickStatusFlags(argv: readonly string[]): QuickStatusFlags | undefined {
  const read = readQuickArgv(argv, {min: 0, max: 0, booleans: ['json'], strings: ['events', 'auth']})
  if (!read) return undefined
  const flags: QuickStatusFlags = {json: read.booleans.has('json'), events: DEFAULT_STATUS_EVENTS}
  const events = read.strings.get('events')
  if (events !== undefined) {
    if (!/^\d+$/.test(events) || Number(events) > MAX_STATUS_EVENTS) return undefined
    flags.events = Number(events)
  }
  if (read.strings.has('auth')) flags.auth = read.strings.get('auth')!
  return flags
}

/** Prints the status for `status` argv and returns true; false (having printed nothing) to leave it to oclif. */
export async function quickStatus(argv: readonly string[]): Promise<boolean> {
  const flags = readQuickStatusFlags(argv)
  if (!flags) return false
  let client: ApiClient
  try {
    client = new ApiClient(await loadClientAuth(resolveClientAuthPath(flags.auth)))
  } catch {
    return false
  }
  let report
  try {
    report = await client.status(statusQuery(flags))
  } catch (error) {
    handOver(error)
    return false
  } finally {
    client.transport.close()
  }
  // A reader that stopped reading (`launcho status | head`): bin/launcho.js ends the command quietly.
  process.stdout.write(`${statusText(report, flags.json)}\n`)
  return true
}
