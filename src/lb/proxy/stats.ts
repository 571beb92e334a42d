/**
 * The proxy's stats file, its only channel back to launcho: which config it serves (by hash), the
 * config it rejected and why, and per service and backend the connection counts. Written beside
 * the config whenever it changes (checked every `intervalMs`) and at least every `heartbeatMs`, so
 * a reader can tell a live proxy from a stale file.
 */
import {readFile, rename, writeFile} from 'node:fs/promises'
import type {ServiceStats, WorkerSummary} from './service-stats.js'

export interface ProxyStats {
  pid: number
  /** ms since the epoch of this write. */
  at: number
  /** sha256 of the config text being served; absent until one was applied. */
  config?: string
  rejected?: {config: string; error: string}
  services: Record<string, ServiceStats>
  /** Per worker thread, its connections (the services' counts are already their sum). */
  workers?: WorkerSummary[]
}

export const STATS_HEARTBEAT_MS = 1_000

export class StatsWriter {
  private last = ''
  private lastAt = 0
  private writing?: Promise<void>
  private again = false
  private readonly timer: NodeJS.Timeout

  constructor(
    private readonly path: string,
    private readonly snapshot: () => Omit<ProxyStats, 'at'>,
    intervalMs: number,
    private readonly onError: (error: Error) => void,
  ) {
    // Referenced on purpose: it keeps the proxy alive even with no service to listen for.
    this.timer = setInterval(() => void this.write(false), intervalMs)
  }

  /** Writes now (e.g. right after a reload, which a caller may be waiting to see). */
  flush(): Promise<void> {
    return this.write(true)
  }

  stop(): void {
    clearInterval(this.timer)
  }

  private async write(force: boolean): Promise<void> {
    if (this.writing) {
      this.again ||= force
      return this.writing
    }
    const body = JSON.stringify(this.snapshot())
    if (!force && body === this.last && Date.now() - this.lastAt < STATS_HEARTBEAT_MS) return
    this.writing = this.put(body)
    await this.writing
    this.writing = undefined
    if (this.again) {
      this.again = false
      await this.write(true)
    }
  }

  private async put(body: string): Promise<void> {
    const at = Date.now()
    // No fsync: stats are worthless after a crash anyway; rename keeps readers from torn reads.
    const temp = `${this.path}.tmp`
    try {
      await writeFile(temp, `{"at":${at},${body.slice(1)}\n`, {mode: 0o600})
      await rename(temp, this.path)
      this.last = body
      this.lastAt = at
    } catch (error) {
      this.onError(error as Error)
    }
  }
}

/** The stats file, or undefined when it is missing or unreadable. */
export async function readProxyStats(path: string): Promise<ProxyStats | undefined> {
  try {
    const stats = JSON.parse(await readFile(path, 'utf8')) as ProxyStats
    return typeof stats.at === 'number' && typeof stats.services === 'object' ? stats : undefined
  } catch {
    return undefined
  }
}
