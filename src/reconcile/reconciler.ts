/**
 * The level-triggered core: one reconcile per process key, run by a work queue (work-queue.ts) —
 * kicked by systemd's signals about the process's units, its health changes, target changes and
 * a periodic resync. A reconcile is idempotent: look (a listing of the `launcho-*` units that began
 * after the key's last kick and last action), compare (the rollout state machine,
 * src/rollout/rollout.ts), act (one action), and say what next (done, look again after a time, or
 * retry: the queue backs off a key whose reconcile threw, 100 ms doubling to 60 s). One process's
 * slow `before` or failing start never holds up another's; a newer desired state cancels a start
 * still in flight for a version no longer desired.
 *
 * Listings are shared: a listing serves every key kicked before it began, so 1000 kicked keys cost
 * one or two listings, not 1000. What a listing tells about all processes (adoption of running
 * units after a restart, crashes systemd restarted, leftovers) is taken in once per listing.
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
import {InstanceRegistry} from '../rollout/instances.js'
import {planRollout, type Health} from '../rollout/rollout.js'
import type {ResourceStore} from '../store/resource-store.js'
import {CREDENTIALS_SUFFIX, type StateDir} from '../store/state-dir.js'
import type {ServiceSpec} from '../target/load.js'
import type {SystemdManager, ObservedUnit, UnitListing} from '../systemd/manager.js'
import {parseUnitName} from '../systemd/unit-name.js'
import type {CommandDropIns} from '../systemd/command-drop-ins.js'
import {stopJobMs} from '../systemd/unit-spec.js'
import {perform, unwatchHealth, watchHealth} from './actions.js'
import type {FailedRollout, ReconcilerContext} from './context.js'
import {CrashTracker, defaultCrashPolicy, type CrashPolicyOptions} from './crash-policy.js'
import {checkContextOf, isDesiredUnit, type DesiredProcess, type DesiredState, type UnitTimings} from './desired.js'
import {RetryBackoff} from './retry-backoff.js'
import {removeWorkDir} from './work-dir.js'
import {LeftoverSweep, removeEnvironmentFile} from './leftovers.js'
import {removeCredentialFiles} from './credential-files.js'
import {dynamicWorkDirOf, removeDynamicWorkDir} from './dynamic-user.js'
import {noticeCrashes} from './crash-watch.js'
import {BeforeRolloutHooks} from './before-rollout.js'
import {FailedRollouts} from './failed-rollouts.js'
import {after, done, terminal, WorkQueue, type Outcome} from './work-queue.js'
import {LaunchoError} from '../errors.js'
import type {UnitChange} from '../systemd/manager.js'
import type {ExitFacts} from './exit-facts.js'
import {afterStartFailureOf, mayHaveAfterStart} from './failure-reason.js'
import type {StartRuns} from '../systemd/exec-runs.js'

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
  /** The instances' command drop-ins (systemd/command-drop-ins.ts), swept with their other leftovers. */
  dropIns?: CommandDropIns
  /** The failed rollouts the last server left, and where to keep each change (daemon: store/failed-rollout-store.ts). */
  failedRollouts?: {restored: Iterable<[string, FailedRollout]>; changed: (current: ReadonlyMap<string, FailedRollout>) => void}
}

/** Keys reconciled at once: enough that 1000 processes start about as fast as systemd takes them. */
const CONCURRENCY = 32
/** A draining instance's connections are counted this often, so it stops soon after its last one ends. */
const DRAIN_WATCH_MS = 250
const RETRY_BASE_MS = 100
const RETRY_MAX_MS = 60_000

/** One look at systemd, shared by every key kicked before it began. */
interface Observation {
  /** Its place in the sequence of kicks, action ends and listings (see Reconciler.seq). */
  seq: number
  listing: UnitListing
  byProcess: Map<string, ObservedUnit[]>
  byName: Map<string, ObservedUnit>
  unknown: Set<string>
}

/** An action that threw, named for the log and the events. */
class ActionFailed extends Error {
  constructor(
    readonly action: string,
    cause: Error,
  ) {
    super(cause.message, {cause})
  }
}

