/**
 * The server's ExecRunner: each exec check runs as a short transient service of the instance's
 * systemd (systemd/check-unit.ts), never as a child of the server. So a check runs like its
 * instance (user, group, working directory, env file with the secrets, ports, memory limit), with
 * its argv passed as is, and cannot outlive its run: systemd kills the check's whole cgroup when it
 * ends, at its timeout, and when its instance stops. Its stdout and stderr go to root-only files in
 * `outputDir`, whose ends explain a failure (`exit 1: <stderr tail>`) and which are then removed.
 */
import {open, readdir, rm} from 'node:fs/promises'
import {constants} from 'node:os'
import {join} from 'node:path'
import {ensurePrivateDir} from '../store/atomic.js'
import {memorySizeBytes} from '../target/memory-size.js'
import {CHECK_STOP_MS, checkUnitNameOf, toCheckProperties} from '../systemd/check-unit.js'
import type {SystemdManager} from '../systemd/manager.js'
import type {OneshotResult} from '../systemd/oneshot.js'
import type {ExecCheck, ExecOutcome, ExecRunner} from './exec-runner.js'

export interface SystemdExecRunnerOptions {
  /** The connected manager, or undefined while the bus is away. */
  systemd: () => SystemdManager | undefined
  /** A directory of launcho's own (made 0700): systemd writes each run's output there as root. */
  outputDir: string
}

const OUTPUT_TAIL = 2048
/** Beyond the check's own timeout and stop: the start call and the job's signal. */
const WAIT_MARGIN_MS = 5_000

/** Exit statuses systemd itself uses when it cannot start a command (systemd.exec(5)). */
const SPAWN_FAILURES: Record<number, (check: ExecCheck) => string> = {
  200: () => 'cannot change to the working directory (200/CHDIR)',
  203: (check) => `cannot run ${check.command[0]}: not found or not executable (203/EXEC)`,
  209: () => 'cannot set up its output (209/STDOUT)',
  216: (check) => `unknown group ${JSON.stringify(check.group ?? '')} (216/GROUP)`,
  217: (check) => `unknown user ${JSON.stringify(check.user ?? '')} (217/USER)`,
}

export function systemdExecRunner(options: SystemdExecRunnerOptions): ExecRunner {
  let ready: Promise<void> | undefined
  // Files of runs a previous server left: nothing of this one runs yet when it first checks.
  const prepare = () =>
    (ready ??= ensurePrivateDir(options.outputDir, 0o700)
      .then(() => removeAllIn(options.outputDir))
      .catch((error: unknown) => {
        ready = undefined
        throw error
      }))
  return async (check, signal) => {
    const instance = check.instance
    if (!instance) return notStarted('internal: an exec check without its instance cannot run in systemd')
    if (check.command.length === 0 || check.command[0] === '') return notStarted('the check command is empty')
    const systemd = options.systemd()
    if (!systemd) return notStarted('systemd is not reachable, so the check could not run')
    const name = checkUnitNameOf(instance.unit)
    const stdoutFile = join(options.outputDir, `${name}.out`)
    const stderrFile = join(options.outputDir, `${name}.err`)
    const memoryMaxBytes = instance.memoryMax === undefined ? undefined : memorySizeBytes(instance.memoryMax)
    const properties = toCheckProperties({
      name,
      instance: instance.unit,
      command: check.command,
      ...(check.user !== undefined ? {user: check.user} : {}),
      ...(check.group !== undefined ? {group: check.group} : {}),
      workingDirectory: check.cwd ?? '/',
      environmentFile: instance.environmentFile,
      env: instance.portEnv,
      ...(memoryMaxBytes !== undefined ? {memoryMaxBytes} : {}),
      ...(instance.sandbox !== undefined ? {sandbox: instance.sandbox} : {}),
      ...(instance.credentials !== undefined ? {credentials: instance.credentials} : {}),
      ...(instance.limits !== undefined ? {limits: instance.limits} : {}),
      ...(instance.extra !== undefined ? {extra: instance.extra} : {}),
      timeoutMs: check.timeoutMs,
      stdoutFile,
      stderrFile,
    })
    try {
      await prepare()
      const ended = await systemd.runOneshot(name, properties, {waitMs: check.timeoutMs + CHECK_STOP_MS + WAIT_MARGIN_MS, signal})
      const output = (await tailOf(stderrFile)) || (await tailOf(stdoutFile))
      return outcomeOf(ended, output, check, signal)
    } catch (error) {
      return notStarted(`could not run the check through systemd: ${(error as Error).message}`)
    } finally {
      await Promise.all([rm(stdoutFile, {force: true}), rm(stderrFile, {force: true})])
    }
  }
}

function outcomeOf(ended: OneshotResult, output: string, check: ExecCheck, signal?: AbortSignal): ExecOutcome {
  const base = {exitCode: null, signal: null, timedOut: false, output}
  if (ended.job === 'done') return {...base, exitCode: 0}
  if (signal?.aborted) return {...base, error: 'cancelled'}
  if (ended.job === 'canceled') return {...base, error: 'cancelled: its instance was stopped'}
  if (ended.job === 'lost') return {...base, timedOut: true}
  const status = ended.execMainStatus ?? 0
  switch (ended.result) {
    case 'exit-code': {
      const spawnFailure = output === '' ? SPAWN_FAILURES[status] : undefined
      return spawnFailure ? {...base, error: spawnFailure(check)} : {...base, exitCode: status}
    }
    case 'signal':
    case 'core-dump':
      return {...base, signal: signalName(status)}
    case 'timeout':
      return {...base, timedOut: true}
    case 'resources':
      return {...base, error: 'systemd could not set the check up: its working directory or its instance env file is missing'}
    default:
      return {...base, error: `systemd ended the check: ${ended.result || ended.job}`}
  }
}

function signalName(number: number): NodeJS.Signals | null {
  const entry = Object.entries(constants.signals).find(([, value]) => value === number)
  return (entry?.[0] as NodeJS.Signals | undefined) ?? null
}

/** The last OUTPUT_TAIL bytes of a file, trimmed; '' when it is missing. */
async function tailOf(path: string): Promise<string> {
  const file = await open(path, 'r').catch(() => undefined)
  if (!file) return ''
  try {
    const {size} = await file.stat()
    const length = Math.min(size, OUTPUT_TAIL)
    const buffer = Buffer.alloc(length)
    await file.read(buffer, 0, length, size - length)
    return buffer.toString('utf8').trim()
  } finally {
    await file.close()
  }
}

async function removeAllIn(dir: string): Promise<void> {
  for (const entry of await readdir(dir).catch(() => [] as string[])) await rm(join(dir, entry), {force: true, recursive: true})
}

const notStarted = (error: string): ExecOutcome => ({exitCode: null, signal: null, timedOut: false, output: '', error})
