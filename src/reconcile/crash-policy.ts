/**
 * launcho's own crash-loop policy. systemd restarts a dead instance after 100 ms (so a one-off
 * crash, or one while launcho is down, heals at once); when an instance crashes `threshold` times
 * within `window`, launcho stops it and starts it again after a delay that doubles up to `maxDelay`,
 * and forgets the loop once an instance has stayed up for `resetAfter`. launcho's own next start
 * after a failed one waits on the same doubling delay, until a start succeeds: a start that fails
 * before systemd runs anything (no unit, so no crash to count) would otherwise be retried at once.
 */
export interface CrashPolicyOptions {
  threshold: number
  windowMs: number
  baseDelayMs: number
  maxDelayMs: number
  resetAfterMs: number
}

export const defaultCrashPolicy: CrashPolicyOptions = {
  threshold: 3,
  windowMs: 10_000,
  baseDelayMs: 1_000,
  maxDelayMs: 60_000,
  resetAfterMs: 30_000,
}

export interface Failure {
  at: number
  unit: string
  reason: string
}

export interface CrashView {
  looping: boolean
  /** Epoch ms of the next start while held back; undefined when not held. */
  retryAt?: number
  /** The delay of the current hold. */
  delayMs?: number
  crashesInWindow: number
  lastFailure?: Failure
  /** The last start failed, and none has succeeded since. */
  failingToStart: boolean
}

export class CrashTracker {
  private readonly restartsSeen = new Map<string, number>()
  private crashes: number[] = []
  private level = 0
  private retryAt = 0
  private delayMs = 0
  private startFailures = 0
  lastFailure?: Failure

  constructor(private readonly options: CrashPolicyOptions = defaultCrashPolicy) {}

  /**
   * Feeds one observation of an instance; returns how many new crashes it shows. The first sight of
   * a unit (e.g. after a server restart) sets the baseline and counts nothing.
   */
  observe(unit: string, nRestarts: number, runningSinceMs: number | undefined, now: number): number {
    const seen = this.restartsSeen.get(unit)
    this.restartsSeen.set(unit, nRestarts)
    if (runningSinceMs !== undefined && now - runningSinceMs >= this.options.resetAfterMs && this.level > 0) {
      this.level = 0
      this.delayMs = 0
    }
    if (seen === undefined || nRestarts <= seen) return 0
    const fresh = nRestarts - seen
    for (let i = 0; i < fresh; i++) this.crashes.push(now)
    return fresh
  }

  /** A start job that failed (missing binary, unknown user, missing cwd…) counts as a crash. */
  recordFailedStart(now: number): void {
    this.crashes.push(now)
  }

  /**
   * A start that failed: launcho's preparation threw (work dir, resources, environment file),
   * systemd refused the unit, or its start job did not succeed. launcho's next start of the process
   * waits 1 s, then 2 s, 4 s … up to the maximum; returns when to try again.
   */
  startFailed(now: number, failure: Failure): number {
    this.lastFailure = failure
    this.delayMs = Math.min(this.options.baseDelayMs * 2 ** this.startFailures, this.options.maxDelayMs)
    this.startFailures += 1
    this.retryAt = now + this.delayMs
    return this.retryAt
  }

  startSucceeded(): void {
    this.startFailures = 0
  }

  /** A new version is desired: it may start at once (a further failure still doubles the delay). */
  versionChanged(): void {
    this.retryAt = 0
  }

  forget(unit: string): void {
    this.restartsSeen.delete(unit)
  }

  /** Whether the process is crashing fast enough that launcho should hold it back now. */
  shouldHold(now: number): boolean {
    this.crashes = this.crashes.filter((at) => now - at < this.options.windowMs)
    return this.crashes.length >= this.options.threshold
  }

  /** Holds the process back; returns when to start it again. */
  hold(now: number): number {
    this.delayMs = Math.min(this.options.baseDelayMs * 2 ** this.level, this.options.maxDelayMs)
    this.level += 1
    this.retryAt = now + this.delayMs
    this.crashes = []
    return this.retryAt
  }

  canStart(now: number): boolean {
    return now >= this.retryAt
  }

  nextStartAt(): number {
    return this.retryAt
  }

  view(now: number): CrashView {
    const held = this.retryAt > now
    return {
      looping: this.level > 0,
      ...(held ? {retryAt: this.retryAt} : {}),
      ...(this.level > 0 || this.startFailures > 0 ? {delayMs: this.delayMs} : {}),
      crashesInWindow: this.crashes.filter((at) => now - at < this.options.windowMs).length,
      ...(this.lastFailure ? {lastFailure: this.lastFailure} : {}),
      failingToStart: this.startFailures > 0,
    }
  }
}
