/**
 * A queue of keys to reconcile, in controller-runtime's shape. A key is queued once however often
 * it is kicked; one key is never reconciled twice at once (a kick during its reconcile runs it again
 * after); and the outcome of a reconcile decides what happens next:
 *
 *   done        nothing more until the next kick; the key's back-off is reset
 *   after(ms)   reconcile again after that time (a drain or start-up deadline), or sooner if kicked
 *   terminal    a problem that only a change can fix: reported once, not retried until `reset(key)`
 *   (thrown)    retried with a per-key exponential back-off (base doubling to max), reset on success
 *
 * Exceptions are the queue's business: a reconcile that throws is retried, never lost, never
 * hot-looped. Kicks of a key that is backing off wait for its back-off (a flood of signals cannot
 * undo it); kicks of a terminal key are ignored until it is reset.
 */
export type Outcome = {kind: 'done'} | {kind: 'after'; ms: number} | {kind: 'terminal'; reason: string}

export const done: Outcome = {kind: 'done'}
export const after = (ms: number): Outcome => ({kind: 'after', ms: Math.max(0, ms)})
export const terminal = (reason: string): Outcome => ({kind: 'terminal', reason})

export interface WorkQueueOptions<K> {
  reconcile: (key: K) => Promise<Outcome>
  /** Keys reconciled at once (distinct keys only). */
  concurrency: number
  baseDelayMs: number
  maxDelayMs: number
  /** Told once per thrown reconcile, with when it runs again. */
  onError?: (key: K, error: Error, retryInMs: number) => void
  /** Told once when a key turns terminal. */
  onTerminal?: (key: K, reason: string) => void
}

interface KeyState {
  failures: number
  /** Epoch ms before which a kick does not run it (back-off); 0 when none. */
  notBefore: number
  timer?: NodeJS.Timeout
  timerAt: number
  terminal?: string
}

export class WorkQueue<K> {
  private readonly ready: K[] = []
  private readonly queued = new Set<K>()
  private readonly active = new Set<K>()
  /** Kicked while active: queue again when its reconcile ends. */
  private readonly dirty = new Set<K>()
  private readonly states = new Map<K, KeyState>()
  private readonly idleWaiters: (() => void)[] = []
  private pumpScheduled = false
  private stopped = false

  constructor(private readonly options: WorkQueueOptions<K>) {}

  /** Queues the key now, unless it is backing off (then at the end of its back-off) or terminal. */
  add(key: K): void {
    if (this.stopped) return
    const state = this.states.get(key)
    if (state?.terminal !== undefined) return
    const now = Date.now()
    if (state && state.notBefore > now) return this.schedule(key, state.notBefore)
    this.enqueue(key)
  }

  /** Queues the key at `at` (epoch ms) unless it runs sooner. */
  addAt(key: K, at: number): void {
    if (this.stopped) return
    if (at <= Date.now()) return this.add(key)
    this.schedule(key, at)
  }

  /** Forgets the key's back-off and terminal state (its desired state changed) and queues it. */
  reset(key: K): void {
    const state = this.states.get(key)
    if (state) {
      clearTimeout(state.timer)
      this.states.delete(key)
    }
    this.add(key)
  }

  /** Drops everything known about a key that no longer exists (it may still be running). */
  forget(key: K): void {
    const state = this.states.get(key)
    if (!state) return
    clearTimeout(state.timer)
    this.states.delete(key)
  }

  terminalReason(key: K): string | undefined {
    return this.states.get(key)?.terminal
  }

  isBusy(key: K): boolean {
    return this.active.has(key) || this.queued.has(key)
  }

  /** Resolves when nothing is queued or running (scheduled keys do not count). */
  idle(): Promise<void> {
    if (this.ready.length === 0 && this.active.size === 0) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  stop(): void {
    this.stopped = true
    for (const state of this.states.values()) clearTimeout(state.timer)
    this.ready.length = 0
    this.queued.clear()
  }

  private state(key: K): KeyState {
    let state = this.states.get(key)
    if (!state) {
      state = {failures: 0, notBefore: 0, timerAt: Number.POSITIVE_INFINITY}
      this.states.set(key, state)
    }
    return state
  }

  /** Queues the key at `at`, never before its back-off ends; the earliest wanted time wins. */
  private schedule(key: K, wantedAt: number): void {
    const state = this.state(key)
    const at = Math.max(wantedAt, state.notBefore)
    if (state.timer && state.timerAt <= at) return
    clearTimeout(state.timer)
    state.timerAt = at
    const timer = setTimeout(() => {
      if (state.timer !== timer) return
      state.timer = undefined
      state.timerAt = Number.POSITIVE_INFINITY
      if (state.terminal !== undefined) return
      // Timers may fire a little before Date.now() reaches their time: keep the back-off exact.
      if (Date.now() < state.notBefore) return this.schedule(key, state.notBefore)
      this.enqueue(key)
    }, Math.max(0, at - Date.now()))
    state.timer = timer
  }

  private enqueue(key: K): void {
    if (this.stopped) return
    if (this.active.has(key)) {
      this.dirty.add(key)
      return
    }
    if (this.queued.has(key)) return
    this.queued.add(key)
    this.ready.push(key)
    // On the next turn of the event loop: a burst of kicks in one turn (one signal often comes with
    // several) folds into one reconcile instead of one now and another after it.
    if (this.pumpScheduled) return
    this.pumpScheduled = true
    setImmediate(() => {
      this.pumpScheduled = false
      this.pump()
    })
  }

  private pump(): void {
    while (!this.stopped && this.active.size < this.options.concurrency && this.ready.length > 0) {
      const key = this.ready.shift()!
      this.queued.delete(key)
      this.active.add(key)
      void this.run(key)
    }
    if (this.ready.length === 0 && this.active.size === 0) for (const resolve of this.idleWaiters.splice(0)) resolve()
  }

  private async run(key: K): Promise<void> {
    let outcome: Outcome | Error
    try {
      outcome = await this.options.reconcile(key)
    } catch (error) {
      outcome = error instanceof Error ? error : new Error(String(error))
    }
    this.active.delete(key)
    if (!this.stopped) this.settle(key, outcome)
    if (this.dirty.delete(key)) this.add(key)
    this.pump()
  }

  private settle(key: K, outcome: Outcome | Error): void {
    if (outcome instanceof Error) {
      const state = this.state(key)
      const delay = Math.min(this.options.baseDelayMs * 2 ** state.failures, this.options.maxDelayMs)
      state.failures += 1
      state.notBefore = Date.now() + delay
      this.options.onError?.(key, outcome, delay)
      this.dirty.delete(key)
      // The back-off replaces any earlier wake-up: nothing runs the key before it ends.
      clearTimeout(state.timer)
      state.timer = undefined
      this.schedule(key, state.notBefore)
      return
    }
    const state = this.states.get(key)
    if (outcome.kind === 'terminal') {
      const fresh = this.state(key)
      const told = fresh.terminal === outcome.reason
      fresh.terminal = outcome.reason
      fresh.failures = 0
      fresh.notBefore = 0
      clearTimeout(fresh.timer)
      fresh.timer = undefined
      this.dirty.delete(key)
      if (!told) this.options.onTerminal?.(key, outcome.reason)
      return
    }
    if (state) {
      state.failures = 0
      state.notBefore = 0
    }
    if (outcome.kind === 'after') this.schedule(key, Date.now() + outcome.ms)
  }
}
