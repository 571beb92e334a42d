/**
 * What stopped instances leave behind: work dirs (removed as their owner, see work-dir.ts) and
 * env files. A removal that fails is retried on later passes, backing off per path, so a work dir
 * its user keeps refilling costs a try now and then, not one per pass.
 */
import {rm} from 'node:fs/promises'
import type {Logger} from 'pino'

/** environments/ is root's alone (0700): no user can swap anything there, so a plain remove is safe. */
export async function removeEnvironmentFile(path: string): Promise<void> {
  await rm(path, {force: true})
}

export interface SweepBackoff {
  firstRetryMs: number
  maxRetryMs: number
}

export class LeftoverSweep {
  private readonly failures = new Map<string, {count: number; retryAt: number}>()

  constructor(
    private readonly logger: Logger,
    private readonly backoff: SweepBackoff = {firstRetryMs: 1_000, maxRetryMs: 60_000},
  ) {}

  /** False while a path's last removal failed and its retry time has not come. */
  due(path: string, now = Date.now()): boolean {
    return (this.failures.get(path)?.retryAt ?? 0) <= now
  }

  /** Forgets the failures of paths that are no longer leftovers (removed some other way). */
  keepOnly(paths: string[]): void {
    const keep = new Set(paths)
    for (const path of this.failures.keys()) if (!keep.has(path)) this.failures.delete(path)
  }

  async remove(path: string, removal: (path: string) => Promise<void>, now = Date.now()): Promise<void> {
    try {
      await removal(path)
      this.failures.delete(path)
    } catch (error) {
      const count = (this.failures.get(path)?.count ?? 0) + 1
      const delayMs = Math.min(this.backoff.maxRetryMs, this.backoff.firstRetryMs * 2 ** (count - 1))
      this.failures.set(path, {count, retryAt: now + delayMs})
      this.logger.warn({path, err: (error as Error).message, failures: count, retryInS: delayMs / 1000}, 'could not remove what a stopped instance left; retrying later')
    }
  }
}
