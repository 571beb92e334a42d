/**
 * launcho's view of systemd: start and stop transient instance units (waiting for their jobs, at
 * most so many queued at once: job-slots.ts), list what runs under `launcho-*` (unit-lister.ts),
 * and tell when any of it changes.
 */
import {EventEmitter} from 'node:events'
import {LaunchoError} from '../errors.js'
import {BusError, isGone, isUnitExists, SERVICE_IFACE, SystemBus, type Bus, type CallOptions, type Signal} from './bus.js'
import {DEFAULT_JOB_SLOTS, JobSlots, type JobSlotOptions} from './job-slots.js'
import {UnitLister, type ListOptions, type UnitListing} from './unit-lister.js'
import {UsageReader, type UnitUsage} from './usage-reader.js'
import {unitNameFromPath, UNIT_PREFIX} from './unit-name.js'
import {startJobMs, startPropertiesOf, type DbusProperties, type UnitSpec} from './unit-spec.js'
import {readStartRuns, type StartRuns} from './exec-runs.js'
import {Oneshots, type OneshotOptions, type OneshotResult} from './oneshot.js'
import {CHECK_UNIT_PATTERN} from './check-unit.js'
import type {CommandDropIns} from './command-drop-ins.js'
import {isBeforeRolloutUnit, RUN_UNIT_PATTERN} from './run-unit.js'

export type {ServiceState} from './service-cache.js'
export type {ListOptions, ObservedUnit, UnitListing, UnknownUnit} from './unit-lister.js'
export type {UnitUsage} from './usage-reader.js'

export type JobResult = 'done' | 'canceled' | 'timeout' | 'failed' | 'dependency' | 'skipped'
/** What start() found: a job result, or `exists` when systemd already has a unit of that name. */
export type StartResult = JobResult | 'exists'

const JOB_MEMORY_MS = 30_000

/**
 * How a stop went, as the unit's Service properties told it while it stopped (systemd signals them
 * before the stop job's end, and collects the unit right after, so they cannot be read later).
 */
export interface StopOutcome {
  job: JobResult
  /** The service's Result when the stop began and when it ended ('success', 'exit-code', 'timeout', …). */
  resultBefore?: string
  result?: string
  /** A control process ran during the stop: the instance's beforeStop (ExecStop=). */
  controlRan: boolean
  /** How its main process ended: CLD_* code (1 exited, 2 killed, 3 dumped) and status. */
  execMainCode?: number
  execMainStatus?: number
}

type StopWatch = Omit<StopOutcome, 'job'>

export interface ManagerOptions {
  /** Journal fields added to every unit started (LAUNCHO_SERVER: which server owns it). */
  stamp?: Record<string, string>
  /** Where each started unit's commands are kept for a daemon-reload (command-drop-ins.ts). */
  dropIns?: CommandDropIns
}

