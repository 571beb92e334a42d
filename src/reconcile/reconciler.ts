/**
 * The level-triggered loop: compares the desired state with the `launcho-*` units systemd runs and
 * acts on the difference. It runs on every systemd signal about a launcho unit and on a periodic
 * resync. Work is per process: one process's slow `before` or failing start never holds up
 * another's, and an exception is logged and the loop goes on.
 */
import {readdir} from 'node:fs/promises'
import type {Logger} from 'pino'
import type {EventLog} from '../events.js'
import type {Journal} from '../logs/journal.js'
import type {StateDir} from '../store/state-dir.js'
import type {SystemdManager, ObservedUnit} from '../systemd/manager.js'
import {parseUnitName} from '../systemd/unit-name.js'
import {CrashTracker, defaultCrashPolicy, type CrashPolicyOptions} from './crash-policy.js'
import {unitSpecOf, type DesiredProcess, type DesiredState, type UnitTimings} from './desired.js'
import {planProcess, type Action} from './plan.js'
import {prepareWorkDir, removeWorkDir} from './work-dir.js'

export interface ReconcilerOptions {
  systemd: () => SystemdManager | undefined
  journal: Journal
  stateDir: StateDir
  logger: Logger
  events: EventLog
  timings: UnitTimings
  resyncMs: number
  crashPolicy?: CrashPolicyOptions
}

export class Reconciler {
  private desired: DesiredState = new Map()
  private readonly trackers = new Map<string, CrashTracker>()
  private readonly busy = new Set<string>()
  private pending = false
  private running?: Promise<void>
  private wakeTimer?: NodeJS.Timeout
  private resyncTimer?: NodeJS.Timeout
  private stopped = false

  constructor(private readonly options: ReconcilerOptions) {}

  start(): void {
    this.resyncTimer = setInterval(() => this.kick(), this.options.resyncMs)
    this.kick()
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearInterval(this.resyncTimer)
    clearTimeout(this.wakeTimer)
    await this.running
  }

  setDesired(desired: DesiredState): void {
    this.desired = desired
    this.kick()
  }

  getDesired(): DesiredState {
    return this.desired
  }

  tracker(process: string): CrashTracker {
    let tracker = this.trackers.get(process)
    if (!tracker) {
      tracker = new CrashTracker(this.options.crashPolicy ?? defaultCrashPolicy)
      this.trackers.set(process, tracker)
    }
    return tracker
  }

  /** Asks for a pass soon; passes never overlap and kicks during one fold into the next. */
  kick(): void {
    if (this.stopped) return
    this.pending = true
    if (this.running) return
    this.running = (async () => {
      while (this.pending && !this.stopped) {
        this.pending = false
        try {
          await this.pass()
        } catch (error) {
          this.options.logger.error({err: (error as Error).message}, 'reconcile pass failed; retrying on the next resync')
        }
      }
      this.running = undefined
    })()
  }

  private async pass(): Promise<void> {
    const systemd = this.options.systemd()
    if (!systemd) return
    const observed = await systemd.list()
    const now = Date.now()
    const byProcess = groupByProcess(observed)
    this.noticeCrashes(observed, now)
    let wakeAt = Number.POSITIVE_INFINITY
    for (const name of new Set([...this.desired.keys(), ...byProcess.keys()])) {
      if (this.busy.has(name)) continue
      const action = planProcess(this.desired.get(name), byProcess.get(name) ?? [], this.tracker(name), now)
      if (action.kind === 'wait') wakeAt = Math.min(wakeAt, action.until)
      if (action.kind === 'none' || action.kind === 'wait') continue
      this.busy.add(name)
      void this.perform(systemd, name, action)
        .catch((error: Error) => {
          this.options.logger.error({process: name, action: action.kind, err: error.message}, 'action failed')
          this.options.events.add('error', `${action.kind} failed: ${error.message}`, name)
        })
        .finally(() => {
          this.busy.delete(name)
          this.kick()
        })
    }
    this.forgetGone(byProcess)
    this.scheduleWake(wakeAt)
    if (this.busy.size === 0) await this.sweepWorkDirs(observed)
  }

