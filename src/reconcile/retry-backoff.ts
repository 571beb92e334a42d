/**
 * Exponential back-off for work that threw (an action of one process, a balancer sync): the next
 * try waits 1 s, then 2 s, 4 s … up to the maximum; a success ends it (drop the object).
 */
export class RetryBackoff {
  private failures = 0
  private at = 0

  constructor(
    private readonly baseDelayMs: number,
    private readonly maxDelayMs: number,
  ) {}

  /** Records a failure; returns when to try again. */
  failed(now: number): number {
    this.at = now + Math.min(this.baseDelayMs * 2 ** this.failures, this.maxDelayMs)
    this.failures += 1
    return this.at
  }

  ready(now: number): boolean {
    return now >= this.at
  }

  get retryAt(): number {
    return this.at
  }
}
