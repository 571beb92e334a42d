/**
 * Checks many instances at once, each on its own timer, and tells one consumer when an instance's
 * health really changes. Checks of one instance never overlap; a slow check holds back only its own
 * instance's next check. What the results mean is health-state.ts's business.
 */
import {isDeepStrictEqual} from 'node:util'
import type {CheckResult, HealthCheck} from './check.js'
import {InstanceHealth, type Applied, type HealthSnapshot, type HealthState} from './health-state.js'
import {HttpConnection} from './http-connection.js'
import type {HealthPolicy} from './policy.js'
import {createProber, type Probe} from './prober.js'
import {nextCheckInMs} from './schedule.js'

export interface HealthConsumer {
  onHealthChange(key: string, state: HealthState, lastResult: CheckResult | undefined): void
}

export interface MonitorOptions {
  probe?: Probe
  /** A consumer that throws is reported here and the monitor carries on. Default: a process warning. */
  onError?: (key: string, error: unknown) => void
}

/** How far past its own timeout a check may run before the monitor stops waiting for it. */
const RUNAWAY_GRACE_MS = 1000

interface Watched {
  check: HealthCheck
  policy: HealthPolicy
  health: InstanceHealth
  abort: AbortController
  /** The connection its HTTP checks share, closed when it is no longer watched. */
  connection?: HttpConnection
  next?: NodeJS.Timeout
  deadline?: NodeJS.Timeout
  /** A probe still running (only after the monitor gave up waiting for it). */
  running?: Promise<CheckResult>
}

export class HealthMonitor {
  private readonly watched = new Map<string, Watched>()
  private readonly probe: Probe
  private readonly onError: (key: string, error: unknown) => void
  private closed = false

  constructor(
    private readonly consumer: HealthConsumer,
    options: MonitorOptions = {},
  ) {
    this.probe = options.probe ?? createProber()
    this.onError =
      options.onError ?? ((key, error) => process.emitWarning(`health consumer failed for ${key}: ${String(error)}`))
  }

  /**
   * Starts checking `key` (state `starting`, start-up deadline from now; the first check runs at
   * once, and retries back off from 50 ms until one passes: schedule.ts). Idempotent: the same
   * check and policy again changes nothing. A different one starts the instance over, reported as
   * a change back to `starting`.
   */
  watch(key: string, check: HealthCheck, policy: HealthPolicy): void {
    if (this.closed) throw new Error('the health monitor is closed')
    const existing = this.watched.get(key)
    if (existing && isDeepStrictEqual(existing.check, check) && isDeepStrictEqual(existing.policy, policy)) return
    if (existing) this.unwatch(key)
    const entry: Watched = {
      check,
      policy,
      health: new InstanceHealth(policy, Date.now()),
      abort: new AbortController(),
      ...(check.kind === 'http' ? {connection: new HttpConnection()} : {}),
    }
    this.watched.set(key, entry)
    entry.deadline = setTimeout(() => this.expire(key, entry), policy.startupDeadlineMs)
    entry.next = setTimeout(() => void this.tick(key, entry), 0)
    const previous = existing?.health.snapshot()
    if (previous && previous.state !== 'starting') {
      this.report(key, {changed: true, state: 'starting', lastResult: undefined})
    }
  }

  /** Stops checking `key` and cancels its running exec check (an HTTP one gets its answer, unused). */
  unwatch(key: string): void {
    const entry = this.watched.get(key)
    if (!entry) return
    this.watched.delete(key)
    this.stop(entry)
  }

  snapshot(key: string): HealthSnapshot | undefined {
    return this.watched.get(key)?.health.snapshot()
  }

  /** Stops every check and timer; running checks are cancelled. */
  close(): void {
    this.closed = true
    for (const key of [...this.watched.keys()]) this.unwatch(key)
  }

  private async tick(key: string, entry: Watched): Promise<void> {
    entry.next = undefined
    const started = Date.now()
    const result = await this.runCheck(entry)
    if (!this.isCurrent(key, entry)) return
    this.apply(key, entry, entry.health.apply(result))
    if (!this.isCurrent(key, entry) || entry.health.snapshot().state === 'failed') return
    const wait = Math.max(0, nextCheckInMs(entry.policy.intervalMs, entry.health.snapshot()) - (Date.now() - started))
    entry.next = setTimeout(() => void this.tick(key, entry), wait)
  }

  private expire(key: string, entry: Watched): void {
    entry.deadline = undefined
    // The timer's clock and Date.now() may disagree by a millisecond; the timer is the authority.
    if (!this.isCurrent(key, entry)) return
    this.apply(key, entry, entry.health.expire(Math.max(Date.now(), entry.health.deadlineAt)))
  }

  private apply(key: string, entry: Watched, applied: Applied): void {
    if (applied.state !== 'starting') clearTimeout(entry.deadline)
    if (applied.state === 'failed') this.stop(entry)
    this.report(key, applied)
  }

  private report(key: string, applied: Applied): void {
    if (!applied.changed) return
    try {
      this.consumer.onHealthChange(key, applied.state, applied.lastResult)
    } catch (error) {
      this.onError(key, error)
    }
  }

  /**
   * The probe's result, or a failure if it outlives its timeout by RUNAWAY_GRACE_MS (a custom exec
   * runner that hangs). Such a probe is not started again until it ends, so checks never overlap.
   */
  private runCheck(entry: Watched): Promise<CheckResult> {
    const failure = (detail: string): CheckResult => ({ok: false, detail, at: Date.now(), durationMs: 0})
    if (entry.running) return Promise.resolve(failure('the previous check is still running'))
    const limit = entry.check.timeoutMs + RUNAWAY_GRACE_MS
    const probe = this.probe(entry.check, entry.abort.signal, entry.connection).catch((error: unknown) =>
      failure(`check crashed: ${String(error)}`),
    )
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        entry.running = probe
        void probe.then(() => (entry.running = undefined))
        resolve(failure(`the check did not finish within ${limit} ms`))
      }, limit)
      void probe.then((result) => {
        clearTimeout(timer)
        resolve(result)
      })
    })
  }

  private stop(entry: Watched): void {
    clearTimeout(entry.next)
    clearTimeout(entry.deadline)
    // An HTTP check already sent is left to get its answer (bounded by its timeout, its result
    // unused): ending its connection mid-answer is a reset, which can make the app log an error.
    // Its connection ends with a FIN of ours once the answer is in.
    if (entry.connection) entry.connection.close()
    else entry.abort.abort()
  }

  private isCurrent(key: string, entry: Watched): boolean {
    return this.watched.get(key) === entry
  }
}
