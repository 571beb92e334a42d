/**
 * `launcho restart|stop|start PROCESS` and `launcho rollback [RELEASE]` without oclif, as
 * quick-set.ts does for `t set`: each is a deploy an operator waits on, and loading oclif was ~80 ms
 * of it. It takes the process name (or a plain release number) plus `--detach`, `--json`,
 * `--timeout D`, `--auth FILE`, each at most once (test/unit/quick-process-deploy.test.ts holds it
 * to oclif's parser), and leaves anything else to the command before doing anything. Once the
 * request is sent, any failure is handed to the command (quick-handoff.ts), which reports it as its
 * own and never sends it again: a restart is not run twice.
 */
import {readQuickArgv} from './quick-argv.js'
import {quickDeploy, type QuickDeployFlags} from './quick-deploy.js'

/** The commands bin/launcho.js sends here. */
export type QuickProcessCommand = 'restart' | 'stop' | 'start' | 'rollback'

export interface QuickProcessDeployArgs extends QuickDeployFlags {
  /** The process (restart, stop, start) or the release number (rollback; none: the one before). */
  target?: string
}

/** What oclif's integer arg reads the same way: no sign, no leading zero, no exponent. */
const RELEASE = /^[1-9]\d{0,8}$/

/** The args of the command's argv (after its name), or undefined if anything else is in it. */
export function readQuickProcessDeployArgs(command: QuickProcessCommand, argv: readonly string[]): QuickProcessDeployArgs | undefined {
  const rollback = command === 'rollback'
  const read = readQuickArgv(argv, {min: rollback ? 0 : 1, max: 1, booleans: ['detach', 'json'], strings: ['timeout', 'auth']})
  if (!read) return undefined
  const [target] = read.positionals
  if (rollback && target !== undefined && !RELEASE.test(target)) return undefined
  const args: QuickProcessDeployArgs = {detach: read.booleans.has('detach'), json: read.booleans.has('json')}
  if (target !== undefined) args.target = target
  if (read.strings.has('timeout')) args.timeout = read.strings.get('timeout')!
  if (read.strings.has('auth')) args.auth = read.strings.get('auth')!
  return args
}

/** Runs the command for this argv and returns true; false to leave it to oclif (having printed no error). */
export async function quickProcessDeploy(command: QuickProcessCommand, argv: readonly string[]): Promise<boolean> {
  const args = readQuickProcessDeployArgs(command, argv)
  if (!args) return false
  const {target} = args
  return quickDeploy(
    args,
    async () => undefined,
    (client) => {
      if (command === 'rollback') return client.rollback(target === undefined ? undefined : Number(target))
      return client[command](target!)
    },
  )
}