export class Reconciler implements ReconcilerContext {
  desired: DesiredState = new Map()
  /** False until a desired state was set: with none (e.g. an unreadable stored target) nothing is touched. */
  private desiredKnown = false
  private services: ServiceSpec[] = []
  readonly failedRollouts: FailedRollouts
  /** Failed rollouts kept from the last server that this one has not looked at yet (confirmRestoredFailure). */
  private readonly restoredFailures: Set<string>
  readonly registry: InstanceRegistry
  readonly monitor: HealthMonitor
  private readonly trackers = new Map<string, CrashTracker>()
  private readonly queue: WorkQueue<string>
  private readonly sweep: LeftoverSweep
  private readonly hooks: BeforeRolloutHooks
  /**
   * One counter orders kicks, action ends and listing starts: a key may use a listing whose `seq`
   * is above both its last kick and its last action's end (it shows everything they changed).
   */
  private seq = 0
  private readonly kickedAt = new Map<string, number>()
  private readonly actionEndedAt = new Map<string, number>()
  /** Processes whose action runs now: a listing taken in meanwhile adopts none of their units. */
  private readonly acting = new Set<string>()
  private latest?: {seq: number; observation: Promise<Observation>}
  private listing?: Promise<Observation>
  private nextListing?: Promise<Observation>
  /** How each unit's last main process ended, from systemd's signal at that moment. */
  private readonly exits = new Map<string, ExitFacts>()
  /** Per process, files of its instances that no longer exist, to remove in its own reconcile. */
  private readonly leftovers = new Map<string, Leftover[]>()
  /** The newest listing whose bookkeeping (adoption, crashes) was taken in. */
  private appliedSeq = 0
  private balancerRetry?: RetryBackoff
  private balancerTimer?: NodeJS.Timeout
  /** Per process, the unit whose start (or restart) job is in flight. */
  private readonly startJobs = new Map<string, string>()
  private readonly cancellations = new Map<string, Promise<void>>()
  private resyncTimer?: NodeJS.Timeout
  /** The next listing is the periodic resync (it re-reads some units as a safety net). */
  private resyncDue = true
  /** Back-off of the extra look asked for while some units cannot be read. */
  private unknownRetryMs = 0
  private sweeping?: Promise<void>
  private stopped = false
  private balancerChain: Promise<void> = Promise.resolve()
  private lastTables = ''
  /** When each process still running was removed from the target (for a handover of its services). */
  private readonly removedAt = new Map<string, number>()
  private stoppedByOperator: ReadonlySet<string> = new Set()
  /** Told once: the data path cannot forget a stopped backend's reset connections without conntrack. */
  private toldConntrackMissing = false
  /** The last failure to forget them that was told (told again only after a run that worked). */
  private toldForgetFailure?: string

  constructor(private readonly options: ReconcilerOptions) {
    this.failedRollouts = FailedRollouts.of(options.failedRollouts?.restored, options.failedRollouts?.changed)
    this.restoredFailures = new Set(this.failedRollouts.keys())
    this.registry = new InstanceRegistry(new PortAllocator(options.portRange), (unit) => this.expectsCheck(unit))
    const execRunner = options.execRunner ?? systemdExecRunner({systemd: options.systemd, outputDir: join(options.stateDir.root, 'checks')})
    this.monitor = new HealthMonitor(
      {onHealthChange: (unit, state, last) => this.onHealthChange(unit, state, last?.detail)},
      {probe: createProber(execRunner)},
    )
    this.sweep = new LeftoverSweep(options.logger)
    this.hooks = new BeforeRolloutHooks(this, () => {
      const systemd = this.options.systemd()
      if (!systemd) return undefined
      const {stateDir, resources, timings, journal, logger} = this.options
      return {systemd, stateDir, timings, journal, logger, ...(resources ? {resources} : {})}
    })
    this.queue = new WorkQueue<string>({
      concurrency: CONCURRENCY,
      baseDelayMs: RETRY_BASE_MS,
      maxDelayMs: RETRY_MAX_MS,
      reconcile: (name) => this.reconcile(name),
      onError: (name, error, retryInMs) => this.actionThrew(name, error, retryInMs),
      onTerminal: (name, reason) => {
        this.logger.error({process: name, reason}, 'cannot run this process until the target changes')
        this.events.add('error', `${reason}; not retried until the target changes`, name)
      },
    })
  }

