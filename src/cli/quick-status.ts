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
 * command then reports that very failure (takeQuickStatusFailure) rather than asking again, so a
 * timeout is waited for once, and every error is printed by the command's one implementation.
 */
import {loadClientAuth, resolveClientAuthPath} from './client-auth.js'
import {ApiClient} from './client.js'
import {DEFAULT_STATUS_EVENTS, MAX_STATUS_EVENTS, statusQuery} from './status-query.js'
import {statusText} from './status-view.js'

let failure: unknown

/** Why the quick path's request failed, for the command to report (taken once). */
export function takeQuickStatusFailure(): unknown {
  const taken = failure
  failure = undefined
  return taken
}

export interface QuickStatusFlags {
  json: boolean
  events: number
  auth?: string
}

/** The flags of `status` argv (after the command name), or undefined if anything else is in it. */
export function readQuickStatusFlags(argv: readonly string[]): QuickStatusFlags | undefined {
  const seen = new Set<string>()
  const flags: QuickStatusFlags = {json: false, events: DEFAULT_STATUS_EVENTS}
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!
    const equals = token.indexOf('=')
    const name = equals > 0 ? token.slice(0, equals) : token
    if (seen.has(name)) return undefined
    seen.add(name)
    if (name === '--json') {
      if (equals > 0) return undefined
      flags.json = true
      continue
    }
    if (name !== '--events' && name !== '--auth') return undefined
    const value = equals > 0 ? token.slice(equals + 1) : argv[++i]
    if (value === undefined || value === '' || value.startsWith('-')) return undefined
    if (name === '--auth') flags.auth = value
    else {
      if (!/^\d+$/.test(value) || Number(value) > MAX_STATUS_EVENTS) return undefined
      flags.events = Number(value)
    }
  }
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
    failure = error
    return false
  } finally {
    client.transport.close()
  }
  // A reader that stopped reading (`launcho status | head`): bin/launcho.js ends the command quietly.
  process.stdout.write(`${statusText(report, flags.json)}\n`)
  return true
}
