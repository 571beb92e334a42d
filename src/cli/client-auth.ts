/** Finding and reading the client auth file (the output of `launcho print-auth`). */
import {statSync} from 'node:fs'
import {homedir} from 'node:os'
import {join, resolve} from 'node:path'
import {parseAuthFile} from '../api/auth-file.js'
import {LaunchoError} from '../errors.js'
import {readFileIfExistsSync} from '../store/atomic.js'

export const CLIENT_AUTH_ENV = 'LAUNCHO_AUTH'

export interface ClientAuth {
  /** The file this came from, so errors can point at it. */
  path: string
  host: string
  cert: string
  token: string
}

/** `--auth FILE`, else `$LAUNCHO_AUTH`, else `~/.launcho/launcho-client-auth.yaml`. */
export function resolveClientAuthPath(flag?: string): string {
  const chosen = flag || process.env[CLIENT_AUTH_ENV]
  return chosen ? resolve(chosen) : join(homedir(), '.launcho', 'launcho-client-auth.yaml')
}

export async function loadClientAuth(path: string): Promise<ClientAuth> {
  let text: string | undefined
  try {
    // Synchronous: nothing else can go on meanwhile, and the thread pool's first round trips cost ms.
    text = readFileIfExistsSync(path)
  } catch (error) {
    throw new LaunchoError('storage_failed', `could not read the auth file ${path}: ${(error as Error).message}`, {
      hint: `check that ${path} is a file readable by you, or point --auth / $${CLIENT_AUTH_ENV} at another file`,
      cause: error,
    })
  }
  if (text === undefined) {
    throw new LaunchoError('not_found', `no client auth file at ${path}`, {
      hint: `run "launcho print-auth --host HOST:PORT" on the server and save its output to ${path}`,
    })
  }
  const {host, cert, token} = parseAuthFile(text, path)
  warnIfReadableByOthers(path)
  return {path, host, cert, token}
}

const warned = new Set<string>()

/** The file holds the API token: anyone who can read it can drive the server. Said once per file. */
function warnIfReadableByOthers(path: string): void {
  if (warned.has(path)) return
  warned.add(path)
  let mode: number | undefined
  try {
    mode = statSync(path).mode
  } catch {
    return
  }
  if ((mode & 0o077) === 0) return
  const octal = (mode & 0o777).toString(8).padStart(4, '0')
  process.stderr.write(`Warning: ${path} is readable by other users (mode ${octal}) and holds the API token; run: chmod 600 ${path}\n`)
}
