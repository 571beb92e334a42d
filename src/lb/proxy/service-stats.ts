/**
 * Per service, per backend connection counts, as one listener reports them and as they add up
 * over the listeners of a service (one per worker thread, plus any still draining).
 */

export interface BackendStats {
  active: number
  total: number
  failed: number
}

export interface ServiceStats {
  on: string
  listening: boolean
  error?: string
  backends: Record<string, BackendStats>
}

/** Adds `from`'s per-backend counts into `into`'s. */
export function addBackendCounts(into: ServiceStats, from: ServiceStats): void {
  for (const [key, counts] of Object.entries(from.backends)) {
    const sum = (into.backends[key] ??= {active: 0, total: 0, failed: 0})
    sum.active += counts.active
    sum.total += counts.total
    sum.failed += counts.failed
  }
}

/** A copy that can be added to without touching the original. */
export function copyServiceStats(stats: ServiceStats): ServiceStats {
  const backends: Record<string, BackendStats> = {}
  for (const [key, counts] of Object.entries(stats.backends)) backends[key] = {...counts}
  return {...stats, backends}
}

/** One worker thread's share. */
export interface WorkerSummary {
  active: number
  /** Connections it relayed (that reached a backend) since it started. */
  total: number
}
