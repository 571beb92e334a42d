/**
 * Runs transient oneshot units to their end over one bus connection and says how each ended:
 * JobRemoved `done` is success; otherwise the service's Result and main exit status are read
 * while the failed unit is still loaded, and then it is reset so that it is collected. A run
 * cancelled by its caller stops its unit. Failed units a previous connection (or server) left
 * behind are reset once per connection.
 */
import {BusError, PROPERTIES_IFACE, SERVICE_IFACE, type Bus} from './bus.js'
import type {JobResult} from './manager.js'
import type {DbusProperties} from './unit-spec.js'

export interface OneshotResult {
  /** How the start job ended; `lost` when no JobRemoved came within the caller's bound. */
  job: JobResult | 'lost'
  /** When not `done`: the service's Result (`exit-code`, `signal`, `timeout`, `resources`, …). */
  result?: string
  /** CLD_EXITED (1), CLD_KILLED (2), CLD_DUMPED (3). */
  execMainCode?: number
  /** The exit status, or the signal number. */
  execMainStatus?: number
}

export interface OneshotOptions {
  /** How long to wait for the start job at most (the unit's own start timeout plus its stop); Infinity: as long as it runs. */
  waitMs: number
  signal?: AbortSignal
}

interface Waiter {
  removed(job: string, result: JobResult): void
  lost(error: Error): void
}

/** After the wait bound, how long a stop of a run that never reported may take. */
const STOP_WAIT_MS = 5_000
/** How long a stopped run's stop job may take before its unit is read and reset anyway (past systemd's own stop timeout). */
const STOPPED_WAIT_MS = 120_000

export class Oneshots {
  private readonly waiters = new Map<string, Waiter>()
  private swept = false

  constructor(
    private readonly bus: Bus,
    private readonly pattern: string,
    /** Which failed leftovers of `pattern` to reset (default: all). */
    private readonly resettable: (unit: string) => boolean = () => true,
  ) {
    bus.on('signal', (signal) => {
      if (signal.member !== 'JobRemoved') return
      const [, job, unit, result] = signal.body as [number, string, string, JobResult]
      this.waiters.get(unit)?.removed(job, result)
    })
    bus.on('disconnected', (error) => {
      for (const waiter of this.waiters.values()) waiter.lost(error)
    })
  }

  /** Starts the unit `name` with `properties` and resolves once its start job is over. */
  async run(name: string, properties: DbusProperties, options: OneshotOptions): Promise<OneshotResult> {
    if (options.signal?.aborted) return {job: 'canceled'}
    if (!this.swept) {
      this.swept = true
      void this.resetLeftovers().catch(() => undefined)
    }
    let job: string | undefined
    // JobRemoved may arrive before the reply that names its job: keep every one that came for this unit.
    const removedJobs = new Map<string, JobResult>()
    // A run we stop: its start job is cancelled at once, but the unit fails only when its stop job
    // has ended; a reset before that (under load, a slow-dying command) would leave it failed.
    let stopJob: string | undefined
    let stopRequested = false
    let stopEnded: (() => void) | undefined
    const stopped = new Promise<void>((resolve) => (stopEnded = resolve))
    let settle: ((result: JobResult | 'lost') => void) | undefined
    let fail: ((error: Error) => void) | undefined
    const ended = new Promise<JobResult | 'lost'>((resolve, reject) => {
      settle = resolve
      fail = reject
    })
    // Lost before anyone awaits it (the bus went away during the start call): not unhandled.
    ended.catch(() => undefined)
    this.waiters.set(name, {
      removed: (id, result) => {
        removedJobs.set(id, result)
        if (job !== undefined && id === job) settle!(result)
        if (stopJob !== undefined && id === stopJob) stopEnded!()
      },
      lost: (error) => {
        stopEnded!()
        fail!(error)
      },
    })
    const stop = () => {
      if (stopRequested) return
      stopRequested = true
      this.call('StopUnit', 'ss', [name, 'replace']).then(
        ([id]) => {
          stopJob = id as string
          if (removedJobs.has(stopJob)) stopEnded!()
        },
        () => stopEnded!(), // nothing to stop (already gone)
      )
    }
    options.signal?.addEventListener('abort', stop, {once: true})
    const timer = Number.isFinite(options.waitMs)
      ? setTimeout(() => {
          stop()
          setTimeout(() => settle!('lost'), STOP_WAIT_MS).unref()
        }, options.waitMs)
      : undefined
    try {
      ;[job] = (await this.call('StartTransientUnit', 'ssa(sv)a(sa(sv))', [name, 'fail', properties, []])) as [string]
      if (removedJobs.has(job)) settle!(removedJobs.get(job)!)
      if (options.signal?.aborted) stop()
      const outcome = await ended
      if (outcome === 'done') return {job: outcome}
      if (stopRequested && outcome === 'canceled') {
        let bound: NodeJS.Timeout | undefined
        await Promise.race([stopped, new Promise((resolve) => (bound = setTimeout(resolve, STOPPED_WAIT_MS)))])
        clearTimeout(bound)
      }
      return {job: outcome, ...(await this.howItEnded(name))}
    } finally {
      clearTimeout(timer)
      options.signal?.removeEventListener('abort', stop)
      this.waiters.delete(name)
    }
  }

  /** The failed unit's Result and exit status, then a reset so that systemd collects it. */
  private async howItEnded(name: string): Promise<Omit<OneshotResult, 'job'>> {
    try {
      const [path] = (await this.call('GetUnit', 's', [name])) as [string]
      const [props] = (await this.bus.call({path, iface: PROPERTIES_IFACE, member: 'GetAll', signature: 's', body: [SERVICE_IFACE]})) as [
        Record<string, {value: unknown}>,
      ]
      return {
        result: String(props.Result?.value ?? ''),
        execMainCode: Number(props.ExecMainCode?.value ?? 0),
        execMainStatus: Number(props.ExecMainStatus?.value ?? 0),
      }
    } catch (error) {
      if (error instanceof BusError) return {}
      throw error
    } finally {
      await this.call('ResetFailedUnit', 's', [name]).catch(() => undefined)
    }
  }

  /** Resets failed units of `pattern` that no run of this connection waits for (a crash left them). */
  private async resetLeftovers(): Promise<void> {
    const [units] = (await this.call('ListUnitsByPatterns', 'asas', [['failed'], [this.pattern]])) as [Array<[string, ...unknown[]]>]
    for (const [name] of units) {
      if (!this.waiters.has(name) && this.resettable(name)) await this.call('ResetFailedUnit', 's', [name]).catch(() => undefined)
    }
  }

  private call(member: string, signature: string, body: unknown[]): Promise<unknown[]> {
    return this.bus.call({member, signature, body})
  }
}
