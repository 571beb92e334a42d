/**
 * The level-triggered loop: compares the desired state with the `launcho-*` units systemd runs and
 * acts on the difference, through the rollout state machine (src/rollout/rollout.ts). It runs on
 * every systemd signal about a launcho unit, every health change, and a periodic resync. Work is
 * per process: one process's slow `before` or failing start never holds up another's. An action
 * that throws is logged and that process's next action waits for a growing delay; a newer desired
 * state cancels a start still in flight for a version no longer desired.
 */
import {readdir} from 'node:fs/promises'
import {join} from 'node:path'
import type {Logger} from 'pino'
import type {EventLog} from '../events.js'
import type {Balancer, ServiceTable} from '../lb/balancer.js'
import {PortAllocator, type PortRange} from '../lb/ports.js'
import {HealthMonitor} from '../health/monitor.js'
import {healthCheckFor, resolvePolicy} from '../health/policy.js'
import {createProber} from '../health/prober.js'
import type {ExecRunner} from '../health/exec-runner.js'
import {systemdExecRunner} from '../health/systemd-exec-runner.js'
import type {Journal} from '../logs/journal.js'
import {InstanceRegistry, type HealthFacts} from '../rollout/instances.js'
import {planRollout, type Health} from '../rollout/rollout.js'
import type {ResourceStore} from '../store/resource-store.js'
import type {StateDir} from '../store/state-dir.js'
import type {ServiceSpec} from '../target/load.js'
import type {SystemdManager, ObservedUnit, UnitListing} from '../systemd/manager.js'
import {parseUnitName} from '../systemd/unit-name.js'
import {perform, watchHealth} from './actions.js'
import type {FailedRollout, ReconcilerContext} from './context.js'
import {CrashTracker, defaultCrashPolicy, type CrashPolicyOptions} from './crash-policy.js'
import {checkContextOf, type DesiredProcess, type DesiredState, type UnitTimings} from './desired.js'
import {RetryBackoff} from './retry-backoff.js'
import {removeWorkDir} from './work-dir.js'
import {LeftoverSweep, removeEnvironmentFile} from './leftovers.js'
import {noticeCrashes} from './crash-watch.js'

export interface ReconcilerOptions {
  systemd: () => SystemdManager | undefined
  journal: Journal
  stateDir: StateDir
  logger: Logger
  events: EventLog
  timings: UnitTimings
  resyncMs: number
  portRange: PortRange
  drainTimeoutMs: number
  balancer?: Balancer
  resources?: ResourceStore
  crashPolicy?: CrashPolicyOptions
  /** Runs exec health checks; default: in systemd, beside their instance. */
  execRunner?: ExecRunner
}

export class Reconciler implements ReconcilerContext {
  desired: DesiredState = new Map()
  /** False until a desired state was set: with none (e.g. an unreadable stored target) nothing is touched. */
  private desiredKnown = false
  private services: ServiceSpec[] = []
  readonly failedRollouts = new Map<string, FailedRollout>()
  readonly registry: InstanceRegistry
  readonly monitor: HealthMonitor
  private readonly trackers = new Map<string, CrashTracker>()
  private readonly busy = new Set<string>()
  private readonly sweep: LeftoverSweep
  /** Per process, the sequence number of its last action's end (see `pass`). */
  private readonly actionEnded = new Map<string, number>()
  private actionsEnded = 0
  /** Processes whose last action threw, and when their next may run. */
  private readonly retries = new Map<string, RetryBackoff>()
  private balancerRetry?: RetryBackoff
  /** Per process, the unit whose start (or restart) job is in flight. */
  private readonly startJobs = new Map<string, string>()
  private readonly cancellations = new Map<string, Promise<void>>()
  private pending = false
  private running?: Promise<void>
  private wakeTimer?: NodeJS.Timeout
  private wakeTime = Number.POSITIVE_INFINITY
  private resyncTimer?: NodeJS.Timeout
  /** The next pass is the periodic resync (the listing re-reads some units as a safety net). */
  private resyncDue = true
  /** Back-off of the extra pass asked for while some units cannot be read. */
  private unknownRetryMs = 0
  private stopped = false
  private balancerChain: Promise<void> = Promise.resolve()
  private lastTables = ''

  constructor(private readonly options: ReconcilerOptions) {
    this.registry = new InstanceRegistry(new PortAllocator(options.portRange), (unit, active) => this.healthOf(unit, active))
    const execRunner = options.execRunner ?? systemdExecRunner({systemd: options.systemd, outputDir: join(options.stateDir.root, 'checks')})
    this.monitor = new HealthMonitor(
      {onHealthChange: (unit, state, last) => this.onHealthChange(unit, state, last?.detail)},
      {probe: createProber(execRunner)},
    )
    this.sweep = new LeftoverSweep(options.logger)
  }

