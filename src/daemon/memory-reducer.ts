/**
 * Gives memory back after a burst of work. Starting 1000 units briefly needs a few hundred MB of
 * heap; V8 keeps most of those pages mapped long after (the server sat at 260 MB RSS with ~50 MB of
 * live heap). So once RSS has risen well past what it was after the last reduction (at its peak)
 * and has stopped growing (the burst is over), one memory-reducing major GC returns the pages:
 * 260 → ~150 MB at 1000 processes.
 *
 * A reduction often runs while the burst still goes on (a pause between two waves of starts): it
 * then leaves RSS at what the work needed at that moment. So each reduction is followed by one
 * more once RSS has held steady for `settleMs`: at 1000 processes that took the idle server from
 * ~165 to ~125 MB.
 *
 * Reductions run at most once per `minIntervalMs`, and one that gave back little (less than
 * `worthBytes`) doubles that interval, up to 10 minutes: this can never become a loop of full
 * GCs for nothing.
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
  /** How long RSS must hold steady after a reduction for the follow-up one. */
  settleMs?: number
  /** What a reduction must give back for the interval to stay at `minIntervalMs`. */
  worthBytes?: number
  minIntervalMs?: number
}

const MiB = 1024 * 1024
const MAX_INTERVAL_MS = 10 * 60_000

export class MemoryReducer {
  private readonly gc: (() => void) | undefined
  private readonly rss: () => number
  private timer?: NodeJS.Timeout
  /** RSS right after the last reduction (or at the start). */
  private baseline: number
  private previous: number
  /** The highest RSS seen since the last reduction. */
  private peak: number
  /** When RSS last moved by more than `stillGrowingBytes` between two checks. */
  private steadySince = 0
  /** The last reduction has not been followed by one on a settled server yet. */
  private followUp = false
  private lastRun = 0
  private readonly minInterval: number
  private interval: number

  constructor(private readonly options: MemoryReducerOptions) {
    const v8gc = globalThis.gc
    this.gc = options.gc ?? (v8gc ? () => v8gc({type: 'major', execution: 'sync', flavor: 'last-resort'}) : undefined)
    this.rss = options.rss ?? (() => process.memoryUsage.rss())
    this.baseline = this.previous = this.peak = this.rss()
    this.interval = this.minInterval = options.minIntervalMs ?? 30_000
  }

  start(): void {
    if (!this.gc || this.timer) return
    this.timer = setInterval(() => this.check(), this.options.checkEveryMs ?? 5_000).unref()
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  /** One look: reduces after a burst that is over, or to follow up one that ran during it. */
  check(now = Date.now()): boolean {
    const rss = this.rss()
    const step = this.options.stillGrowingBytes ?? 4 * MiB
    const growing = rss - this.previous > step
    if (Math.abs(rss - this.previous) > step) this.steadySince = now
    this.previous = rss
    this.peak = Math.max(this.peak, rss)
    if (growing || now - this.lastRun < this.interval) return false
    const burst = this.peak - this.baseline >= (this.options.minGrowthBytes ?? 32 * MiB)
    const settled = this.followUp && now - this.steadySince >= (this.options.settleMs ?? 30_000)
    if (!burst && !settled) return false
    this.lastRun = now
    const started = Date.now()
    this.gc!()
    this.baseline = this.previous = this.peak = this.rss()
    this.steadySince = now
    this.followUp = burst
    const gave = rss - this.baseline
    this.interval = gave >= (this.options.worthBytes ?? 8 * MiB) ? this.minInterval : Math.min(this.interval * 2, MAX_INTERVAL_MS)
    this.options.logger.debug(
      {ms: Date.now() - started, rssMbBefore: Math.round(rss / MiB), rssMbAfter: Math.round(this.baseline / MiB), settled: !burst},
      burst ? 'gave memory back after a burst of work' : 'gave memory back once the server had settled',
    )
    return true
  }
}
