/**
 * Resource limits and accounting as D-Bus properties of a transient unit, shared by instances and
 * their exec checks (a check runs with its instance's limits). Accounting is on for every unit
 * launcho starts, so that systemd can report each one's memory, CPU time and tasks.
 */
import {statfsSync} from 'node:fs'
import dbus from 'dbus-next'
import type {DbusProperties} from './unit-spec.js'

const {Variant} = dbus

export const UINT64_MAX = 2n ** 64n - 1n

/** Values as systemd's properties take them (µs, bytes, counts; UINT64_MAX is infinity). */
export interface UnitLimits {
  cpuQuotaPerSecUSec?: bigint
  cpuWeight?: bigint
  memoryHighBytes?: bigint
  tasksMax?: bigint
  ioWeight?: bigint
  openFiles?: {soft: bigint; hard: bigint}
  nice?: number
}

/** A property from the target's `systemd:` map, already checked against its allow-list. */
export interface RawProperty {
  property: string
  signature: string
  value: bigint | number | boolean | string
}

const CGROUP2_SUPER_MAGIC = 0x63677270
let accounting: string[] | undefined

/**
 * CPU, memory and task accounting on every unit, and I/O accounting where cgroups are unified (v2).
 * On a cgroup v1 host I/O accounting is the blkio hierarchy, which launcho reports nothing from,
 * and systemd realizing it for the first time holds up its whole bus for seconds (measured: 1-3 s
 * per controller in the sandbox, far more under load).
 */
export function accountingProperties(): DbusProperties {
  accounting ??= ['CPUAccounting', 'MemoryAccounting', 'TasksAccounting', ...(cgroupsUnified() ? ['IOAccounting'] : [])]
  return accounting.map((name) => [name, new Variant('b', true)])
}

function cgroupsUnified(): boolean {
  try {
    return statfsSync('/sys/fs/cgroup').type === CGROUP2_SUPER_MAGIC
  } catch {
    return false
  }
}

export function limitProperties(limits: UnitLimits = {}, extra: readonly RawProperty[] = []): DbusProperties {
  const properties: DbusProperties = []
  const add = (name: string, signature: string, value: unknown) => properties.push([name, new Variant(signature, value)])
  if (limits.cpuQuotaPerSecUSec !== undefined) add('CPUQuotaPerSecUSec', 't', limits.cpuQuotaPerSecUSec)
  if (limits.cpuWeight !== undefined) add('CPUWeight', 't', limits.cpuWeight)
  if (limits.memoryHighBytes !== undefined) add('MemoryHigh', 't', limits.memoryHighBytes)
  if (limits.tasksMax !== undefined) add('TasksMax', 't', limits.tasksMax)
  if (limits.ioWeight !== undefined) add('IOWeight', 't', limits.ioWeight)
  if (limits.openFiles !== undefined) {
    add('LimitNOFILE', 't', limits.openFiles.hard)
    add('LimitNOFILESoft', 't', limits.openFiles.soft)
  }
  if (limits.nice !== undefined) add('Nice', 'i', limits.nice)
  for (const {property, signature, value} of extra) add(property, signature, value)
  return properties
}
