/**
 * What `launcho status` reports per process: its desired version, each instance systemd runs for
 * it, and the crash policy's view (crash-looping, next start, last failure).
 */
import type {ObservedUnit} from '../systemd/manager.js'
import type {CrashTracker, Failure} from './crash-policy.js'
import type {DesiredState} from './desired.js'

export type ProcessState = 'running' | 'starting' | 'crash-looping' | 'stopping' | 'pending'

export interface InstanceStatus {
  unit: string
  version: string
  current: boolean
  activeState: string
  subState: string
  pid: number
  restarts: number
  /** ISO time the running main process started. */
  startedAt?: string
  uptimeSeconds?: number
}

export interface ProcessStatus {
  name: string
  version?: string
  state: ProcessState
  instances: InstanceStatus[]
  retryAt?: string
  retryDelayMs?: number
  lastFailure?: {at: string; unit: string; reason: string}
}

export function buildStatus(
  desired: DesiredState,
  observed: ObservedUnit[],
  tracker: (process: string) => CrashTracker,
  now: number,
): ProcessStatus[] {
  const names = [...new Set([...desired.keys(), ...observed.map((unit) => unit.process)])].sort()
  return names.map((name) => {
    const wanted = desired.get(name)
    const units = observed.filter((unit) => unit.process === name)
    const crash = tracker(name).view(now)
    const current = units.find((unit) => unit.name === wanted?.unit)
    return {
      name,
      ...(wanted ? {version: wanted.version} : {}),
      state: stateOf(wanted !== undefined, current, crash.looping),
      instances: units.map((unit) => instanceStatus(unit, unit.name === wanted?.unit, now)),
      ...(crash.retryAt !== undefined ? {retryAt: new Date(crash.retryAt).toISOString()} : {}),
      ...(crash.delayMs !== undefined ? {retryDelayMs: crash.delayMs} : {}),
      ...(crash.lastFailure ? {lastFailure: failureJson(crash.lastFailure)} : {}),
    }
  })
}

function stateOf(wanted: boolean, current: ObservedUnit | undefined, looping: boolean): ProcessState {
  if (!wanted) return 'stopping'
  if (looping && !(current?.activeState === 'active')) return 'crash-looping'
  if (!current) return looping ? 'crash-looping' : 'pending'
  if (current.activeState === 'active') return looping ? 'crash-looping' : 'running'
  return looping ? 'crash-looping' : 'starting'
}

function instanceStatus(unit: ObservedUnit, current: boolean, now: number): InstanceStatus {
  const running = unit.activeState === 'active' && unit.execMainStartUs > 0
  return {
    unit: unit.name,
    version: unit.version,
    current,
    activeState: unit.activeState,
    subState: unit.subState,
    pid: unit.mainPid,
    restarts: unit.nRestarts,
    ...(running
      ? {
          startedAt: new Date(unit.execMainStartUs / 1000).toISOString(),
          uptimeSeconds: Math.max(0, Math.round((now - unit.execMainStartUs / 1000) / 1000)),
        }
      : {}),
  }
}

function failureJson(failure: Failure): {at: string; unit: string; reason: string} {
  return {at: new Date(failure.at).toISOString(), unit: failure.unit, reason: failure.reason}
}
