/**
 * When an instance's next check runs. Until its check first passes, a new instance is retried
 * soon and then less and less often (50, 100, 200 ms … up to the interval): an app that listens
 * within 100 ms serves within about 0.2 s, not a whole interval later, and one that takes a minute
 * to start costs only a handful of extra checks. Once a check has passed, every `interval`.
 */
import type {HealthSnapshot} from './health-state.js'

export const FIRST_RETRY_MS = 50

/** Milliseconds from the start of the check just done to the start of the next one. */
export function nextCheckInMs(intervalMs: number, health: Pick<HealthSnapshot, 'lastOkAt' | 'consecutiveFailures'>): number {
  if (health.lastOkAt !== undefined) return intervalMs
  // Never passed: every result so far was a failure, and consecutiveFailures counts them.
  const retries = Math.max(0, health.consecutiveFailures - 1)
  return Math.min(intervalMs, FIRST_RETRY_MS * 2 ** Math.min(retries, 30))
}
