/**
 * `launcho secret set` without oclif, as quick-set.ts does for `t set`: rotating a secret is a
 * deploy, and loading oclif was ~80 ms of it. It takes NAME with VALUE, or with --from-file FILE,
 * or with the value piped on standard input, plus `--detach`, `--json`, `--timeout D`, `--auth
 * FILE`, each at most once (test/unit/quick-secret-set.test.ts holds it to oclif's parser). A value
 * that starts with `-`, both VALUE and --from-file, or a terminal on stdin (the hidden prompt) go
 * to the command before anything is read. Once it has begun, any failure is handed to the command
 * (quick-handoff.ts), which reports it as its own.
 */
import {loadClientAuth, resolveClientAuthPath} from './client-auth.js'
import {ApiClient} from './client.js'
import {finishDeploy} from './deploy.js'
import {readQuickArgv} from './quick-argv.js'
import {handOver} from './quick-handoff.js'
import {secretValue} from './secret-value.js'

export interface QuickSecretSetArgs {
  name: string
  value?: string
  fromFile?: string
  detach: boolean
  json: boolean
  timeout?: string
  auth?: string
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
  let client: ApiClient | undefined
  try {
    const value = await secretValue(args.name, args.value, args.fromFile)
    client = new ApiClient(await loadClientAuth(resolveClientAuthPath(args.auth)))
    const response = await client.setSecret(args.name, value)
    await finishDeploy(client, response, {json: args.json, detach: args.detach, ...(args.timeout !== undefined ? {timeout: args.timeout} : {})}, (line) => {
      process.stdout.write(`${line}\n`)
    })
    return true
  } catch (error) {
    handOver(error)
    return false
  } finally {
    client?.transport.close()
  }
}