  get logger(): Logger {
    return this.options.logger
  }
  get events(): EventLog {
    return this.options.events
  }
  get journal(): Journal {
    return this.options.journal
  }
  get stateDir(): StateDir {
    return this.options.stateDir
  }
  get resources(): ResourceStore | undefined {
    return this.options.resources
  }
  get timings(): UnitTimings {
    return this.options.timings
  }
  get balancer(): Balancer | undefined {
    return this.options.balancer
  }

  start(): void {
    this.resyncTimer = setInterval(() => {
      this.resyncDue = true
      this.kick()
    }, this.options.resyncMs)
    this.kick()
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearInterval(this.resyncTimer)
    clearTimeout(this.wakeTimer)
    this.monitor.close()
    await this.running
    await this.balancerChain
  }

  setDesired(desired: DesiredState, services: ServiceSpec[] = this.services): void {
    const previous = this.desired
    this.desired = desired
    this.services = services
    this.desiredKnown = true
    for (const [name, failed] of this.failedRollouts) {
      if (desired.get(name)?.version !== failed.version) this.failedRollouts.delete(name)
    }
    for (const [name, process] of desired) {
      if (previous.get(name)?.version === process.version) continue
      this.trackers.get(name)?.versionChanged()
      this.retries.delete(name)
    }
    for (const [name, unit] of this.startJobs) {
      if (desired.get(name)?.unit !== unit) this.cancelStart(name, unit)
    }
    this.kick()
  }

  beginStartJob(process: string, unit: string): () => void {
    this.startJobs.set(process, unit)
    return () => {
      if (this.startJobs.get(process) === unit) this.startJobs.delete(process)
    }
  }

  cancellation(unit: string): Promise<void> | undefined {
    return this.cancellations.get(unit)
  }

