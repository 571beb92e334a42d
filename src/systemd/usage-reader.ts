/**
 * Each instance's resource use as systemd accounts it (MemoryCurrent, CPUUsageNSec, TasksCurrent
 * of its service), read when `status` asks: systemd sends no signal when these change. That is
 * three property reads per running unit (200 units: ~150-300 ms under load). So values are read
 * again only when older than FRESH_MS, in the background while the last ones answer; a status call
 * waits (at most WAIT_MS) only for units never read yet, and leaves out those still unread then.
 */
import {setTimeout as delay} from 'node:timers/promises'
import {PROPERTIES_IFACE, type Bus} from './bus.js'
import {unitPathOf} from './unit-name.js'

export interface UnitUsage {
  /** Bytes of memory its cgroup uses now. */
  memoryBytes?: number
  /** CPU time its processes have used, in nanoseconds. */
  cpuNs?: bigint
  /** Tasks (processes and threads) in its cgroup now. */
  tasks?: number
}

const SERVICE_IFACE = 'org.freedesktop.systemd1.Service'
/** systemd's "not known" for each of them (accounting off, or no cgroup yet). */
const UNSET = 2n ** 64n - 1n
const FRESH_MS = 2_000
const WAIT_MS = 300

interface Entry {
  usage?: UnitUsage
  readAt?: number
  pending?: Promise<void>
}

export class UsageReader {
  private readonly entries = new Map<string, Entry>()

  constructor(private readonly bus: Bus) {}

  /** The usage known of each of `units` (the running ones); others are forgotten. */
  async read(units: readonly string[]): Promise<Map<string, UnitUsage>> {
    const wanted = new Set(units)
    for (const unit of this.entries.keys()) if (!wanted.has(unit)) this.entries.delete(unit)
    const now = Date.now()
    const pending: Array<Promise<void>> = []
    for (const unit of units) {
      let entry = this.entries.get(unit)
      if (!entry) this.entries.set(unit, (entry = {}))
      if (!entry.pending && (entry.readAt === undefined || now - entry.readAt > FRESH_MS)) {
        const reading = entry
        reading.pending = this.fetch(unit)
          .then((usage) => {
            reading.usage = usage
            reading.readAt = Date.now()
          })
          .finally(() => (reading.pending = undefined))
      }
      // Waited for only when nothing was read of it yet; otherwise its last values answer meanwhile.
      if (entry.pending && entry.readAt === undefined) pending.push(entry.pending)
    }
    if (pending.length > 0) await Promise.race([Promise.all(pending), delay(WAIT_MS)])
    const known = new Map<string, UnitUsage>()
    for (const unit of units) {
      const usage = this.entries.get(unit)?.usage
      if (usage) known.set(unit, usage)
    }
    return known
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
