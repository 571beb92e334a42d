/**
 * Assembles `launcho status` from a fresh look at systemd, the desired state and the event log.
 * The look is one ListUnitsByPatterns plus reads of only the units systemd signalled about since
 * the reconciler's (or the last status call's) listing: cheap at 1000 processes.
 */
import {LaunchoError} from '../errors.js'
import type {EventLog} from '../events.js'
import type {ReleaseStatus} from '../protocol/releases.js'
import type {StatusReport} from '../protocol/status.js'
import type {Reconciler} from '../reconcile/reconciler.js'
import type {SecretRedactor} from '../secrets/redact.js'
import type {ObservedUnit} from '../systemd/manager.js'
import {buildStatus} from '../reconcile/status.js'
import type {SystemdConnection} from '../systemd/connection.js'
import type {TargetService} from './target-service.js'

export type {StatusReport} from '../protocol/status.js'

export class StatusService {
  constructor(
    private readonly version: string,
    private readonly systemd: SystemdConnection,
    private readonly reconciler: Reconciler,
    private readonly targets: TargetService,
    private readonly events: EventLog,
    /** systemd's failure texts and check answers may quote a command that holds a secret. */
    private readonly redactor?: SecretRedactor,
  ) {}

  private statusSources() {
    const reconciler = this.reconciler
    return {
      desired: reconciler.getDesired(),
      tracker: (name: string) => reconciler.tracker(name),
      facts: (unit: ObservedUnit) => reconciler.registry.facts(unit),
      ports: (unit: string) => reconciler.registry.get(unit)?.ports ?? {},
      lastCheck: (unit: string) => reconciler.monitor.snapshot(unit)?.lastResult,
      failedRollouts: reconciler.failedRollouts,
      problem: (name: string) => reconciler.problemOf(name),
      stopped: this.targets.stoppedProcesses(),
    }
  }

  private releaseStatus(): {release?: ReleaseStatus} {
    const releases = this.targets.releases
    const latest = releases.latest()
    if (!latest) return {}
    const serving = latest.outcome.state === 'serving' ? latest : releases.lastServing(latest.number)
    return {release: {current: {number: latest.number, kind: latest.kind, outcome: latest.outcome}, ...(serving ? {serving: serving.number} : {})}}
  }

  async status(eventCount: number, options: {usage?: boolean} = {}): Promise<StatusReport> {
    const manager = this.systemd.current
    if (!manager) {
      throw new LaunchoError('systemd_failed', 'the server has lost its connection to systemd and is reconnecting', {
        hint: 'check that dbus and systemd are running; processes keep running meanwhile',
      })
    }
    const {units, unknown} = await manager.list()
    // Only units with processes have usage to show; reading it is the call's main cost at 1000 processes.
    const usage =
      options.usage === false
        ? new Map()
        : await manager.usage(units.filter((unit) => unit.activeState === 'active' || unit.activeState === 'deactivating').map((unit) => unit.name))
    // A serve or drain whose balancer change is under way shows once it is applied, with its
    // events: waited for last, as the reads above give a rollout time to move (a serve begun
    // while they ran showed as serving before its change and its "serving" event, seen in CI).
    await this.reconciler.balancerApplied()
    const problem = this.targets.problem()
    const report: StatusReport = {
      server: {
        version: this.version,
        bus: manager.address,
        ...(this.reconciler.balancer ? {lb: this.reconciler.balancer.kind} : {}),
        ...(problem ? {targetProblem: problem.message} : {}),
        eventSeq: this.events.lastSeq(),
      },
      processes: buildStatus({...this.statusSources(), usage: (unit) => usage.get(unit)}, [...units, ...unknown], Date.now()),
      ...this.releaseStatus(),
      events: this.events.recent(eventCount),
    }
    return this.redactor ? this.redactor.redactDeep(report) : report
  }
}
