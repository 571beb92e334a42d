/**
 * `launcho run`: finds what to run (a process of the current target with the command given, or a
 * named command with extra arguments appended), runs it as a one-off run (reconcile/one-off-run.ts)
 * with its output through FIFOs to the caller, or detached to the journal, and sweeps what runs of
 * an earlier server life left (their unit gone, their files still there).
 *
 * A name that is both a process and a named command is the process, unless `asCommand`.
 */
import type {Logger} from 'pino'
import {LaunchoError} from '../errors.js'
import type {Journal} from '../logs/journal.js'
import type {CommandsResponse, RunBody} from '../protocol/run.js'
import type {DesiredProcess, DesiredState, UnitTimings} from '../reconcile/desired.js'
import {runInProgress, startOneOffRun, type OneOffRun} from '../reconcile/one-off-run.js'
import {removeRunFiles, runFifosOf, runUnitsWithFiles} from '../reconcile/run-place.js'
import type {ResourceStore} from '../store/resource-store.js'
import type {StateDir} from '../store/state-dir.js'
import type {SystemdManager} from '../systemd/manager.js'
import {isBeforeRolloutUnit, RUN_UNIT_PATTERN, runUnitNameOf} from '../systemd/run-unit.js'
import type {NamedCommands} from './target-service.js'
import {RunOutput} from './run-output.js'

export interface RunServiceOptions {
  systemd: () => SystemdManager | undefined
  runnable: () => {desired: DesiredState; commands: NamedCommands} | undefined
  stateDir: StateDir
  resources?: ResourceStore
  timings: UnitTimings
  journal: Journal
  logger: Logger
}

export interface StartedRun extends OneOffRun {
  process: string
  /** Attached runs only. */
  output?: RunOutput
}

const SWEEP_MS = 30_000
const LIVE_STATES = new Set(['active', 'activating', 'deactivating', 'reloading', 'refreshing'])

export class RunService {
  /** Runs of this server whose files exist (being prepared, running, being cleaned). */
  private readonly active = new Set<string>()
  private sweepTimer?: NodeJS.Timeout
  private sweeping?: Promise<void>

  constructor(private readonly options: RunServiceOptions) {}

  /** The target's named commands as written (placeholders, never secret values). */
  commands(): CommandsResponse {
    const commands = this.options.runnable()?.commands ?? new Map()
    return {commands: [...commands].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, {process, written}]) => ({name, process, command: written}))}
  }

  async start(body: RunBody): Promise<StartedRun> {
    const {process, command} = this.resolve(body)
    const systemd = this.options.systemd()
    if (!systemd) throw new LaunchoError('systemd_failed', 'not connected to systemd', {hint: 'the server reconnects on its own; try again in a moment'})
    const unit = runUnitNameOf(process.spec.name)
    this.active.add(unit)
    let output: RunOutput | undefined
    try {
      if (!body.detach) output = await RunOutput.open(runFifosOf(unit, this.options.stateDir))
      const run = await startOneOffRun(this.deps(systemd), process, {
        unit,
        command,
        ...(body.noBefore ? {noBefore: true} : {}),
        ...(body.timeoutMs !== undefined ? {timeoutMs: body.timeoutMs} : {}),
        ...(output ? {output: fifoOutput(runFifosOf(unit, this.options.stateDir))} : {}),
      })
      this.options.logger.info({process: process.spec.name, unit, detached: body.detach === true}, 'run started')
      const ended = run.ended.finally(() => {
        this.active.delete(unit)
        this.options.logger.info({process: process.spec.name, unit}, 'run ended')
      })
      return {...run, ended, process: process.spec.name, ...(output ? {output} : {})}
    } catch (error) {
      output?.close()
      await removeRunFiles(unit, this.options.stateDir).catch(() => undefined)
      this.active.delete(unit)
      throw error
    }
  }

  startSweeping(): void {
    this.sweepTimer = setInterval(() => void this.sweep(), SWEEP_MS)
    void this.sweep()
  }

  async stop(): Promise<void> {
    clearInterval(this.sweepTimer)
    await this.sweeping
  }

  /** Removes the files of runs whose unit systemd no longer runs (and collects failed ones). */
  sweep(): Promise<void> {
    this.sweeping ??= this.sweepNow()
      .catch((error: Error) => this.options.logger.warn({err: error.message}, 'could not sweep what runs left; trying again later'))
      .finally(() => (this.sweeping = undefined))
    return this.sweeping
  }

  private async sweepNow(): Promise<void> {
    const systemd = this.options.systemd()
    if (!systemd) return
    const withFiles = await runUnitsWithFiles(this.options.stateDir)
    const loaded = new Map((await systemd.unitsMatching(RUN_UNIT_PATTERN)).map((unit) => [unit.name, unit.activeState]))
    for (const unit of new Set([...withFiles, ...loaded.keys()])) {
      if (this.active.has(unit) || runInProgress(unit)) continue
      const state = loaded.get(unit)
      if (state !== undefined && LIVE_STATES.has(state)) continue
      // A failed hook's unit tells its process's reconcile how it ended (reconcile/before-rollout.ts).
      if (state !== undefined && isBeforeRolloutUnit(unit)) continue
      if (state !== undefined) await systemd.resetFailed(unit)
      if (withFiles.has(unit) && !this.active.has(unit) && !runInProgress(unit)) {
        await removeRunFiles(unit, this.options.stateDir)
        this.options.logger.info({unit}, 'removed the files of an ended run')
      }
    }
  }

  private deps(systemd: SystemdManager) {
    const {stateDir, resources, timings, journal, logger} = this.options
    return {systemd, stateDir, timings, journal, logger, ...(resources ? {resources} : {})}
  }

  /** The process and argv that `body` names. */
  private resolve(body: RunBody): {process: DesiredProcess; command: string[]} {
    const runnable = this.options.runnable()
    if (!runnable) throw new LaunchoError('not_found', 'no target is applied, so there is no process to run a command in', {hint: 'launcho t set a target first'})
    const process = body.asCommand ? undefined : runnable.desired.get(body.name)
    const named = runnable.commands.get(body.name)
    if (process) {
      if (body.argv.length === 0) {
        throw new LaunchoError('invalid_request', `no command given to run in ${body.name}'s environment`, {
          hint: `launcho run ${body.name} -- COMMAND [ARGS…]${named ? `, or launcho run --command ${body.name} for the named command` : ''}`,
        })
      }
      return {process, command: body.argv}
    }
    if (named) {
      const owner = runnable.desired.get(named.process)
      if (!owner) throw new LaunchoError('not_found', `the command ${body.name} runs in ${named.process}, which is not in the target`)
      return {process: owner, command: [...named.command, ...body.argv]}
    }
    const processes = [...runnable.desired.keys()].sort()
    const commands = [...runnable.commands.keys()].sort()
    throw new LaunchoError('not_found', `${JSON.stringify(body.name)} is ${body.asCommand ? 'not a named command' : 'neither a process nor a named command'} of the target`, {
      hint: `processes: ${processes.join(', ') || 'none'}; named commands: ${commands.join(', ') || 'none'} (launcho run --list)`,
    })
  }
}

const fifoOutput = ({stdout, stderr}: {stdout: string; stderr: string}) => ({stdoutFile: stdout, stderrFile: stderr})
