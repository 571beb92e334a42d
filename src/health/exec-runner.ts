/**
 * Runs an exec health check's argv. The prober takes any ExecRunner: the server runs checks in
 * systemd beside their instance (systemd-exec-runner.ts); `spawnRunner`, the prober's default for
 * code without systemd, spawns directly, as the check's user and group when given, never through a
 * shell unless the argv names one. What a spawned check leaves behind is killed with its process
 * group, which a `setsid` escapes: only the systemd runner contains a check.
 */
import {spawn} from 'node:child_process'
import {resolveOwner} from '../reconcile/work-dir.js'
import type {HealthCheck} from './check.js'

export type ExecCheck = Extract<HealthCheck, {kind: 'exec'}>

export interface ExecOutcome {
  /** null when killed by a signal or never started. */
  exitCode: number | null
  signal: NodeJS.Signals | null
  /** Killed because it outlived the check's timeout. */
  timedOut: boolean
  /** The end of stderr, or of stdout when stderr is empty. */
  output: string
  /** Why it could not start (missing binary, unknown user, …) or was cancelled. */
  error?: string
}

/** Runs the check; kills it (and whatever it started) at its timeout or when `signal` aborts. */
export type ExecRunner = (check: ExecCheck, signal?: AbortSignal) => Promise<ExecOutcome>

/** systemd's default PATH for services, so a check finds what its unit would find. */
const UNIT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
const OUTPUT_TAIL = 2048
/** After the command exits, how long its output may take to drain before leftovers are killed. */
const DRAIN_MS = 100

export const spawnRunner: ExecRunner = async (check, signal) => {
  const ids = await idsFor(check)
  if (typeof ids === 'string') return notStarted(ids)
  if (signal?.aborted) return notStarted('cancelled')
  return new Promise((resolve) => {
    const [file, ...args] = check.command
    // Its own process group, so a timeout also kills what it started (`sh -c "… &"`).
    const child = spawn(file, args, {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {PATH: UNIT_PATH, ...check.env},
      ...(check.cwd === undefined ? {} : {cwd: check.cwd}),
      ...(ids ?? {}),
    })
    const stdout = tail()
    const stderr = tail()
    child.stdout.on('data', stdout.add)
    child.stderr.on('data', stderr.add)
    let exit: {code: number | null; signal: NodeJS.Signals | null} | undefined
    let timedOut = false
    let settled = false
    const killGroup = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
      } catch {
        // Already gone.
      }
    }
    const onAbort = () => finish({exitCode: null, signal: null, timedOut: false, output: '', error: 'cancelled'}, true)
    const timer = setTimeout(() => {
      timedOut = exit === undefined
      killGroup()
    }, check.timeoutMs)
    let drain: NodeJS.Timeout | undefined
    signal?.addEventListener('abort', onAbort, {once: true})
    function finish(outcome: ExecOutcome, kill = false) {
      if (settled) return
      settled = true
      if (kill) killGroup()
      clearTimeout(timer)
      clearTimeout(drain)
      signal?.removeEventListener('abort', onAbort)
      resolve(outcome)
    }
    child.on('error', (error: NodeJS.ErrnoException) => finish(notStartedOutcome(startError(error, check))))
    child.on('exit', (code, sig) => {
      exit = {code, signal: sig}
      // Something it left running still holds the pipes: give output a moment, then clean up.
      drain = setTimeout(killGroup, DRAIN_MS)
    })
    child.on('close', (code, sig) => {
      const output = stderr.text() || stdout.text()
      finish({exitCode: exit?.code ?? code, signal: exit?.signal ?? sig, timedOut, output})
    })
  })
}

/** Numeric ids to spawn with, undefined to stay as we are, or why the check cannot run. */
async function idsFor(check: ExecCheck): Promise<{uid: number; gid: number} | undefined | string> {
  if (check.user === undefined && check.group === undefined) return undefined
  const ids = await resolveOwner(check.user, check.group)
  if (!ids) return `unknown user or group ${JSON.stringify([check.user ?? '', check.group ?? ''].join(':'))}`
  // Not root and already these ids (a test, a non-root server): switching would fail for nothing.
  if (ids.uid === process.getuid?.() && ids.gid === process.getgid?.()) return undefined
  return ids
}

function startError(error: NodeJS.ErrnoException, check: ExecCheck): string {
  if (error.code === 'ENOENT') return `cannot run ${check.command[0]}: not found (or cwd missing)`
  if (error.code === 'EPERM') return `cannot run as ${check.user ?? check.group}: the server is not root`
  return `cannot run ${check.command[0]}: ${error.code ?? error.message}`
}

const notStartedOutcome = (error: string): ExecOutcome => ({
  exitCode: null,
  signal: null,
  timedOut: false,
  output: '',
  error,
})
const notStarted = async (error: string): Promise<ExecOutcome> => notStartedOutcome(error)

function tail() {
  let buffer = Buffer.alloc(0)
  return {
    add: (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk])
      if (buffer.length > OUTPUT_TAIL) buffer = buffer.subarray(buffer.length - OUTPUT_TAIL)
    },
    text: () => buffer.toString('utf8').trim(),
  }
}
