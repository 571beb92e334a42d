/**
 * Each instance's resource use as systemd accounts it (MemoryCurrent, CPUUsageNSec, TasksCurrent
 * of its service), read when `status` asks. systemd sends no signal when these change, so they are
 * read then: three property reads per running unit, shared by overlapping status calls and kept
 * for a second, so that `status -w` and a deploy's follower do not read 1000 units on every event.
 */
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
const KEEP_MS = 1_000

export class UsageReader {
  private readonly kept = new Map<string, {at: number; usage: Promise<UnitUsage | undefined>}>()

  constructor(private readonly bus: Bus) {}

  /** Usage of each unit that could be read (a unit gone meanwhile is left out). */
  async read(units: readonly string[], now = Date.now()): Promise<Map<string, UnitUsage>> {
    for (const [unit, entry] of this.kept) if (now - entry.at > KEEP_MS) this.kept.delete(unit)
    const read = await Promise.all(
      units.map(async (unit) => {
        let entry = this.kept.get(unit)
        if (!entry) this.kept.set(unit, (entry = {at: now, usage: this.fetch(unit)}))
        return [unit, await entry.usage] as const
      }),
    )
    return new Map(read.filter((pair): pair is readonly [string, UnitUsage] => pair[1] !== undefined))
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
      // Gone, or unreadable now: status shows no usage for it this time, and reads it again next.
      this.kept.delete(unit)
      return undefined
    }
  }
}
