/**
 * The health of one instance and every transition it can make, all here:
 *
 *   starting  ──successThreshold successes──▶  healthy
 *   starting  ──start-up deadline passes────▶  failed     (terminal: the rollout fails)
 *   healthy   ──failureThreshold failures───▶  unhealthy
 *   unhealthy ──successThreshold successes──▶  healthy
 *
 * Counts are of consecutive results: a result of the other kind resets them. Failures while
 * starting only wait for the deadline. Time comes from the results and the caller (`now`), so the
 * machine is pure and testable with explicit timestamps.
 */
import type {CheckResult} from './check.js'
import type {HealthPolicy} from './policy.js'

export type HealthState = 'starting' | 'healthy' | 'unhealthy' | 'failed'

export type Thresholds = Pick<HealthPolicy, 'failureThreshold' | 'successThreshold' | 'startupDeadlineMs'>

export interface Applied {
  /** True only when the state really changed. */
  changed: boolean
  state: HealthState
  lastResult: CheckResult | undefined
}

export interface HealthSnapshot {
  state: HealthState
  /** When the current state was entered. */
  since: number
  startedAt: number
  /** Start-up deadline: `starting` past this becomes `failed`. */
  deadlineAt: number
  consecutiveSuccesses: number
  consecutiveFailures: number
  lastResult: CheckResult | undefined
  /** When a check last passed. */
  lastOkAt?: number
}

export class InstanceHealth {
  private state: HealthState = 'starting'
  private since: number
  private successes = 0
  private failures = 0
  private lastResult: CheckResult | undefined
  private lastOkAt: number | undefined

  constructor(
    private readonly thresholds: Thresholds,
    readonly startedAt: number,
  ) {
    this.since = startedAt
  }

  get deadlineAt(): number {
    return this.startedAt + this.thresholds.startupDeadlineMs
  }

  /** Records one check's result (time: `result.at`) and moves the state if it now should. */
  apply(result: CheckResult): Applied {
    if (this.state === 'failed') return this.unchanged()
    this.lastResult = result
    // A result known only after the deadline is too late, even a good one.
    if (this.state === 'starting' && result.at > this.deadlineAt) return this.enter('failed', result.at)
    if (result.ok) {
      this.lastOkAt = result.at
      this.successes += 1
      this.failures = 0
    } else {
      this.failures += 1
      this.successes = 0
    }
    const {successThreshold, failureThreshold} = this.thresholds
    if (this.state !== 'healthy' && this.successes >= successThreshold) return this.enter('healthy', result.at)
    if (this.state === 'healthy' && this.failures >= failureThreshold) return this.enter('unhealthy', result.at)
    return this.unchanged()
  }

  /** Fails a still-starting instance once `now` is past its start-up deadline. */
  expire(now: number): Applied {
    if (this.state === 'starting' && now >= this.deadlineAt) return this.enter('failed', now)
    return this.unchanged()
  }

  snapshot(): HealthSnapshot {
    return {
      state: this.state,
      since: this.since,
      startedAt: this.startedAt,
      deadlineAt: this.deadlineAt,
      consecutiveSuccesses: this.successes,
      consecutiveFailures: this.failures,
      lastResult: this.lastResult,
      ...(this.lastOkAt !== undefined ? {lastOkAt: this.lastOkAt} : {}),
    }
  }

  private enter(state: HealthState, at: number): Applied {
    this.state = state
    this.since = at
    return {changed: true, state, lastResult: this.lastResult}
  }

  private unchanged(): Applied {
    return {changed: false, state: this.state, lastResult: this.lastResult}
  }
}
