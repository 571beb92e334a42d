/**
 * What `launcho status` reports per process: its desired version, each instance systemd runs for
 * it (every replica, with its phase), and the crash policy's view (crash-looping, next start, last failure).
 */
import type {ObservedUnit, UnitUsage} from '../systemd/manager.js'
import type {InstanceFacts} from '../rollout/rollout.js'
import type {FailedRollout} from './context.js'
import type {CrashTracker, Failure} from './crash-policy.js'
import {isDesiredUnit, type DesiredProcess, type DesiredState} from './desired.js'
import {replicaOf} from '../systemd/unit-name.js'
import type {Exposure} from '../systemd/exposure.js'

export type ProcessState = 'running' | 'starting' | 'failing-to-start' | 'crash-looping' | 'stopping' | 'pending' | 'rolling-out' | 'rollout-failed' | 'stopped'

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
  /** starting | healthy | unhealthy | failed (no check: healthy once active) */
  health: string
  /** in | draining | out: whether the load balancer sends it new connections */
  traffic: string
  /** starting | checking | serving | draining | stopping | gone | failed (Instance, src/rollout/instance.ts) */
  phase: string
  /** Its replica index (0 to replicas - 1). */
  replica: number
  ports: Record<string, number>
  lastCheck?: {ok: boolean; detail: string; at: string}
  /** systemd lists the unit but reading it failed just now; the other fields are from the last read. */
  readError?: string
  memoryBytes?: number
  cpuSeconds?: number
  tasks?: number
}

export interface ProcessStatus {
  name: string
  version?: string
  replicas?: number
  state: ProcessState
  instances: InstanceStatus[]
  retryAt?: string
  retryDelayMs?: number
  lastFailure?: {at: string; unit: string; reason: string}
  rolloutFailure?: {at: string; version: string; reason: string; output?: string[]}
  sandbox?: string
  exposure?: Exposure
  problem?: string
}

export interface StatusSources {
  desired: DesiredState
  tracker: (process: string) => CrashTracker
  facts: (unit: ObservedUnit) => InstanceFacts
  ports: (unit: string) => Record<string, number>
  lastCheck: (unit: string) => {ok: boolean; detail: string; at: number} | undefined
  failedRollouts: Map<string, FailedRollout>
  /** A terminal problem: why the process cannot run until the target changes. */
  problem?: (process: string) => string | undefined
  /** Processes of the target stopped with `launcho stop` (not desired, so not in `desired`). */
  stopped?: readonly string[]
  /** systemd's accounting of running units (left out where it was not read). */
  usage?: (unit: string) => UnitUsage | undefined
}

/** `observed` may include units that could not be read (with `readError`): shown, marked. */
export function buildStatus(sources: StatusSources, observed: Array<ObservedUnit & {readError?: string}>, now: number): ProcessStatus[] {
  const {desired, tracker} = sources
  const byProcess = new Map<string, ObservedUnit[]>()
  for (const unit of observed) {
    const units = byProcess.get(unit.process)
    if (units) units.push(unit)
    else byProcess.set(unit.process, [unit])
  }
  const stopped = new Set(sources.stopped ?? [])
  const names = [...new Set([...desired.keys(), ...byProcess.keys(), ...stopped])].sort()
  return names.map((name) => {
    const wanted = desired.get(name)
    const units = byProcess.get(name) ?? []
    if (!wanted && stopped.has(name)) {
      return {name, state: units.length > 0 ? 'stopping' : 'stopped', instances: units.map((unit) => instanceStatus(unit, false, now, sources))}
    }
    const crash = tracker(name).view(now)
    const current = units.find((unit) => unit.name === wanted?.unit) ?? units.find((unit) => isDesiredUnit(wanted, unit.name))
    const failed = sources.failedRollouts.get(name)
    const problem = wanted ? sources.problem?.(name) : undefined
    let state = stateOf(wanted !== undefined, current, crash.looping)
    if (wanted && crash.failingToStart && !crash.looping && current?.activeState !== 'active') state = 'failing-to-start'
    if (problem !== undefined && current?.activeState !== 'active') state = 'failing-to-start'
    if (failed && failed.version === wanted?.version) state = 'rollout-failed'
    else if (state === 'running' && rollingOut(wanted, units)) state = 'rolling-out'
    return {
      name,
      ...(wanted ? {version: wanted.version, replicas: wanted.replicas} : {}),
      state,
      instances: units.map((unit) => instanceStatus(unit, isDesiredUnit(wanted, unit.name), now, sources)),
      ...(failed ? {rolloutFailure: {at: new Date(failed.at).toISOString(), version: failed.version, reason: failed.reason, ...(failed.output?.length ? {output: failed.output} : {})}} : {}),
      ...(crash.retryAt !== undefined ? {retryAt: new Date(crash.retryAt).toISOString()} : {}),
      ...(crash.delayMs !== undefined ? {retryDelayMs: crash.delayMs} : {}),
      ...(crash.lastFailure ? {lastFailure: failureJson(crash.lastFailure)} : {}),
      ...(wanted ? {sandbox: wanted.sandbox ?? 'none'} : {}),
      ...(wanted?.exposure ? {exposure: wanted.exposure} : {}),
      ...(problem !== undefined ? {problem} : {}),
    }
  })
}

/** Instances other than the desired replicas run (old, or scaled away), or some replicas are missing. */
function rollingOut(wanted: DesiredProcess | undefined, units: ObservedUnit[]): boolean {
  if (!wanted) return false
  const present = units.filter((unit) => isDesiredUnit(wanted, unit.name)).length
  return present !== units.length || present < wanted.replicas
}

function stateOf(wanted: boolean, current: ObservedUnit | undefined, looping: boolean): ProcessState {
  if (!wanted) return 'stopping'
  if (looping && !(current?.activeState === 'active')) return 'crash-looping'
  if (!current) return looping ? 'crash-looping' : 'pending'
  if (current.activeState === 'active') return looping ? 'crash-looping' : 'running'
  return looping ? 'crash-looping' : 'starting'
}

function instanceStatus(unit: ObservedUnit & {readError?: string}, current: boolean, now: number, sources: StatusSources): InstanceStatus {
  const running = unit.activeState === 'active' && unit.execMainStartUs > 0
  const facts = sources.facts(unit)
  const check = sources.lastCheck(unit.name)
  const usage = sources.usage?.(unit.name)
  return {
    health: facts.health,
    traffic: facts.membership,
    phase: facts.phase ?? (unit.activeState === 'active' ? 'checking' : 'starting'),
    replica: replicaOf(unit.name) ?? 0,
    ports: sources.ports(unit.name),
    ...(check ? {lastCheck: {ok: check.ok, detail: check.detail, at: new Date(check.at).toISOString()}} : {}),
    unit: unit.name,
    version: unit.version,
    current,
    activeState: unit.activeState,
    subState: unit.subState,
    pid: unit.mainPid,
    restarts: unit.nRestarts,
    ...(unit.readError !== undefined ? {readError: unit.readError} : {}),
    ...(usage?.memoryBytes !== undefined ? {memoryBytes: usage.memoryBytes} : {}),
    ...(usage?.cpuNs !== undefined ? {cpuSeconds: Number(usage.cpuNs / 1_000_000n) / 1000} : {}),
    ...(usage?.tasks !== undefined ? {tasks: usage.tasks} : {}),
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
