/**
 * Bounds how many calls wait for a reply at once. dbus-daemon refuses a call outright ("The
 * maximum number of pending replies per connection has been reached") once a connection has 128
 * unanswered calls, so every call on one connection goes through one limiter set well below that.
 * Calls start in the order they were asked for.
 *
 * A call's deadline runs from when it is sent. While it waits for a slot it gives up only when no
 * call has been answered for that long either: a stuck bus, not a busy one (a burst of 1000 starts
 * keeps the last ones queued for seconds while every slot keeps moving).
 */
export const DEFAULT_CALLS_IN_FLIGHT = 32

interface Queued {
  begin: () => void
}

export class Limiter {
  private active = 0
  private readonly queue: Queued[] = []
  private lastAnsweredAt = Date.now()

  constructor(readonly max: number = DEFAULT_CALLS_IN_FLIGHT) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`a limiter needs at least 1 slot, not ${max}`)
  }

  /** Calls sent and not yet answered. */
  get inFlight(): number {
    return this.active
  }

  /** Calls waiting for a slot. */
  get waiting(): number {
    return this.queue.length
  }

  /**
   * Runs `task` in a slot. The slot is held until the task settles, even when the caller was told
   * `timedOut()` first: the bus still counts that call as pending until its reply comes.
   */
  run<T>(task: () => Promise<T>, timeoutMs: number, timedOut: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false
      let timer: NodeJS.Timeout | undefined
      const settle = (outcome: () => void) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        outcome()
      }
      const begin = () => {
        clearTimeout(timer)
        timer = setTimeout(() => settle(() => reject(timedOut())), timeoutMs)
        Promise.resolve()
          .then(task)
          .then(
            (value) => settle(() => resolve(value)),
            (error: unknown) => settle(() => reject(error)),
          )
          .finally(() => {
            this.lastAnsweredAt = Date.now()
            this.release()
          })
      }
      if (this.active < this.max) {
        this.active++
        begin()
        return
      }
      const queuedAt = Date.now()
      const entry: Queued = {begin}
      this.queue.push(entry)
      const check = () => {
        const stillFor = Date.now() - Math.max(this.lastAnsweredAt, queuedAt)
        if (stillFor < timeoutMs) {
          timer = setTimeout(check, timeoutMs - stillFor)
          return
        }
        this.queue.splice(this.queue.indexOf(entry), 1)
        settle(() => reject(timedOut()))
      }
      timer = setTimeout(check, timeoutMs)
    })
  }

  private release(): void {
    // Hand the slot straight to the next caller, so `active` never dips below what runs.
    const next = this.queue.shift()
    if (next) next.begin()
    else this.active--
  }
}
