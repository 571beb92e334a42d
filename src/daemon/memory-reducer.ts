/**
 * Gives memory back after a burst of work. Starting 1000 units briefly needs a few hundred MB of
 * heap; V8 keeps most of those pages mapped long after (the server sat at 260 MB RSS with ~50 MB of
 * live heap). So once RSS has risen well past what it was after the last reduction (at its peak:
 * a reduction in the middle of a burst leaves RSS high, and it sinks only part of the way after)
 * and has stopped growing (the burst is over), one memory-reducing major GC returns the pages:
 * 260 → ~150 MB at 1000 processes, and ~160 → ~125 MB once a reduction had run mid-burst. It runs
 * at most once per `minIntervalMs`, so it can never become a loop.
 *
 * Needs V8's `gc` (the server runs with --expose-gc, see bin/launcho.js); without it, does nothing.
 */
import type {Logger} from 'pino'

export interface MemoryReducerOptions {
  logger: Logger
  /** Defaults to V8's `gc` when exposed. */
  gc?: () => void
  /** Defaults to this process's resident set size. */
  rss?: () => number
  checkEveryMs?: number
  /** Growth over the size after the last reduction that makes one worth doing. */
  minGrowthBytes?: number
  /** Growth between two checks that means the burst is still on. */
  stillGrowingBytes?: number
  minIntervalMs?: number
}

const MiB = 1024 * 1024

export class MemoryReducer {
  private readonly gc: (() => void) | undefined
  private readonly rss: () => number
  private timer?: NodeJS.Timeout
  private baseline: number
  private previous: number
  /** The highest RSS seen since the last reduction. */
  private peak: number
  private lastRun = 0

  constructor(private readonly options: MemoryReducerOptions) {
    const v8gc = globalThis.gc
    this.gc = options.gc ?? (v8gc ? () => v8gc({type: 'major', execution: 'sync', flavor: 'last-resort'}) : undefined)
    this.rss = options.rss ?? (() => process.memoryUsage.rss())
    this.baseline = this.previous = this.peak = this.rss()
  }

  start(): void {
    if (!this.gc || this.timer) return
    this.timer = setInterval(() => this.check(), this.options.checkEveryMs ?? 5_000).unref()
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  /** One look: reduces when RSS rose since the last reduction, no longer grows, and none ran too recently. */
  check(now = Date.now()): boolean {
    const rss = this.rss()
    const growing = rss - this.previous > (this.options.stillGrowingBytes ?? 4 * MiB)
    this.previous = rss
    this.peak = Math.max(this.peak, rss)
    if (growing || this.peak - this.baseline < (this.options.minGrowthBytes ?? 32 * MiB)) return false
    if (now - this.lastRun < (this.options.minIntervalMs ?? 30_000)) return false
    this.lastRun = now
    const started = Date.now()
    this.gc!()
    this.baseline = this.previous = this.peak = this.rss()
    this.options.logger.debug({ms: Date.now() - started, rssMbBefore: Math.round(rss / MiB), rssMbAfter: Math.round(this.baseline / MiB)}, 'gave memory back after a burst of work')
    return true
  }
}