  private async perform(systemd: SystemdManager, name: string, action: Exclude<Action, {kind: 'none' | 'wait'}>) {
    const {logger, events, timings} = this.options
    const tracker = this.tracker(name)
    switch (action.kind) {
      case 'start': {
        const unit = action.process.unit
        const workDir = action.process.spec.cwd ?? this.options.stateDir.instanceDir(unit)
        if (action.process.spec.cwd === undefined) {
          await prepareWorkDir(workDir, action.process.spec.uid, action.process.spec.gid)
        }
        const result = await systemd.start(unitSpecOf(action.process, workDir, timings))
        if (result === 'done') {
          logger.info({process: name, unit}, 'started')
          events.add('started', `started ${unit}`, name)
        } else {
          tracker.recordFailedStart(Date.now())
          const reason = (await this.options.journal.failureReason(unit)) ?? `start job ${result}`
          tracker.lastFailure = {at: Date.now(), unit, reason}
          logger.warn({process: name, unit, reason}, 'start failed')
          events.add('start-failed', `${unit} failed to start: ${reason}`, name)
        }
        return
      }
      case 'stop': {
        await Promise.all(action.units.map((unit) => this.stopUnit(systemd, name, unit)))
        const verb = action.reason === 'replaced' ? 'replaced' : 'stopped'
        logger.info({process: name, units: action.units, reason: action.reason}, verb)
        events.add(verb, `${verb} ${action.units.join(', ')}${action.reason === 'removed' ? ' (no longer in the target)' : ''}`, name)
        return
      }
      case 'hold': {
        const reason = (await this.options.journal.failureReason(action.unit)) ?? tracker.lastFailure?.reason
        if (reason) tracker.lastFailure = {at: Date.now(), unit: action.unit, reason}
        const retryAt = tracker.hold(Date.now())
        await this.stopUnit(systemd, name, action.unit)
        const seconds = ((retryAt - Date.now()) / 1000).toFixed(1)
        logger.warn({process: name, unit: action.unit, retryInS: Number(seconds), reason}, 'crash-looping; holding back')
        events.add('crash-looping', `${action.unit} is crash-looping${reason ? ` (${reason})` : ''}; next start in ${seconds}s`, name)
        this.scheduleWake(retryAt)
      }
    }
  }

  private async stopUnit(systemd: SystemdManager, process: string, unit: string): Promise<void> {
    await systemd.stop(unit, this.options.timings.stopTimeoutMs)
    this.tracker(process).forget(unit)
    const cwd = this.desired.get(process)?.spec.cwd
    if (cwd === undefined) await removeWorkDir(this.options.stateDir.instanceDir(unit))
  }

  /** Counts restarts systemd did on its own since the last look, and finds out why they happened. */
  private noticeCrashes(observed: ObservedUnit[], now: number): void {
    for (const unit of observed) {
      const runningSince = unit.activeState === 'active' && unit.execMainStartUs > 0 ? unit.execMainStartUs / 1000 : undefined
      const crashes = this.tracker(unit.process).observe(unit.name, unit.nRestarts, runningSince, now)
      if (crashes === 0) continue
      void this.options.journal.failureReason(unit.name).then((reason) => {
        const why = reason ?? 'exited'
        const tracker = this.tracker(unit.process)
        tracker.lastFailure = {at: Date.now(), unit: unit.name, reason: why}
        // While a loop is being held back, each crash is already told by its crash-looping event.
        if (tracker.view(Date.now()).looping) return
        this.options.events.add('exited', `${unit.name} exited and was restarted by systemd: ${why}`, unit.process)
      })
    }
  }

  private forgetGone(byProcess: Map<string, ObservedUnit[]>): void {
    for (const name of this.trackers.keys()) {
      if (!this.desired.has(name) && !byProcess.has(name) && !this.busy.has(name)) this.trackers.delete(name)
    }
  }

  private scheduleWake(at: number): void {
    if (!Number.isFinite(at)) return
    clearTimeout(this.wakeTimer)
    this.wakeTimer = setTimeout(() => this.kick(), Math.max(0, at - Date.now()) + 5)
  }

  /** Removes working directories left by instances that no longer exist (e.g. stopped while down). */
  private async sweepWorkDirs(observed: ObservedUnit[]): Promise<void> {
    const live = new Set(observed.map((unit) => this.options.stateDir.instanceDir(unit.name)))
    const entries = await readdir(this.options.stateDir.instancesDir).catch(() => [] as string[])
    for (const entry of entries) {
      const dir = this.options.stateDir.instanceDir(`${entry}.service`)
      const id = parseUnitName(`${entry}.service`)
      if (!id || live.has(dir) || this.busy.has(id.process)) continue
      await removeWorkDir(dir)
    }
  }
}

function groupByProcess(units: ObservedUnit[]): Map<string, ObservedUnit[]> {
  const groups = new Map<string, ObservedUnit[]>()
  for (const unit of units) groups.set(unit.process, [...(groups.get(unit.process) ?? []), unit])
  return groups
}