export class SystemdManager extends EventEmitter<{
  changed: [unit: string, change?: UnitChange]
  disconnected: [Error]
  dropInFailed: [unit: string, error: Error]
}> {
  private readonly waiters = new Map<string, {done: (result: JobResult) => void; lost: (error: Error) => void}>()
  /** Jobs that finished before their caller started waiting (the reply and signal can race). */
  private readonly finishedJobs = new Map<string, JobResult>()
  private readonly jobs: JobSlots
  private readonly lister: UnitLister
  /** Units being stopped, with what their signals told meanwhile. */
  private readonly stopping = new Map<string, StopWatch>()

  private readonly stamp: Record<string, string>
  private readonly dropIns?: CommandDropIns

  constructor(
    private readonly bus: Bus,
    jobSlots: JobSlotOptions = DEFAULT_JOB_SLOTS,
    options: ManagerOptions = {},
  ) {
    super()
    this.stamp = options.stamp ?? {}
    this.dropIns = options.dropIns
    this.jobs = new JobSlots(jobSlots)
    this.lister = new UnitLister(bus)
    bus.on('signal', (signal) => this.onSignal(signal))
    bus.on('disconnected', (error) => {
      // A job's JobRemoved signal would arrive on this connection only: without this, whoever
      // waits for a job in flight would wait for its whole timeout (the start timeout + 5 s).
      this.jobs.failWaiting(new LaunchoError('systemd_failed', `lost the system bus before the job could be queued: ${error.message}`, {hint: 'launcho reconnects and looks at the unit again'}))
      for (const [job, waiter] of this.waiters) {
        this.waiters.delete(job)
        waiter.lost(new LaunchoError('systemd_failed', `lost the system bus while waiting for ${job}: ${error.message}`, {hint: 'launcho reconnects and looks at the unit again'}))
      }
      this.emit('disconnected', error)
    })
  }

  static async connect(options: ManagerOptions = {}): Promise<SystemdManager> {
    return new SystemdManager(await SystemBus.connect(), DEFAULT_JOB_SLOTS, options)
  }

  get isClosed(): boolean {
    return this.bus.isClosed
  }

  get address(): string {
    return this.bus.address
  }

  /**
   * Starts a transient unit and resolves with the start job's result, or `exists` when systemd
   * already has the unit (it runs, or is on its way: look at the next listing, do not start again).
   */
  async start(spec: UnitSpec): Promise<StartResult> {
    const properties = startPropertiesOf(spec, this.stamp)
    try {
      return await this.runJob(
        {member: 'StartTransientUnit', signature: 'ssa(sv)a(sa(sv))', body: [spec.name, 'fail', properties, []]},
        startJobMs(spec) + 5_000,
        // The unit exists from here on, whatever its start job does (Restart= retries a failed one).
        () => {
          this.lister.started(spec.name, environmentOf(properties))
          return this.keepCommands(spec.name, properties)
        },
      )
    } catch (error) {
      if (!isUnitExists(error)) throw error
      return 'exists'
    }
  }

  /** Stops a unit and waits until it is down; a unit that no longer exists counts as stopped. */
  async stop(name: string, timeoutMs: number): Promise<StopOutcome> {
    const watch: StopWatch = {controlRan: false}
    this.stopping.set(name, watch)
    try {
      const job = await this.runJob({member: 'StopUnit', signature: 'ss', body: [name, 'replace']}, timeoutMs + 5_000)
      return {job, ...watch}
    } catch (error) {
      if (isGone(error) || (error instanceof BusError && /LoadFailed/.test(error.errorName))) return {job: 'done', controlRan: false}
      throw error
    } finally {
      if (this.stopping.get(name) === watch) this.stopping.delete(name)
    }
  }

  /** Restarts a unit in place (same name, fresh process) and waits for the job. */
  async restart(name: string, timeoutMs: number): Promise<JobResult> {
    return this.runJob({member: 'RestartUnit', signature: 'ss', body: [name, 'replace']}, timeoutMs + 5_000)
  }

  private async keepCommands(unit: string, properties: DbusProperties): Promise<void> {
    await this.dropIns?.write(unit, properties).catch((error: Error) => this.emit('dropInFailed', unit, error))
  }

  /** Queues a job once a job slot is free (job-slots.ts), runs `queued` once systemd took it, and waits for it to end. */
  private async runJob(call: CallOptions, timeoutMs: number, queued?: () => Promise<void>): Promise<JobResult> {
    const slot = await this.jobs.acquire()
    try {
      const [job] = (await this.bus.call(call)) as [string]
      await queued?.()
      return await this.waitForJob(job, timeoutMs)
    } finally {
      slot.release()
    }
  }

  /** Sends a signal to a unit's processes (whom: main, control or all). */
  async kill(name: string, signal: number, whom: 'main' | 'all' = 'main'): Promise<void> {
    await this.bus.call({member: 'KillUnit', signature: 'ssi', body: [name, whom, signal]})
  }

  /** How the unit's last start went past its exec: its Result and how each ExecStartPost command ended. */
  startRuns(unit: string): Promise<StartRuns> {
    return readStartRuns(this.bus, unit)
  }

  /** Every loaded `launcho-*` instance unit with its runtime state. */
  list(options: ListOptions = {}): Promise<UnitListing> {
    return this.lister.list(options)
  }

  /** Memory, CPU time and tasks of each unit as systemd accounts them (usage-reader.ts). */
  usage(units: readonly string[]): Promise<Map<string, UnitUsage>> {
    this.usageReader ??= new UsageReader(this.bus)
    return this.usageReader.read(units)
  }
  private usageReader?: UsageReader

  /** Property reads sent so far (a listing's cost, for benchmarks). */
  get reads(): number {
    return this.lister.reads
  }

  /** Runs a transient oneshot unit (an exec health check) to its end: see oneshot.ts. */
  runOneshot(name: string, properties: DbusProperties, options: OneshotOptions): Promise<OneshotResult> {
    this.oneshots ??= new Oneshots(this.bus, CHECK_UNIT_PATTERN)
    return this.oneshots.run(name, properties, options)
  }
  private oneshots?: Oneshots

  /** Runs a one-off run's unit (`launcho run`, a hook: run-unit.ts) to its end, like a check. */
  runToEnd(name: string, properties: DbusProperties, options: OneshotOptions): Promise<OneshotResult> {
    // A failed hook's unit is left for its process's reconcile to read (reconcile/before-rollout.ts).
    this.runs ??= new Oneshots(this.bus, RUN_UNIT_PATTERN, (unit) => !isBeforeRolloutUnit(unit))
    return this.runs.run(name, properties, options)
  }
  private runs?: Oneshots

  /** The stamp (LAUNCHO_SERVER) every unit this manager starts carries. */
  get unitStamp(): Record<string, string> {
    return this.stamp
  }

  /** Names and active states of the loaded units matching `pattern`. */
  async unitsMatching(pattern: string): Promise<Array<{name: string; activeState: string}>> {
    const [rows] = (await this.bus.call({member: 'ListUnitsByPatterns', signature: 'asas', body: [[], [pattern]]})) as [Array<[string, string, string, string]>]
    return rows.map(([name, , , activeState]) => ({name, activeState}))
  }

  /** Stops a unit without waiting for its job (a run whose caller went away). */
  async stopNow(name: string): Promise<void> {
    await this.bus.call({member: 'StopUnit', signature: 'ss', body: [name, 'replace']}).catch((error: unknown) => {
      if (!isGone(error) && !(error instanceof BusError && /LoadFailed|NoSuchUnit/.test(error.errorName))) throw error
    })
  }

  /** Forgets a failed unit, so that systemd collects it. */
  async resetFailed(name: string): Promise<void> {
    await this.bus.call({member: 'ResetFailedUnit', signature: 's', body: [name]}).catch(() => undefined)
  }

  close(): void {
    this.jobs.failWaiting(new LaunchoError('systemd_failed', 'the system bus connection is closed'))
    this.bus.close()
  }

  private waitForJob(job: string, timeoutMs: number): Promise<JobResult> {
    const finished = this.finishedJobs.get(job)
    if (finished) {
      this.finishedJobs.delete(job)
      return Promise.resolve(finished)
    }
    if (this.bus.isClosed) {
      return Promise.reject(new LaunchoError('systemd_failed', `lost the system bus while waiting for ${job}`, {hint: 'launcho reconnects and looks at the unit again'}))
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(job)
        resolve('timeout')
      }, timeoutMs)
      this.waiters.set(job, {
        done: (result) => {
          clearTimeout(timer)
          resolve(result)
        },
        lost: (error) => {
          clearTimeout(timer)
          reject(error)
        },
      })
    })
  }

  private noteStopping(signal: Signal): void {
    const unit = unitNameFromPath(signal.path)
    const watch = unit === undefined ? undefined : this.stopping.get(unit)
    if (!watch) return
    const values = signal.body[1] as Record<string, {value: unknown} | undefined>
    const result = values.Result?.value
    if (typeof result === 'string') {
      watch.resultBefore ??= result
      watch.result = result
    }
    if (Number(values.ControlPID?.value ?? 0) !== 0) watch.controlRan = true
    if (values.ExecMainCode !== undefined) watch.execMainCode = Number(values.ExecMainCode.value)
    if (values.ExecMainStatus !== undefined) watch.execMainStatus = Number(values.ExecMainStatus.value)
  }

  private onSignal(signal: Signal): void {
    this.lister.onSignal(signal)
    if (signal.member === 'PropertiesChanged' && signal.body[0] === SERVICE_IFACE && this.stopping.size > 0) this.noteStopping(signal)
    if (signal.member === 'JobRemoved') {
      const [, job, unit, result] = signal.body as [number, string, string, JobResult]
      const waiter = this.waiters.get(job)
      if (waiter) {
        this.waiters.delete(job)
        waiter.done(result)
      } else if (unit.startsWith(UNIT_PREFIX)) {
        this.finishedJobs.set(job, result)
        setTimeout(() => this.finishedJobs.delete(job), JOB_MEMORY_MS).unref()
      }
      if (unit.startsWith(UNIT_PREFIX)) this.emit('changed', unit)
      return
    }
    if (signal.member === 'UnitRemoved' || signal.member === 'UnitNew') {
      const unit = signal.body[0] as string
      if (unit.startsWith(UNIT_PREFIX)) this.emit('changed', unit)
      return
    }
    if (signal.member === 'PropertiesChanged') {
      const unit = unitNameFromPath(signal.path)
      if (unit?.startsWith(UNIT_PREFIX)) this.emit('changed', unit, changeOf(signal))
    }
  }
}

