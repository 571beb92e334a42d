/**
 * Each instance's resource use as systemd accounts it (MemoryCurrent, CPUUsageNSec, TasksCurrent
 * of its service), read when `status` asks: systemd sends no signal when these change. That is
 * three property reads per running unit (3000 at 1000 processes). So values are read again only
 * when older than FRESH_MS, and a status call answers from the last values meanwhile. Only the
 * server's first status call waits (at most WAIT_MS) for reads, so that it shows usage at all;
 * after that a unit never read yet (a new instance) shows none until its read is in, rather than
 * every status during a rollout waiting up to WAIT_MS for the instances that just started.
 *
 * Reads go through a few workers, not all at once: 3000 calls queued together would cost the
 * status call that queued them ~40 ms of marshalling at 1000 processes, and every other call on
 * the bus (a reconcile's start, the next status's listing) would wait behind them in the limiter.
 * A refresh that nobody waits for starts after the answer that asked for it has gone.
 */
import {setTimeout as delay} from 'node:timers/promises'
import {PROPERTIES_IFACE, SERVICE_IFACE, type Bus} from './bus.js'
import {unitPathOf} from './unit-name.js'

export interface UnitUsage {
  /** Bytes of memory its cgroup uses now. */
  memoryBytes?: number
  /** CPU time its processes have used, in nanoseconds. */
  cpuNs?: bigint
  /** Tasks (processes and threads) in its cgroup now. */
  tasks?: number
}

/** systemd's "not known" for each of them (accounting off, or no cgroup yet). */
const UNSET = 2n ** 64n - 1n
const FRESH_MS = 2_000
const WAIT_MS = 300
/** Units read at once (three calls each): well under the bus limiter's slots, so others get theirs. */
export const USAGE_WORKERS = 8

interface Entry {
  usage?: UnitUsage
  readAt?: number
  /** Queued for a read, or being read. */
  due: boolean
  /** Resolved by the entry's next read (made only for a first read, which a caller waits for). */
  read?: {promise: Promise<void>; resolve: () => void}
}

export class UsageReader {
  private readonly entries = new Map<string, Entry>()
  private readonly queue: string[] = []
  private workers = 0
  /** Some read has ended: status calls no longer wait for any. */
  private answered = false

  constructor(private readonly bus: Bus) {}

  /** The usage known of each of `units` (the running ones); others are forgotten. */
  async read(units: readonly string[]): Promise<Map<string, UnitUsage>> {
    const wanted = new Set(units)
    for (const unit of this.entries.keys()) if (!wanted.has(unit)) this.entries.delete(unit)
    const now = Date.now()
    const firstReads: Array<Promise<void>> = []
    for (const unit of units) {
      let entry = this.entries.get(unit)
      if (!entry) this.entries.set(unit, (entry = {due: false}))
      if (!entry.due && (entry.readAt === undefined || now - entry.readAt > FRESH_MS)) {
        entry.due = true
        this.queue.push(unit)
      }
      if (entry.readAt === undefined && !this.answered) {
        entry.read ??= settledBy()
        firstReads.push(entry.read.promise)
      }
    }
    if (firstReads.length > 0) {
      this.startWorkers()
      await Promise.race([Promise.all(firstReads), delay(WAIT_MS)])
    } else if (this.queue.length > 0) {
      setImmediate(() => this.startWorkers())
    }
    const known = new Map<string, UnitUsage>()
    for (const unit of units) {
      const usage = this.entries.get(unit)?.usage
      if (usage) known.set(unit, usage)
    }
    return known
  }

  private startWorkers(): void {
    while (this.workers < USAGE_WORKERS && this.workers < this.queue.length) {
      this.workers++
      void this.work().finally(() => this.workers--)
    }
  }

  private async work(): Promise<void> {
    for (let unit = this.queue.shift(); unit !== undefined; unit = this.queue.shift()) {
      const entry = this.entries.get(unit)
      // Forgotten while queued (no longer running): not read.
      if (!entry?.due) continue
      const usage = await this.fetch(unit)
      entry.usage = usage
      entry.readAt = Date.now()
      entry.due = false
      this.answered = true
      entry.read?.resolve()
      entry.read = undefined
    }
  }

  private async fetch(unit: string): Promise<UnitUsage | undefined> {
    const path = unitPathOf(unit)
    const get = async (property: string): Promise<bigint | undefined> => {
      const [variant] = (await this.bus.call({path, iface: PROPERTIES_IFACE, member: 'Get', signature: 'ss', body: [SERVICE_IFACE, property]})) as [{value: unknown}]
      const value = variant?.value
      return typeof value === 'bigint' && value !== UNSET ? value : undefined
    }
    try {
      const [memory, cpu, tasks] = await Promise.all([get('MemoryCurrent'), get('CPUUsageNSec'), get('TasksCurrent')])
      return {
        ...(memory !== undefined ? {memoryBytes: Number(memory)} : {}),
        ...(cpu !== undefined ? {cpuNs: cpu} : {}),
        ...(tasks !== undefined ? {tasks: Number(tasks)} : {}),
      }
    } catch {
      // Gone, or unreadable now: no usage for it this time; it is read again next time.
      return undefined
    }
  }
}

function settledBy(): {promise: Promise<void>; resolve: () => void} {
  let resolve!: () => void
  const promise = new Promise<void>((r) => (resolve = r))
  return {promise, resolve}
}
