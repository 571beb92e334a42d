/**
 * `launcho secret set` without oclif, as quick-set.ts does for `t set`: rotating a secret is a
 * deploy, and loading oclif was ~80 ms of it. It takes NAME with VALUE, or with --from-file FILE,
 * or with the value piped on standard input, plus `--detach`, `--json`, `--timeout D`, `--auth
 * FILE`, each at most once (test/unit/quick-secret-set.test.ts holds it to oclif's parser). A value
 * that starts with `-`, both VALUE and --from-file, or a terminal on stdin (the hidden prompt) go
 * to the command before anything is read. Once it has begun, any failure is handed to the command
 * (quick-handoff.ts), which reports it as its own.
 */
import {readQuickArgv} from './quick-argv.js'
import {quickDeploy, type QuickDeployFlags} from './quick-deploy.js'
import {secretValue} from './secret-value.js'

export interface QuickSecretSetArgs extends QuickDeployFlags {
  name: string
  value?: string
  fromFile?: string
}

/** The args of `secret set` argv (after `secret set`), or undefined if anything else is in it. */
export function readQuickSecretSetArgs(argv: readonly string[]): QuickSecretSetArgs | undefined {
  const read = readQuickArgv(argv, {min: 1, max: 2, booleans: ['detach', 'json'], strings: ['from-file', 'timeout', 'auth']})
  if (!read) return undefined
  const [name, value] = read.positionals as [string, string | undefined]
  const args: QuickSecretSetArgs = {name, detach: read.booleans.has('detach'), json: read.booleans.has('json')}
  if (value !== undefined) args.value = value
  for (const [flag, key] of [['from-file', 'fromFile'], ['timeout', 'timeout'], ['auth', 'auth']] as const) {
    if (read.strings.has(flag)) args[key] = read.strings.get(flag)!
  }
  return args
}

/** Runs `secret set` for this argv and returns true; false to leave it to oclif (having printed no error). */
export async function quickSecretSet(argv: readonly string[]): Promise<boolean> {
  const args = readQuickSecretSetArgs(argv)
  if (!args) return false
  const fromStdin = args.value === undefined && args.fromFile === undefined
  if ((args.value !== undefined && args.fromFile !== undefined) || (fromStdin && process.stdin.isTTY)) return false
  return quickDeploy(
    args,
    () => secretValue(args.name, args.value, args.fromFile),
    (client, value) => client.setSecret(args.name, value),
  )
}
