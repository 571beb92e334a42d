/**
 * `launcho server` without oclif. The server is long-lived, so oclif's start-up time hardly
 * matters, but whatever a process loads stays loaded: oclif and its dependencies were ~8 MB of the
 * idle server's memory. It takes `--state-dir`, `--listen`, `--config` and `--journal-root` (each
 * at most once, as `--name VALUE` or `--name=VALUE`; test/unit/quick-server.test.ts holds it to
 * oclif's parser) and the two environment variables the command reads; anything else (`--help`, a
 * typo) is left to the command. A server that fails once started hands its error to the command,
 * which reports it as its own (quick-handoff.ts) without starting again.
 */
import {readQuickArgv} from './quick-argv.js'
import {handOver} from './quick-handoff.js'
import {runServer, type ServerFlags} from './run-server.js'

/** The flags of `server` argv (after the command name) with the environment's, or undefined to leave it to the command. */
export function readQuickServerFlags(argv: readonly string[], env: NodeJS.ProcessEnv): ServerFlags | undefined {
  const read = readQuickArgv(argv, {min: 0, max: 0, booleans: [], strings: ['state-dir', 'listen', 'config', 'journal-root']})
  if (!read) return undefined
  const flags: ServerFlags = {}
  const fromEnv = (flag: string, name: string): string | undefined | false => {
    if (read.strings.has(flag)) return read.strings.get(flag)
    const value = env[name]
    // An empty variable: what oclif makes of it is its business.
    return value === '' ? false : value
  }
  const config = fromEnv('config', 'LAUNCHO_CONFIG')
  const journalRoot = fromEnv('journal-root', 'LAUNCHO_JOURNAL_ROOT')
  if (config === false || journalRoot === false) return undefined
  if (read.strings.has('state-dir')) flags.stateDir = read.strings.get('state-dir')!
  if (read.strings.has('listen')) flags.listen = read.strings.get('listen')!
  if (config !== undefined) flags.config = config
  if (journalRoot !== undefined) flags.journalRoot = journalRoot
  return flags
}

/** Runs the server for this argv and returns true once it has stopped; false to leave it to the command. */
export async function quickServer(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const flags = readQuickServerFlags(argv, env)
  if (!flags) return false
  try {
    await runServer(flags)
    return true
  } catch (error) {
    handOver(error)
    return false
  }
}
