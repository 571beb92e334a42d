/**
 * Bounds the systemd jobs (starts, stops, restarts) launcho has queued at once. systemd tracks the
 * client of every queued job with a match rule on its own bus connection, and dbus-daemon allows
 * one connection 512 of them: a burst of 1000 starts made dbus-daemon refuse systemd's rules and
 * systemd drop off the bus (every call in flight failed, every JobRemoved was lost).
 *
 * A job holds one of `quick` slots while it is young. One that runs longer than `youngMs` (a slow
 * `before`, a long stop) gives its slot to the next job, so a few slow starts never hold up the
 * others, but still counts against `most`, the bound on all jobs queued at once.
 */
export interface JobSlotOptions {
  quick: number
  most: number
  youngMs: number
}

export const DEFAULT_JOB_SLOTS: JobSlotOptions = {quick: 32, most: 256, youngMs: 1_000}

export interface JobSlot {
  release(): void
}

export class JobSlots {
  private young = 0
  private queued = 0
  private readonly waiters: Array<{take: () => void; fail: (error: Error) => void}> = []

  constructor(private readonly options: JobSlotOptions = DEFAULT_JOB_SLOTS) {}

  /** Jobs holding a slot now (young or not). */
  get outstanding(): number {
    return this.queued
  }

  get waiting(): number {
    return this.waiters.length
  }

  /** Resolves with a slot once one is free; release it when the job has ended (or never started). */
  acquire(): Promise<JobSlot> {
    return new Promise<JobSlot>((resolve, reject) => {
      this.waiters.push({take: () => resolve(this.take()), fail: reject})
      this.pump()
    })
  }

  /** Fails every waiter (the bus they would have used is gone). */
  failWaiting(error: Error): void {
    for (const waiter of this.waiters.splice(0)) waiter.fail(error)
  }

  private take(): JobSlot {
    this.young++
    this.queued++
    let isYoung = true
    let released = false
    const grownUp = setTimeout(() => {
      isYoung = false
      this.young--
      this.pump()
    }, this.options.youngMs)
    return {
      release: () => {
        if (released) return
        released = true
        clearTimeout(grownUp)
        if (isYoung) this.young--
        this.queued--
        this.pump()
      },
    }
  }

  private pump(): void {
    while (this.waiters.length > 0 && this.young < this.options.quick && this.queued < this.options.most) {
      this.waiters.shift()!.take()
    }
  }
}
