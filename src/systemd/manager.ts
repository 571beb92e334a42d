/**
 * launcho's view of systemd: start and stop transient instance units (waiting for their jobs),
 * list what runs under `launcho-*`, and tell when any of it changes.
 */
import {EventEmitter} from 'node:events'
import {LaunchoError} from '../errors.js'
import {BusError, PROPERTIES_IFACE, SystemBus, type Signal} from './bus.js'
import {parseUnitName, unitNameFromPath, UNIT_PATTERN, UNIT_PREFIX} from './unit-name.js'
import {toDbusProperties, type DbusProperties, type UnitSpec} from './unit-spec.js'
import {Oneshots, type OneshotOptions, type OneshotResult} from './oneshot.js'
import {CHECK_UNIT_PATTERN} from './check-unit.js'

export interface ObservedUnit {
  name: string
  process: string
  version: string
  activeState: string
  subState: string
  /** PID in systemd's PID namespace; 0 when not running. */
  mainPid: number
  nRestarts: number
  /** `success`, `exit-code`, `signal`, `timeout`, … of the last run. */
  result: string
  /** CLD_EXITED (1), CLD_KILLED (2), CLD_DUMPED (3) of the last main process exit; 0 if none. */
  execMainCode: number
  execMainStatus: number
  /** Realtime µs since the epoch when the current main process started; 0 if never. */
  execMainStartUs: number
  /** Realtime µs when the unit last changed state. */
  stateChangeUs: number
  environment: string[]
}

export type JobResult = 'done' | 'canceled' | 'timeout' | 'failed' | 'dependency' | 'skipped'

const JOB_MEMORY_MS = 30_000

export class SystemdManager extends EventEmitter<{changed: [unit: string]; disconnected: [Error]}> {
  private readonly waiters = new Map<string, {done: (result: JobResult) => void; lost: (error: Error) => void}>()
  /** Jobs that finished before their caller started waiting (the reply and signal can race). */
  private readonly finishedJobs = new Map<string, JobResult>()

  private constructor(private readonly bus: SystemBus) {
    super()
    bus.on('signal', (signal) => this.onSignal(signal))
    bus.on('disconnected', (error) => {
      // A job's JobRemoved signal would arrive on this connection only: without this, whoever
      // waits for a job in flight would wait for its whole timeout (the start timeout + 5 s).
      for (const [job, waiter] of this.waiters) {
        this.waiters.delete(job)
        waiter.lost(new LaunchoError('systemd_failed', `lost the system bus while waiting for ${job}: ${error.message}`, {hint: 'launcho reconnects and looks at the unit again'}))
      }
      this.emit('disconnected', error)
    })
  }

  static async connect(): Promise<SystemdManager> {
    return new SystemdManager(await SystemBus.connect())
  }

  get isClosed(): boolean {
    return this.bus.isClosed
  }

  get address(): string {
    return this.bus.address
  }

  /** Starts a transient unit and resolves with the start job's result. */
  async start(spec: UnitSpec): Promise<JobResult> {
    const [job] = (await this.bus.call({
      member: 'StartTransientUnit',
      signature: 'ssa(sv)a(sa(sv))',
      body: [spec.name, 'fail', toDbusProperties(spec), []],
    })) as [string]
    return this.waitForJob(job, spec.startTimeoutMs + 5_000)
  }

  /** Stops a unit and waits until it is down; a unit that no longer exists counts as stopped. */
  async stop(name: string, timeoutMs: number): Promise<JobResult> {
    let job: string
    try {
      ;[job] = (await this.bus.call({member: 'StopUnit', signature: 'ss', body: [name, 'replace']})) as [string]
    } catch (error) {
      if (error instanceof BusError && /NoSuchUnit|LoadFailed/.test(error.errorName)) return 'done'
      throw error
    }
    return this.waitForJob(job, timeoutMs + 5_000)
  }

  /** Restarts a unit in place (same name, fresh process) and waits for the job. */
  async restart(name: string, timeoutMs: number): Promise<JobResult> {
    const [job] = (await this.bus.call({member: 'RestartUnit', signature: 'ss', body: [name, 'replace']})) as [string]
    return this.waitForJob(job, timeoutMs + 5_000)
  }

  /** Sends a signal to a unit's processes (whom: main, control or all). */
  async kill(name: string, signal: number, whom: 'main' | 'all' = 'main'): Promise<void> {
    await this.bus.call({member: 'KillUnit', signature: 'ssi', body: [name, whom, signal]})
  }

  /** Every loaded `launcho-*` instance unit with its runtime state. */
  async list(): Promise<ObservedUnit[]> {
    const [units] = (await this.bus.call({
      member: 'ListUnitsByPatterns',
      signature: 'asas',
      body: [[], [UNIT_PATTERN]],
    })) as [Array<[string, string, string, string, string, string, string, number, string, string]>]
    const observed = await Promise.all(
      units.map(async ([name, , , activeState, subState, , path]) => {
        const id = parseUnitName(name)
        if (!id) return undefined
        try {
          return {...id, ...(await this.serviceState(path)), name, activeState, subState}
        } catch (error) {
          // The unit was collected between the listing and this read.
          if (error instanceof BusError) return undefined
          throw error
        }
      }),
    )
    return observed.filter((unit): unit is ObservedUnit => unit !== undefined)
  }

  /** Runs a transient oneshot unit (an exec health check) to its end: see oneshot.ts. */
  runOneshot(name: string, properties: DbusProperties, options: OneshotOptions): Promise<OneshotResult> {
    this.oneshots ??= new Oneshots(this.bus, CHECK_UNIT_PATTERN)
    return this.oneshots.run(name, properties, options)
  }
  private oneshots?: Oneshots

  close(): void {
    this.bus.close()
  }

  private async serviceState(path: string) {
    const [props] = (await this.bus.call({
      path,
      iface: PROPERTIES_IFACE,
      member: 'GetAll',
      signature: 's',
      body: ['org.freedesktop.systemd1.Service'],
    })) as [Record<string, {value: unknown}>]
    const number = (key: string): number => Number(props[key]?.value ?? 0)
    return {
      mainPid: number('MainPID'),
      nRestarts: number('NRestarts'),
      result: String(props.Result?.value ?? ''),
      execMainCode: number('ExecMainCode'),
      execMainStatus: number('ExecMainStatus'),
      execMainStartUs: number('ExecMainStartTimestamp'),
      stateChangeUs: number('StateChangeTimestamp'),
      environment: (props.Environment?.value as string[] | undefined) ?? [],
    }
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

  private onSignal(signal: Signal): void {
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
      if (unit?.startsWith(UNIT_PREFIX)) this.emit('changed', unit)
    }
  }
}
