/**
 * `launcho t set` without oclif: bin/launcho.js tries this first, as it does quick-status.ts for
 * `status`. Loading oclif and its commands is ~80 ms of the CLI's start-up, and `t set` is the
 * command every deploy runs (a no-op one took ~1.3 times `--version`).
 *
 * It takes only argv it reads exactly as oclif reads the command's own (one FILE or `-`,
 * `--detach`, `--json`, `--allow-empty`, `--timeout D`, `--auth FILE`, each at most once;
 * test/unit/quick-set.test.ts holds it to oclif's parser) and leaves anything else to the command
 * before doing anything. From there on it does what the command does (deploy.ts follows the
 * rollout the same way), and it never prints an error: whatever fails, from reading the file to a
 * rollout that failed, is handed to the command (quick-handoff.ts), which reports it as it
 * reports its own (file and line, exit codes, --json) without reading or sending anything again.
 */
import {readQuickArgv} from './quick-argv.js'
import {quickDeploy, type QuickDeployFlags} from './quick-deploy.js'
import {readTargetFile} from './read-target-file.js'

export interface QuickSetArgs extends QuickDeployFlags {
  file: string
  allowEmpty: boolean
}

/** The args of `t set` argv (after `t set`), or undefined if anything else is in it. */
export function readQuickSetArgs(argv: readonly string[]): QuickSetArgs | undefined {
  const read = readQuickArgv(argv, {min: 1, max: 1, dash: true, booleans: ['detach', 'json', 'allow-empty'], strings: ['timeout', 'auth']})
  if (!read) return undefined
  const args: QuickSetArgs = {file: read.positionals[0]!, detach: read.booleans.has('detach'), json: read.booleans.has('json'), allowEmpty: read.booleans.has('allow-empty')}
  if (read.strings.has('timeout')) args.timeout = read.strings.get('timeout')!
  if (read.strings.has('auth')) args.auth = read.strings.get('auth')!
  return args
}

/** Runs `t set` for this argv and returns true; false to leave it to oclif (having printed no error). */
export async function quickSet(argv: readonly string[]): Promise<boolean> {
  const args = readQuickSetArgs(argv)
  if (!args) return false
  return quickDeploy(
    args,
    () => readTargetFile(args.file),
    (client, text) => client.setTarget(text, {allowEmpty: args.allowEmpty}),
  )
}