  /** Why a process cannot run until its desired state changes (a terminal problem), if it cannot. */
  problemOf(name: string): string | undefined {
    return this.queue.terminalReason(name)
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
  get drainTimeoutMs(): number {
    return this.options.drainTimeoutMs
  }

  start(): void {
    this.resyncTimer = setInterval(() => this.resync(), this.options.resyncMs)
    this.resync()
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearInterval(this.resyncTimer)
    clearTimeout(this.balancerTimer)
    this.queue.stop()
    this.monitor.close()
    await this.queue.idle()
    await this.sweeping
    await this.balancerChain
  }

  /**
   * A failed rollout kept from the last server holds only while an older version of the process
   * still runs. With nothing of it left (a reboot ends every transient unit), the target's version
   * is the only one that can run, so it is tried again, its beforeRollout hook included.
   */
  private confirmRestoredFailure(name: string, wanted: DesiredProcess, units: readonly ObservedUnit[]): void {
    if (!this.restoredFailures.delete(name)) return
    const failed = this.failedRollouts.get(name)
    if (failed?.version !== wanted.version) return
    if (units.some((unit) => unit.version !== failed.version && !['inactive', 'failed'].includes(unit.activeState))) return
    this.failedRollouts.delete(name)
    this.logger.info({process: name, version: failed.version}, 'its rollout failed before this server started, but no older version runs any more: trying it again')
  }

  /** `stopped`: processes of the target stopped with `launcho stop`; they stop at once, handing nothing over. */
  setDesired(desired: DesiredState, services: ServiceSpec[] = this.services, stopped: ReadonlySet<string> = new Set()): void {
    this.stoppedByOperator = stopped
    const previous = this.desired
    this.desired = desired
    this.services = services
    const first = !this.desiredKnown
    this.desiredKnown = true
    const now = Date.now()
    for (const name of previous.keys()) if (!desired.has(name) && !this.removedAt.has(name)) this.removedAt.set(name, now)
    for (const name of desired.keys()) this.removedAt.delete(name)
    for (const [name, failed] of this.failedRollouts) {
      if (desired.get(name)?.version !== failed.version) this.failedRollouts.delete(name)
    }
    for (const [name, unit] of this.startJobs) {
      if (!isDesiredUnit(desired.get(name), unit)) this.cancelStart(name, unit)
    }
    if (first) return this.resync()
    for (const name of new Set([...previous.keys(), ...desired.keys()])) {
      const before = previous.get(name)
      const after = desired.get(name)
      if (before?.version === after?.version) {
        // Only the number of replicas (or the surge) changed: scale, with no new version.
        if (before && after && (before.replicas !== after.replicas || before.maxSurge !== after.maxSurge)) this.kick(name)
        continue
      }
      this.trackers.get(name)?.versionChanged()
      this.kickedAt.set(name, ++this.seq)
      // A new version: a retry back-off or a terminal problem of the old one no longer applies.
      this.queue.reset(name)
    }
    // Services may have changed without any version (an address moved).
    void this.syncBalancer()
  }

  /** A systemd signal about a launcho unit (or, with no unit, about everything: a reconnect). */
  onUnitChanged(unit?: string, change?: UnitChange): void {
    if (this.stopped) return
    if (unit === undefined) return this.resync()
    const id = parseUnitName(unit)
    if (!id) return
    // systemd repeats the last exit in later signals (its restart's): it is taken in once.
    if (change?.exit && !(change.exit.exitUs > 0 && this.exits.get(unit)?.exitUs === change.exit.exitUs)) {
      this.exits.set(unit, {...change.exit, at: Date.now(), ...this.afterStartFailureNow(id.process, unit)})
    }
    if (change && (change.mainPid === 0 || (change.activeState !== undefined && change.activeState !== 'active'))) this.mainProcessGone(unit)
    this.kick(id.process)
  }

  /**
   * When a main process ends, whether its afterStart hook failed (and systemd ended it for that):
   * read at once, for units that may have the hook. Later, systemd's restart has run it again.
   */
  private afterStartFailureNow(process: string, unit: string): Pick<ExitFacts, 'afterStartFailure'> {
    if (!mayHaveAfterStart(this, process, unit)) return {}
    // Never rejects: a unit that cannot be read tells nothing.
    return {afterStartFailure: afterStartFailureOf(this, unit)}
  }

  /**
   * Desired instances systemd no longer has, though launcho neither stopped nor is starting them,
   * and whose last run did not fail (a crash is systemd's to restart, and the crash policy's):
   * someone ran `systemctl stop`. Each is forgotten and started again like any missing replica;
   * status (its last failure) and an event say why.
   */
  private noticeOutsideStops(process: string, wanted: DesiredProcess, observation: Observation): void {
    for (const unit of wanted.units) {
      const instance = this.registry.get(unit)
      if (!instance || observation.byName.has(unit) || ['starting', 'stopping', 'gone', 'failed'].includes(instance.phase)) continue
      if (this.startJobs.get(process) === unit || this.cancellations.has(unit)) continue
      const exit = this.exits.get(unit)
      if (exit && exit.result !== 'success') continue
      const reason = 'stopped outside launcho (systemctl stop?); launcho starts it again'
      this.registry.forget(unit)
      this.tracker(process).lastFailure = {at: Date.now(), unit, reason}
      this.logger.warn({process, unit}, 'stopped outside launcho; starting it again')
      this.events.add('exited', `${unit} was ${reason}`, process)
    }
  }

  /**
   * systemd says an instance's main process is gone (it died, or is being stopped): out of the
   * balancer now, before any health check could notice; it rejoins once it is healthy again.
   */
  private mainProcessGone(unit: string): void {
    const instance = this.registry.get(unit)
    if (!instance?.mainProcessGone()) return
    const desired = this.desired.get(instance.process)
    // Its next process must pass its checks before it serves again.
    if (isDesiredUnit(desired, unit) && desired!.spec.health) {
      unwatchHealth(this, unit)
      watchHealth(this, unit)
    }
    this.logger.warn({process: instance.process, unit}, 'main process gone; out of the balancer until it is healthy again')
    this.events.add('rechecking', `${unit} left the balancer: its main process is gone; its next one serves once healthy`, instance.process)
    void this.syncBalancer()
  }

  /** Asks for a reconcile of this process with a look at systemd taken after now. */
  kick(process?: string): void {
    if (this.stopped) return
    if (process === undefined) return this.resync()
    this.kickedAt.set(process, ++this.seq)
    this.queue.add(process)
  }

  /** Every known process, with a fresh listing (which also finds units of processes no longer desired). */
  private resync(): void {
    if (this.stopped || !this.desiredKnown) return
    this.resyncDue = true
    const seq = ++this.seq
    for (const name of this.desired.keys()) {
      this.kickedAt.set(name, seq)
      this.queue.add(name)
    }
    // Processes only systemd knows of (removed from the target, or run by an earlier target)
    // are queued by the listing itself.
    void this.observe(seq).catch((error: Error) => this.logger.warn({err: error.message}, 'could not list the units; trying again on the next resync'))
  }

  beginStartJob(process: string, unit: string): () => void {
    this.startJobs.set(process, unit)
    return () => {
      if (this.startJobs.get(process) === unit) this.startJobs.delete(process)
    }
  }

  exitOf(unit: string): ExitFacts | undefined {
    return this.exits.get(unit)
  }

  async startRunsOf(unit: string): Promise<StartRuns | undefined> {
    return this.options.systemd()?.startRuns(unit)
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
      .stop(unit, stopJobMs(this.options.timings.stopTimeoutMs))
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

  healthCheckOf(process: DesiredProcess, unit: string, ports: Record<string, number>) {
    const check = healthCheckFor(process.spec.health, ports, checkContextOf(process, unit, this.stateDir))
    return check ? {check, policy: resolvePolicy(process.spec.health)} : undefined
  }

  /** Reconciles this process again at `at` (or sooner, if kicked). */
  wakeAt(at: number, process: string): void {
    if (!Number.isFinite(at)) return
    this.queue.addAt(process, at)
  }

  syncBalancer(): Promise<void> {
    const balancer = this.options.balancer
    if (!balancer) return Promise.resolve()
    const run = async () => {
      const tables = this.tables()
      const key = JSON.stringify(tables)
      if (key === this.lastTables) return
      const now = Date.now()
      if (this.balancerRetry && !this.balancerRetry.ready(now)) return this.retryBalancerAt(this.balancerRetry.retryAt)
      try {
        await balancer.sync(tables)
        this.lastTables = key
        this.balancerRetry = undefined
      } catch (error) {
        this.balancerRetry ??= new RetryBackoff(RETRY_BASE_MS * 10, RETRY_MAX_MS)
        const retryAt = this.balancerRetry.failed(Date.now())
        this.logger.error({err: (error as Error).message, retryInS: Number(((retryAt - Date.now()) / 1000).toFixed(1))}, 'load balancer sync failed; retrying after a delay')
        this.retryBalancerAt(retryAt)
      }
    }
    this.balancerChain = this.balancerChain.then(run, run)
    return this.balancerChain
  }

  /**
   * See Balancer.backendStopped. Never throws; says once that the tool for it is missing, and a
   * failure once until a run works again (a burst of 1000 stops shares runs, and their outcomes).
   */
  async backendsStopped(ports: readonly number[]): Promise<void> {
    const balancer = this.options.balancer
    if (!balancer?.backendStopped) return
    const outcomes = await Promise.all(ports.map((port) => balancer.backendStopped!({host: '127.0.0.1', port}).catch((error: Error) => ({failed: error.message}))))
    for (const outcome of new Set(outcomes)) {
      if ('missing' in outcome) {
        if (!this.toldConntrackMissing) this.logger.warn({reason: outcome.missing}, 'cannot forget the connections a stopped instance reset: a client that reuses one of their source ports may be refused; install conntrack')
        this.toldConntrackMissing = true
      } else if ('failed' in outcome) {
        if (this.toldForgetFailure !== outcome.failed) this.logger.warn({reason: outcome.failed}, 'could not forget the connections a stopped instance reset')
        this.toldForgetFailure = outcome.failed
      } else {
        this.toldForgetFailure = undefined
        if (outcome.forgotten > 0) this.logger.debug({ports, forgotten: outcome.forgotten}, 'forgot the connections that were reset')
      }
    }
  }

  /**
   * Resolves once the balancer changes asked for so far are applied (or have failed), or after
   * `limitMs`: what status says serves is then what the kernel routes to, and the events of those
   * changes are in.
   */
  balancerApplied(limitMs = 2_000): Promise<void> {
    const chain = this.balancerChain
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, limitMs)
      void chain.then(() => {
        clearTimeout(timer)
        resolve()
      })
    })
  }

  private retryBalancerAt(at: number): void {
    if (this.balancerTimer || this.stopped) return
    this.balancerTimer = setTimeout(() => {
      this.balancerTimer = undefined
      void this.syncBalancer()
    }, Math.max(0, at - Date.now()) + 5)
  }

  tables(): ServiceTable[] {
    return this.registry.tables(this.services, (host) => (host === 'localhost' ? '127.0.0.1' : host))
  }

  /** One process: look, decide, act once, and say when to look again. */
  private async reconcile(name: string): Promise<Outcome> {
    const systemd = this.options.systemd()
    if (!systemd || !this.desiredKnown || this.stopped) return done
    const observation = await this.observe(Math.max(this.kickedAt.get(name) ?? 0, this.actionEndedAt.get(name) ?? 0))
    if (observation.unknown.has(name)) {
      // The next try needs a new look, not this one again.
      this.kickedAt.set(name, ++this.seq)
      return after(this.unknownRetryMs)
    }
    await this.removeLeftovers(name, observation)
    const wanted = this.desired.get(name)
    const units = observation.byProcess.get(name) ?? []
    if (!wanted && units.length === 0) return this.forget(name)
    if (wanted) this.noticeOutsideStops(name, wanted, observation)
    // Running under systemd (also after systemd's own retry of a failed start): the start worked.
    if (wanted?.units.some((unit) => observation.byName.get(unit)?.activeState === 'active')) this.trackers.get(name)?.startSucceeded()
    if (wanted) {
      this.confirmRestoredFailure(name, wanted, units)
      const held = await this.hooks.gate(name, wanted, units)
      if (held) return held
    }
    const draining = await this.countDrainingConnections(units)
    const now = Date.now()
    const action = planRollout({
      desired: wanted,
      units,
      facts: (unit) => this.registry.facts(observation.byName.get(unit)!),
      crash: this.tracker(name),
      failedVersion: this.failedRollouts.get(name)?.version,
      ...(wanted ? {} : this.handoverOf(name, units)),
      now,
      policy: {drainTimeoutMs: this.options.drainTimeoutMs},
    })
    if (action.kind === 'none') return done
    if (action.kind === 'wait') {
      // While connections are counted, a drained instance stops soon after its last one ends.
      return after(Math.min(action.until - now, draining ? DRAIN_WATCH_MS : Number.POSITIVE_INFINITY))
    }
    this.acting.add(name)
    try {
      await perform(this, systemd, name, action)
    } catch (error) {
      if (error instanceof LaunchoError && error.code === 'invalid_target') return terminal(`${action.kind} failed: ${error.message}`)
      throw new ActionFailed(action.kind, error as Error)
    } finally {
      this.acting.delete(name)
      this.actionEndedAt.set(name, ++this.seq)
    }
    // What the action changed is seen by the next look (a fresh listing).
    return after(0)
  }

  private actionThrew(name: string, error: Error, retryInMs: number): void {
    const action = error instanceof ActionFailed ? error.action : 'reconcile'
    this.logger.error({process: name, action, err: error.message, retryInS: Number((retryInMs / 1000).toFixed(1))}, 'action failed; retrying after a delay')
    this.events.addOrFold('error', `${action} failed: ${error.message}; retrying with a growing delay`, name)
  }

  /**
   * For a removed process: until when its serving instances wait for the desired processes that
   * receive the same services and serve none yet (their start-up deadline, from the removal).
   */
  private handoverOf(name: string, units: ObservedUnit[]): {handoverUntil?: number} {
    if (this.stoppedByOperator.has(name)) return {}
    const services = new Set<string>()
    for (const unit of units) {
      const instance = this.registry.get(unit.name)
      if (instance?.membership === 'in') for (const service of Object.keys(instance.ports)) services.add(service)
    }
    if (services.size === 0) return {}
    const serving = new Set(this.registry.all().filter((instance) => instance.membership === 'in').map((instance) => instance.process))
    // Removed before this server started (no record): from the first look, so the wait still ends.
    if (!this.removedAt.has(name)) this.removedAt.set(name, Date.now())
    const removedAt = this.removedAt.get(name)!
    let until: number | undefined
    for (const [other, wanted] of this.desired) {
      if (serving.has(other) || !wanted.spec.receives.some((service) => services.has(service))) continue
      const deadline = removedAt + resolvePolicy(wanted.spec.health).startupDeadlineMs
      until = Math.max(until ?? 0, deadline)
    }
    return until === undefined ? {} : {handoverUntil: until}
  }

  /** An instance began serving: a removed process waiting to hand its services over looks again. */
  servingBegan(): void {
    for (const name of this.removedAt.keys()) this.kick(name)
  }

  private forget(name: string): Outcome {
    this.removedAt.delete(name)
    this.trackers.delete(name)
    this.kickedAt.delete(name)
    this.actionEndedAt.delete(name)
    this.queue.forget(name)
    return done
  }

  /**
   * A listing that began after `seq`: the newest one if it did; else a new one — at most one is in
   * flight, and keys that need a newer one share the next, begun when the one in flight ends.
   */
  private observe(seq: number): Promise<Observation> {
    if (this.latest && this.latest.seq > seq) return this.latest.observation
    if (!this.listing) return this.startListing()
    this.nextListing ??= this.listing.then(
      () => this.startListing(),
      () => this.startListing(),
    )
    return this.nextListing
  }

  private startListing(): Promise<Observation> {
    this.nextListing = undefined
    const mine = ++this.seq
    const observation = this.list(mine)
    this.latest = {seq: mine, observation}
    this.listing = observation
    observation.then(
      () => {
        if (this.listing === observation) this.listing = undefined
      },
      () => {
        if (this.listing === observation) this.listing = undefined
        // A failed listing is not reused: the next key asks for a new one.
        if (this.latest?.seq === mine) this.latest = undefined
      },
    )
    return observation
  }

  private async list(seq: number): Promise<Observation> {
    const systemd = this.options.systemd()
    if (!systemd) throw new LaunchoError('systemd_failed', 'not connected to systemd', {hint: 'launcho reconnects and looks again'})
    const resync = this.resyncDue
    this.resyncDue = false
    const listing = await systemd.list({resync})
    const observation: Observation = {
      seq,
      listing,
      byProcess: groupByProcess(listing.units),
      byName: new Map(listing.units.map((unit) => [unit.name, unit])),
      unknown: this.unknownProcesses(listing),
    }
    if (seq > this.appliedSeq) {
      this.appliedSeq = seq
      this.takeIn(observation, resync)
    }
    return observation
  }

  /** What a listing tells about all processes, taken in once per (newest) listing. */
  private takeIn(observation: Observation, resync: boolean): void {
    const now = Date.now()
    const {listing} = observation
    noticeCrashes(this, listing.units, now)
    // Records of units started (or stopped) since this listing began are not this listing's to judge.
    const acted = (process: string) => this.acting.has(process) || (this.actionEndedAt.get(process) ?? 0) > observation.seq
    const moved = (process: string) => this.queue.isBusy(process) || acted(process)
    const keep = [...listing.unknown.map((unit) => unit.name), ...this.registry.all().filter((r) => moved(r.process)).map((r) => r.unit)]
    const adopted = this.registry.sync(listing.units, this.desired, now, keep, acted)
    for (const unit of this.exits.keys()) if (!observation.byName.has(unit)) this.exits.delete(unit)
    for (const record of adopted) watchHealth(this, record.unit)
    for (const name of observation.byProcess.keys()) if (!this.desired.has(name)) this.queue.add(name)
    if (adopted.length > 0) void this.syncBalancer()
    if (resync && !this.sweeping) {
      this.sweeping = this.findLeftovers(listing)
        .catch((error: Error) => this.logger.warn({err: error.message}, 'could not look for leftovers; trying again on the next resync'))
        .finally(() => (this.sweeping = undefined))
    }
  }

  /**
   * Processes with a unit whose state could not be read this time: acting on them would start what
   * runs or stop what is wanted, so they wait for a look that can read them (soon, backing off).
   */
  private unknownProcesses(listing: UnitListing): Set<string> {
    if (listing.unknown.length === 0) {
      this.unknownRetryMs = 0
      return new Set()
    }
    this.unknownRetryMs = Math.min(Math.max(this.unknownRetryMs * 2, 250), 10_000)
    this.logger.warn(
      {units: listing.unknown.length, example: listing.unknown[0]!.name, err: listing.unknown[0]!.readError, retryInMs: this.unknownRetryMs},
      'could not read some units; leaving their processes alone until a look can',
    )
    return new Set(listing.unknown.map((unit) => unit.process))
  }

  /** Of its process's desired version, whose health check must pass before it serves. */
  private expectsCheck(unit: string): boolean {
    const id = parseUnitName(unit)
    const desired = id ? this.desired.get(id.process) : undefined
    return desired?.spec.health !== undefined && isDesiredUnit(desired, unit)
  }

  private onHealthChange(unit: string, state: Health, detail?: string): void {
    this.logger.info({unit, state, detail}, 'health changed')
    this.registry.get(unit)?.healthChanged(state, this.monitor.snapshot(unit)?.lastOkAt)
    const id = parseUnitName(unit)
    if (id) this.kick(id.process)
  }

  /** Counts the connections of this process's draining instances; true when the balancer can. */
  private async countDrainingConnections(units: ObservedUnit[]): Promise<boolean> {
    const balancer = this.options.balancer
    if (!balancer?.activeConnections) return false
    let counted = false
    for (const unit of units) {
      const instance = this.registry.get(unit.name)
      if (instance?.membership !== 'draining') continue
      let total: number | undefined = 0
      for (const [service, port] of Object.entries(instance.ports)) {
        const count = await balancer.activeConnections(service, {host: '127.0.0.1', port}).catch(() => undefined)
        total = count === undefined ? undefined : total + count
        if (total === undefined) break
      }
      if (total === undefined) {
        this.logger.debug({unit: instance.unit}, 'the balancer cannot count connections; draining until the timeout')
        continue
      }
      counted = true
      instance.connections(total)
      this.logger.debug({unit: instance.unit, activeConnections: total}, 'draining')
    }
    return counted
  }

  /**
   * Finds working directories and environment files of instances systemd does not have (e.g.
   * stopped while launcho was down) and hands each to its process's reconcile: only there is no
   * start of that process running, so removing an instance's files can never race its start (a
   * running instance without its directory or env file fails its next restart).
   */
  private async findLeftovers({units, unknown}: UnitListing): Promise<void> {
    const live = new Set([...units, ...unknown].map((unit) => unit.name))
    const found = new Map<string, Leftover[]>()
    // The path is made only for a leftover: most entries belong to live units (1000s per resync).
    const add = (unit: string, pathOf: () => string, remove: Leftover['remove']) => {
      if (live.has(unit)) return
      const id = parseUnitName(unit)
      if (!id) return
      found.set(id.process, [...(found.get(id.process) ?? []), {unit, path: pathOf(), remove}])
    }
    for (const entry of await readdir(this.stateDir.instancesDir).catch(() => [] as string[])) {
      const unit = `${entry}.service`
      add(unit, () => this.stateDir.instanceDir(unit), removeWorkDir)
    }
    // Dynamic users' work dirs: only those this server recorded as made by it.
    const records = this.stateDir.dynamicUsersDir
    for (const entry of await readdir(records).catch(() => [] as string[])) {
      const unit = `${entry}.service`
      add(unit, () => dynamicWorkDirOf(unit), () => removeDynamicWorkDir(unit, records, this.stateDir.instanceDir(unit)))
    }
    for (const entry of await readdir(this.stateDir.environmentsDir).catch(() => [] as string[])) {
      const unit = `${entry.slice(0, -'.env'.length)}.service`
      if (entry.endsWith('.env')) add(unit, () => this.stateDir.environmentFile(unit), removeEnvironmentFile)
      if (entry.endsWith(CREDENTIALS_SUFFIX)) {
        const owner = `${entry.slice(0, -CREDENTIALS_SUFFIX.length)}.service`
        add(owner, () => this.stateDir.credentialsDir(owner), removeCredentialFiles)
      }
    }
    const dropIns = this.options.dropIns
    if (dropIns) {
      for (const unit of await dropIns.units((name) => parseUnitName(name) !== undefined)) add(unit, () => dropIns.dirOf(unit), () => dropIns.remove(unit))
    }
    this.sweep.keepOnly([...found.values()].flat().map((leftover) => leftover.path))
    for (const [process, all] of found) {
      const due = all.filter((leftover) => this.sweep.due(leftover.path))
      if (due.length === 0) continue
      this.leftovers.set(process, due)
      this.queue.add(process)
    }
  }

  /** Removes this process's leftovers whose unit this (post-action) look still lacks. */
  private async removeLeftovers(process: string, observation: Observation): Promise<void> {
    const leftovers = this.leftovers.get(process)
    if (!leftovers) return
    this.leftovers.delete(process)
    if (observation.unknown.has(process)) return
    const starting = this.startJobs.get(process)
    for (const {unit, path, remove} of leftovers) {
      if (observation.byName.has(unit) || unit === starting) continue
      await this.sweep.remove(path, remove)
    }
  }
}

/** A file or directory an instance systemd no longer has left behind. */
interface Leftover {
  unit: string
  path: string
  remove: (path: string) => Promise<void>
}

function groupByProcess(units: ObservedUnit[]): Map<string, ObservedUnit[]> {
  const groups = new Map<string, ObservedUnit[]>()
  for (const unit of units) groups.set(unit.process, [...(groups.get(unit.process) ?? []), unit])
  return groups
}
