/**
 * One run of a command in a process's environment, start to end: its files (run-place.ts), its
 * oneshot unit (systemd/run-unit.ts) run to its end, how it ended (run-exit.ts), and its files
 * removed again. `launcho run` (daemon/run-service.ts) and the beforeRollout hook both run this way.
 * When the bus is lost mid-run nothing is removed (the unit may still run): the sweep of run
 * leftovers (daemon/run-service.ts) removes the files once systemd has no such unit.
 */
import type {Logger} from 'pino'
import type {Journal} from '../logs/journal.js'
import type {ResourceStore} from '../store/resource-store.js'
import type {StateDir} from '../store/state-dir.js'
import type {SystemdManager} from '../systemd/manager.js'
import {runPropertiesOf, type RunOutput} from '../systemd/run-unit.js'
import type {DesiredProcess, UnitTimings} from './desired.js'
import {runExitOf, type RunExit} from './run-exit.js'
import {prepareRun, removeRunFiles, type RunRequest} from './run-place.js'

export interface RunDeps {
  systemd: SystemdManager
  stateDir: StateDir
  resources?: ResourceStore
  timings: UnitTimings
  journal: Journal
  logger: Logger
}

export interface OneOffRunOptions extends RunRequest {
  unit: string
  /** FIFOs for its output; absent: the journal. */
  output?: RunOutput
  timeoutMs?: number
}

/** How a run ended, or that launcho lost sight of it (the bus went away). */
export type RunEnd = {exit: RunExit} | {lost: string}

export interface OneOffRun {
  unit: string
  /** Settles once the unit is gone and its files removed. */
  ended: Promise<RunEnd>
  /** Stops the unit (Ctrl-C, the client gone); `ended` then settles. */
  stop(): void
}

/** Runs of this server from the first file made to the last one removed: a sweep leaves their files alone. */
const inProgress = new Set<string>()
export const runInProgress = (unit: string): boolean => inProgress.has(unit)

/** Prepares the run and starts its unit; throws (having removed what it made) when it cannot. */
export async function startOneOffRun(deps: RunDeps, process: DesiredProcess, options: OneOffRunOptions): Promise<OneOffRun> {
  const {unit} = options
  inProgress.add(unit)
  let spec
  try {
    spec = await prepareRun(process, unit, options, deps)
  } catch (error) {
    await removeRunFiles(unit, deps.stateDir).catch(() => undefined)
    inProgress.delete(unit)
    throw error
  }
  const properties = runPropertiesOf(spec, deps.systemd.unitStamp, {...options.output, ...(options.timeoutMs !== undefined ? {timeoutMs: options.timeoutMs} : {})})
  const abort = new AbortController()
  const ended = deps.systemd.runToEnd(unit, properties, {waitMs: Number.POSITIVE_INFINITY, signal: abort.signal}).then(
    async (result): Promise<RunEnd> => {
      const exit = await runExitOf(result, () => deps.journal.failureReason(unit))
      await removeRunFiles(unit, deps.stateDir).catch((error: Error) => deps.logger.warn({unit, err: error.message}, 'could not remove the files of a run; the sweep retries'))
      return {exit}
    },
    async (error: Error): Promise<RunEnd> => {
      if (!deps.systemd.isClosed) await removeRunFiles(unit, deps.stateDir).catch(() => undefined)
      return {lost: error.message}
    },
  )
  void ended.finally(() => inProgress.delete(unit))
  return {unit, ended, stop: () => abort.abort()}
}