/** What a unit's change says about its main process: it stopped running (died, or is being stopped). */
export interface UnitChange {
  /** The unit left `active` (e.g. `activating` for systemd's auto-restart, `deactivating`, `failed`). */
  activeState?: string
  /** The service's main process is gone (0). */
  mainPid?: number
  /** How its last main process ended, as systemd reported it then (a restart overwrites it); exitUs: when (realtime µs, 0 if not told). */
  exit?: {code: number; status: number; result: string; exitUs: number}
}

function changeOf(signal: Signal): UnitChange {
  const [iface, changed] = signal.body as [string, Record<string, {value: unknown} | undefined>]
  if (iface === 'org.freedesktop.systemd1.Unit' && changed.ActiveState !== undefined) return {activeState: String(changed.ActiveState.value)}
  if (iface !== SERVICE_IFACE || changed.MainPID === undefined) return {}
  const mainPid = Number(changed.MainPID.value)
  const code = Number(changed.ExecMainCode?.value ?? 0)
  if (mainPid !== 0 || code === 0) return {mainPid}
  return {
    mainPid,
    exit: {code, status: Number(changed.ExecMainStatus?.value ?? 0), result: String(changed.Result?.value ?? ''), exitUs: Number(changed.ExecMainExitTimestamp?.value ?? 0)},
  }
}

/** The Environment= a unit is started with, as systemd will report it. */
function environmentOf(properties: DbusProperties): string[] {
  const variant = properties.find(([name]) => name === 'Environment')?.[1]
  return (variant?.value as string[] | undefined) ?? []
}
