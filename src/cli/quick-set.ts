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
 * rollout that failed, is handed to the command (takeQuickSetFailure), which reports it as it
 * reports its own (file and line, exit codes, --json) without reading or sending anything again.
 */
import {loadClientAuth, resolveClientAuthPath} from './client-auth.js'
import {ApiClient} from './client.js'
import {finishDeploy} from './deploy.js'
import {readTargetFile} from './read-target-file.js'

export interface QuickSetArgs {
  file: string
  detach: boolean
  json: boolean
  allowEmpty: boolean
  timeout?: string
  auth?: string
}

const BOOLEANS = {'--detach': 'detach', '--json': 'json', '--allow-empty': 'allowEmpty'} as const
const VALUED = {'--timeout': 'timeout', '--auth': 'auth'} as const

let failure: {error: unknown} | undefined

/** What the quick path's run failed with, for the command to report (taken once). */
export function takeQuickSetFailure(): {error: unknown} | undefined {
  const taken = failure
  failure = undefined
  return taken
}

/** The args of `t set` argv (after `t set`), or undefined if anything else is in it. */
export function readQuickSetArgs(argv: readonly string[]): QuickSetArgs | undefined {
  const seen = new Set<string>()
  const args: Omit<QuickSetArgs, 'file'> & {file?: string} = {detach: false, json: false, allowEmpty: false}
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!
    if (token === '-' || !token.startsWith('-')) {
      if (args.file !== undefined || token === '') return undefined
      args.file = token
      continue
    }
    const equals = token.indexOf('=')
    const name = equals > 0 ? token.slice(0, equals) : token
    if (seen.has(name)) return undefined
    seen.add(name)
    if (name in BOOLEANS) {
      if (equals > 0) return undefined
      args[BOOLEANS[name as keyof typeof BOOLEANS]] = true
      continue
    }
    if (!(name in VALUED)) return undefined
    const value = equals > 0 ? token.slice(equals + 1) : argv[++i]
    if (value === undefined || value === '' || value.startsWith('-')) return undefined
    args[VALUED[name as keyof typeof VALUED]] = value
  }
  if (args.file === undefined) return undefined
  return args as QuickSetArgs
}

/** Runs `t set` for this argv and returns true; false to leave it to oclif (having printed no error). */
export async function quickSet(argv: readonly string[]): Promise<boolean> {
  const args = readQuickSetArgs(argv)
  if (!args) return false
  let client: ApiClient | undefined
  try {
    const text = await readTargetFile(args.file)
    client = new ApiClient(await loadClientAuth(resolveClientAuthPath(args.auth)))
    const response = await client.setTarget(text, {allowEmpty: args.allowEmpty})
    await finishDeploy(client, response, {json: args.json, detach: args.detach, ...(args.timeout !== undefined ? {timeout: args.timeout} : {})}, (line) => {
      process.stdout.write(`${line}\n`)
    })
    return true
  } catch (error) {
    failure = {error}
    return false
  } finally {
    client?.transport.close()
  }
}