  /**
   * Stops a unit whose start job is still running (a `before` that hangs, a slow start) for a
   * version no longer desired: StopUnit replaces the pending start job, whose waiter then gets
   * `canceled`, so the newer version starts now instead of after the start timeout.
   */
  private cancelStart(process: string, unit: string): void {
    const systemd = this.options.systemd()
    if (!systemd || this.cancellations.has(unit)) return
    this.logger.info({process, unit}, 'canceling the start of a superseded version')
    const stop = systemd
      .stop(unit, this.options.timings.stopTimeoutMs)
      .then(
        () => undefined,
        (error: Error) => this.logger.warn({process, unit, err: error.message}, 'could not cancel the start of a superseded version'),
      )
      .finally(() => this.cancellations.delete(unit))
    this.cancellations.set(unit, stop)
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

  healthCheckOf(process: DesiredProcess, ports: Record<string, number>) {
    const check = healthCheckFor(process.spec.health, ports, checkContextOf(process, this.stateDir))
    return check ? {check, policy: resolvePolicy(process.spec.health)} : undefined
  }

  /** Asks for a pass soon; passes never overlap and kicks during one fold into the next. */
  kick(): void {
    if (this.stopped) return
    this.pending = true
    if (this.running) return
    this.running = (async () => {
      while (this.pending && !this.stopped) {
        // Signals come in bursts (one start alone sends several): let a burst land, then look once.
        await new Promise((resolve) => setTimeout(resolve, KICK_SETTLE_MS))
        this.pending = false
        try {
          await this.pass()
        } catch (error) {
          this.logger.error({err: (error as Error).message}, 'reconcile pass failed; retrying on the next resync')
        }
      }
      this.running = undefined
    })()
  }

  wakeAt(at: number): void {
    if (!Number.isFinite(at) || at >= this.wakeTime) return
    clearTimeout(this.wakeTimer)
    this.wakeTime = at
    this.wakeTimer = setTimeout(() => {
      this.wakeTime = Number.POSITIVE_INFINITY
      this.kick()
    }, Math.max(0, at - Date.now()) + 5)
  }

  syncBalancer(): Promise<void> {
    const balancer = this.options.balancer
    if (!balancer) return Promise.resolve()
    const run = async () => {
      const tables = this.tables()
      const key = JSON.stringify(tables)
      if (key === this.lastTables) return
      const now = Date.now()
      if (this.balancerRetry && !this.balancerRetry.ready(now)) return this.wakeAt(this.balancerRetry.retryAt)
      try {
        await balancer.sync(tables)
        this.lastTables = key
        this.balancerRetry = undefined
      } catch (error) {
        this.balancerRetry ??= this.backoff()
        const retryAt = this.balancerRetry.failed(Date.now())
        this.logger.error({err: (error as Error).message, retryInS: Number(((retryAt - Date.now()) / 1000).toFixed(1))}, 'load balancer sync failed; retrying after a delay')
        this.wakeAt(retryAt)
      }
    }
    this.balancerChain = this.balancerChain.then(run, run)
    return this.balancerChain
  }

  private backoff(): RetryBackoff {
    const policy = this.options.crashPolicy ?? defaultCrashPolicy
    return new RetryBackoff(policy.baseDelayMs, policy.maxDelayMs)
  }

  tables(): ServiceTable[] {
    return this.registry.tables(this.services, (host) => (host === 'localhost' ? '127.0.0.1' : host))
  }

  private async pass(): Promise<void> {
    const systemd = this.options.systemd()
    if (!systemd || !this.desiredKnown) return
    const resync = this.resyncDue
    this.resyncDue = false
    // An action that ends while the listing is under way may have changed what it lists (a start
    // done after the listing began is not in it): its process waits for the next pass.
    const listedAfter = this.actionsEnded
    const listing = await systemd.list({resync})
    const observed = listing.units
    const now = Date.now()
    const unknown = this.unknownProcesses(listing, now)
    noticeCrashes(this, observed, now)
    const newer = (name: string) => (this.actionEnded.get(name) ?? 0) > listedAfter
    const keep = [...listing.unknown.map((unit) => unit.name), ...this.registry.all().filter((r) => newer(r.process)).map((r) => r.unit)]
    for (const record of this.registry.sync(observed, this.desired, now, keep)) watchHealth(this, record.unit)
    await this.countDrainingConnections()
    const byProcess = groupByProcess(observed)
    const byName = new Map(observed.map((unit) => [unit.name, unit]))
    for (const name of new Set([...this.desired.keys(), ...byProcess.keys()])) {
      if (this.busy.has(name) || unknown.has(name) || newer(name)) continue
      const wanted = this.desired.get(name)
      // Running under systemd (also after systemd's own retry of a failed start): the start worked.
      if (wanted && byName.get(wanted.unit)?.activeState === 'active') this.trackers.get(name)?.startSucceeded()
      const retry = this.retries.get(name)
      if (retry && !retry.ready(now)) {
        this.wakeAt(retry.retryAt)
        continue
      }
      const action = planRollout({
        desired: wanted,
        units: byProcess.get(name) ?? [],
        facts: (unit) => this.registry.facts(byName.get(unit)!),
        crash: this.tracker(name),
        failedVersion: this.failedRollouts.get(name)?.version,
        now,
        policy: {drainTimeoutMs: this.options.drainTimeoutMs},
      })
      if (action.kind === 'wait') this.wakeAt(action.until)
      if (action.kind === 'none' || action.kind === 'wait') continue
      this.busy.add(name)
      void perform(this, systemd, name, action)
        .then(
          () => this.retries.delete(name),
          (error: Error) => {
            const retry = this.retries.get(name) ?? this.backoff()
            this.retries.set(name, retry)
            const retryAt = retry.failed(Date.now())
            this.logger.error({process: name, action: action.kind, err: error.message, retryInS: Number(((retryAt - Date.now()) / 1000).toFixed(1))}, 'action failed; retrying after a delay')
            this.events.addOrFold('error', `${action.kind} failed: ${error.message}; retrying with a growing delay`, name)
            this.wakeAt(retryAt)
          },
        )
        .finally(() => {
          this.busy.delete(name)
          this.actionEnded.set(name, ++this.actionsEnded)
          this.kick()
        })
    }
    for (const [name, at] of this.actionEnded) if (at <= listedAfter) this.actionEnded.delete(name)
    this.forgetGone(byProcess, unknown)
    await this.syncBalancer()
    if (this.busy.size === 0) await this.sweepLeftovers(listing)
  }

  /**
   * Processes with a unit whose state could not be read this pass: acting on them would start what
   * runs or stop what is wanted, so they wait for a pass that can read them (soon, backing off).
   */
  private unknownProcesses(listing: UnitListing, now: number): Set<string> {
    if (listing.unknown.length === 0) {
      this.unknownRetryMs = 0
      return new Set()
    }
    this.unknownRetryMs = Math.min(Math.max(this.unknownRetryMs * 2, 250), 10_000)
    this.logger.warn(
      {units: listing.unknown.length, example: listing.unknown[0]!.name, err: listing.unknown[0]!.readError, retryInMs: this.unknownRetryMs},
      'could not read some units; leaving their processes alone until a pass can',
    )
    this.wakeAt(now + this.unknownRetryMs)
    return new Set(listing.unknown.map((unit) => unit.process))
  }

  private healthOf(unit: string, active: boolean): HealthFacts {
    const id = parseUnitName(unit)
    const desired = id ? this.desired.get(id.process) : undefined
    const watched = this.monitor.snapshot(unit)
    if (watched) return {state: watched.state, ...(watched.lastOkAt !== undefined ? {lastOkAt: watched.lastOkAt} : {})}
    // No check configured (or an old version no longer checked): healthy once systemd runs it.
    if (!desired?.spec.health || desired.unit !== unit) return {state: active ? 'healthy' : 'starting'}
    return {state: 'starting'}
  }

  private onHealthChange(unit: string, state: Health, detail?: string): void {
    this.logger.info({unit, state, detail}, 'health changed')
    this.kick()
  }

  private async countDrainingConnections(): Promise<void> {
    const balancer = this.options.balancer
    if (!balancer?.activeConnections) return
    for (const record of this.registry.all()) {
      if (record.membership !== 'draining') continue
      let total: number | undefined = 0
      for (const [service, port] of Object.entries(record.ports)) {
        const count = await balancer.activeConnections(service, {host: '127.0.0.1', port}).catch(() => undefined)
        total = count === undefined ? undefined : total + count
        if (total === undefined) break
      }
      if (total === undefined) {
        this.logger.debug({unit: record.unit}, 'the balancer cannot count connections; draining until the timeout')
        continue
      }
      record.activeConnections = total
      this.logger.debug({unit: record.unit, activeConnections: total}, 'draining')
    }
  }

  private forgetGone(byProcess: Map<string, ObservedUnit[]>, unknown: Set<string>): void {
    for (const name of this.trackers.keys()) {
      if (!this.desired.has(name) && !byProcess.has(name) && !this.busy.has(name) && !unknown.has(name)) this.trackers.delete(name)
    }
    for (const name of this.retries.keys()) {
      if (!this.desired.has(name) && !byProcess.has(name) && !this.busy.has(name) && !unknown.has(name)) this.retries.delete(name)
    }
  }

  /**
   * Removes working directories and environment files left by instances that no longer exist
   * (e.g. stopped while launcho was down). `observed` was listed when this pass began: an instance
   * whose start finished since then (its action ran concurrently) has its directory but is not in
   * that listing, and removing the directory or env file of a running instance makes its next
   * restart fail (200/CHDIR, or a missing environment file). So a leftover is removed only when a
   * fresh listing lacks its unit too (no action can start before this pass ends).
   */
  private async sweepLeftovers(observed: UnitListing): Promise<void> {
    const leftovers = async ({units, unknown}: UnitListing) => {
      const live = new Set([...units, ...unknown].map((unit) => unit.name))
      const unused = (unit: string) => {
        const id = parseUnitName(unit)
        return id !== undefined && !live.has(unit) && !this.busy.has(id.process)
      }
      const workDirs = (await readdir(this.stateDir.instancesDir).catch(() => [] as string[]))
        .filter((entry) => unused(`${entry}.service`))
        .map((entry) => this.stateDir.instanceDir(`${entry}.service`))
      const envFiles = (await readdir(this.stateDir.environmentsDir).catch(() => [] as string[]))
        .filter((entry) => entry.endsWith('.env') && unused(`${entry.slice(0, -'.env'.length)}.service`))
        .map((entry) => join(this.stateDir.environmentsDir, entry))
      return {workDirs, envFiles}
    }
    const first = await leftovers(observed)
    this.sweep.keepOnly([...first.workDirs, ...first.envFiles])
    if ([...first.workDirs, ...first.envFiles].every((path) => !this.sweep.due(path))) return
    const systemd = this.options.systemd()
    if (!systemd) return
    const {workDirs, envFiles} = await leftovers(await systemd.list())
    for (const dir of workDirs.filter((path) => this.sweep.due(path))) await this.sweep.remove(dir, removeWorkDir)
    for (const file of envFiles.filter((path) => this.sweep.due(path))) await this.sweep.remove(file, removeEnvironmentFile)
  }
}

const KICK_SETTLE_MS = 20

function groupByProcess(units: ObservedUnit[]): Map<string, ObservedUnit[]> {
  const groups = new Map<string, ObservedUnit[]>()
  for (const unit of units) groups.set(unit.process, [...(groups.get(unit.process) ?? []), unit])
  return groups
}
