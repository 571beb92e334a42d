/**
 * Runs a fixed command as a process's user, for file work inside directories that user can write.
 * Root must not act there by path: a symlink or a rename swapped in between two system calls would
 * point root's next call anywhere. The user can only reach what it could reach anyway.
 *
 * The command is an argv (never a shell line built from data; a fixed `sh -c SCRIPT sh ARG…` takes
 * its data as positional parameters). It runs through setpriv (util-linux) with the user's own
 * supplementary groups, as systemd gives them to the process, or none when the uid has no passwd
 * entry; with a minimal environment, in /, in its own process group, killed at its timeout.
 */
import {execFile, spawn} from 'node:child_process'
import {promisify} from 'node:util'
import {LaunchoError} from '../errors.js'

const run = promisify(execFile)

export interface UserIds {
  uid: number
  gid: number
}

export interface RunAsOptions {
  /** An open descriptor the command gets as its stdin (e.g. a root-only file root opened for it). */
  stdin?: number
  timeoutMs?: number
}

const DEFAULT_TIMEOUT_MS = 60_000
const STDERR_TAIL = 2048
const ENV = {PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C'}

/** The command failed, was killed at its timeout, or could not start; `reason` says which, in its words. */
export class AsUserError extends LaunchoError {
  constructor(
    readonly ids: UserIds,
    readonly command: string,
    readonly outcome: {exitCode: number | null; signal: NodeJS.Signals | null; timedOut: boolean},
    /** The end of what the command wrote to stderr. */
    readonly stderrTail: string,
  ) {
    super('internal', `${command} as uid ${ids.uid} (gid ${ids.gid}) failed: ${describe(outcome, stderrTail)}`, {
      hint: 'check that the directory is the user\'s and that setpriv (util-linux) is installed',
    })
    this.name = 'AsUserError'
  }

  /** Why, in the command's own words (its last lines on stderr), or how it ended. */
  get reason(): string {
    return describe(this.outcome, this.stderrTail)
  }

  /** The command was refused access (EACCES/EPERM in its words). */
  get denied(): boolean {
    return /Permission denied|Operation not permitted/.test(this.stderrTail)
  }
}

/** The last few lines: one tool's error (dd), or find's first failure and the ones it caused. */
const REASON_LINES = 3

function describe(outcome: AsUserError['outcome'], stderrTail: string): string {
  const lines = stderrTail.split('\n').map((line) => line.trim()).filter(Boolean)
  const last = lines.slice(-REASON_LINES).join('; ')
  if (outcome.timedOut) return `killed after its timeout${last ? ` (${last})` : ''}`
  if (last) return last
  return outcome.signal ? `killed by ${outcome.signal}` : `exit status ${outcome.exitCode}`
}

export async function runAsUser(ids: UserIds, argv: readonly [string, ...string[]], options: RunAsOptions = {}): Promise<void> {
  const [file, ...args] = await commandFor(ids, argv)
  const command = argv[0]
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  await new Promise<void>((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: '/',
      env: ENV,
      detached: true,
      stdio: [options.stdin ?? 'ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr!.setEncoding('utf8')
    child.stderr!.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL)
    })
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
      } catch {
        // Already gone.
      }
    }, timeoutMs)
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      reject(new AsUserError(ids, command, {exitCode: null, signal: null, timedOut: false}, `cannot run ${file}: ${error.code ?? error.message}`))
    })
    child.once('close', (exitCode, signal) => {
      clearTimeout(timer)
      if (exitCode === 0 && !timedOut) resolve()
      else reject(new AsUserError(ids, command, {exitCode, signal, timedOut}, stderr))
    })
  })
}

/** The argv that runs `argv` as `ids`: as it is when those are already ours (root running as root). */
async function commandFor(ids: UserIds, argv: readonly string[]): Promise<string[]> {
  if (ids.uid === process.getuid?.() && ids.gid === process.getgid?.()) return [...argv]
  const groups = (await hasPasswdEntry(ids.uid)) ? '--init-groups' : '--clear-groups'
  return ['setpriv', `--reuid=${ids.uid}`, `--regid=${ids.gid}`, groups, '--no-new-privs', '--', ...argv]
}

async function hasPasswdEntry(uid: number): Promise<boolean> {
  try {
    await run('getent', ['passwd', String(uid)])
    return true
  } catch {
    return false
  }
}
