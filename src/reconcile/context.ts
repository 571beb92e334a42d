/** What the reconciler's actions need from it: its collaborators and a few of its own services. */
import type {Logger} from 'pino'
import type {EventLog} from '../events.js'
import type {HealthCheck} from '../health/check.js'
import type {HealthMonitor} from '../health/monitor.js'
import type {HealthPolicy} from '../health/policy.js'
import type {Journal} from '../logs/journal.js'
import type {InstanceRegistry} from '../rollout/instances.js'
import type {ResourceStore} from '../store/resource-store.js'
import type {StateDir} from '../store/state-dir.js'
import type {CrashTracker} from './crash-policy.js'
import type {DesiredProcess, DesiredState, UnitTimings} from './desired.js'
import type {ExitFacts} from './exit-facts.js'
import type {StartRuns} from '../systemd/exec-runs.js'

export interface FailedRollout {
  version: string
  reason: string
  at: number
  /** A failed hook's last lines of output (its own output: for the deploy that waits, not for events). */
  output?: string[]
}

export interface ReconcilerContext {
  readonly logger: Logger
  readonly events: EventLog
  readonly journal: Journal
  readonly stateDir: StateDir
  readonly resources?: ResourceStore
  readonly timings: UnitTimings
  /** How long a draining instance may keep its connections before it is stopped anyway. */
  readonly drainTimeoutMs: number
  readonly registry: InstanceRegistry
  readonly monitor: HealthMonitor
  readonly failedRollouts: Map<string, FailedRollout>
  readonly desired: DesiredState
  tracker(process: string): CrashTracker
  healthCheckOf(process: DesiredProcess, unit: string, ports: Record<string, number>): {check: HealthCheck; policy: HealthPolicy} | undefined
  /** Makes the balancer match the registry now (serialized, idempotent). */
  syncBalancer(): Promise<void>
  /** An instance began serving: processes removed from the target that wait to hand over look again. */
  servingBegan(): void
  /** Instances on these ports have stopped for good: the data path forgets the connections they reset. */
  backendsStopped(ports: readonly number[]): Promise<void>
  /** Reconciles this process again at (or soon after) this time. */
  wakeAt(at: number, process: string): void
  /** Marks a start (or restart) job of `unit` in flight, which a newer desired state cancels; returns its end. */
  beginStartJob(process: string, unit: string): () => void
  /** How the unit's last main process ended, as systemd signalled it. */
  exitOf(unit: string): ExitFacts | undefined
  /** How the unit's last start went past its exec (its afterStart hook), read from systemd now. */
  startRunsOf(unit: string): Promise<StartRuns | undefined>
  /** The stop that canceled a superseded start of `unit`, while it runs. */
  cancellation(unit: string): Promise<void> | undefined
}
