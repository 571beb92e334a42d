/**
 * The desired state: every process of the target with secrets substituted, its version, and the
 * unit that one instance of it becomes. The version covers the rendered spec, the process's
 * restart generation (so `launcho restart` is just another new version) and how launcho renders
 * units (so an upgrade that renders them differently replaces each instance once).
 */
import {createHmac} from 'node:crypto'
import {join} from 'node:path'
import type {ProcessSpec, Target} from '../target/load.js'
import {secretsUsedBy} from '../target/substitute.js'
import {versionOf} from '../target/version.js'
import {memorySizeBytes} from '../target/memory-size.js'
import {unitNameOf} from '../systemd/unit-name.js'
import type {UnitSpec} from '../systemd/unit-spec.js'
import type {SandboxPreset, SandboxSpec} from '../systemd/sandbox-presets.js'
import type {Exposure} from '../systemd/exposure.js'
import {dynamicNameOf, dynamicWorkDirOf, dynamicWorkingDirectoryOf} from './dynamic-user.js'
import {UINT64_MAX, type RawProperty, type UnitLimits} from '../systemd/unit-limits.js'
import {cpuQuotaUsecPerSec, fileLimitOf} from '../target/limits.js'
import {extraPropertiesOf} from '../target/systemd-map.js'
import {argvMaskedOf, argvTemplateOf, renderArgv, type ArgvWord} from '../target/argv-ports.js'
import type {CheckContext} from '../health/policy.js'
import type {StateDir} from '../store/state-dir.js'

export interface DesiredProcess {
  /** Secrets substituted: what runs. */
  spec: ProcessSpec
  /** Placeholders kept: what the operator wrote (for explaining changes without values). */
  template: ProcessSpec
  /** Keyed hash of each used secret's value, to tell which secret changed without keeping values. */
  secretDigests: Record<string, string>
  generation: number
  version: string
  /** How many instances run at once, and how many new ones a rollout starts above that at a time. */
  replicas: number
  maxSurge: number
  /** Replica 0's unit (the one every process has). */
  unit: string
  /** One unit per replica, by index: `unit` first. */
  units: string[]
  /** `command`, `health.command` and the per-instance hooks with secrets substituted and port references marked. */
  argv: ProcessArgv
  /** Its sandbox preset: the target's, else the server's default (absent: none). */
  sandbox?: SandboxPreset
  /** The worst exposure its units may have: the target's, else the server's; none when absent. */
  maxExposure?: number
  /** Its unit's exposure, once measured (daemon/exposure-service.ts). */
  exposure?: Exposure
}

export interface ProcessArgv {
  command: ArgvWord[]
  healthCommand?: ArgvWord[]
  afterStart?: ArgvWord[]
  beforeStop?: ArgvWord[]
}

/** What the server adds to a process that does not say (config `sandbox`, `maxExposure`). */
export interface ProcessDefaults {
  sandbox: SandboxPreset
  maxExposure?: number
}

export const NO_DEFAULTS: ProcessDefaults = {sandbox: 'none'}

/**
 * How units are rendered, in every version: 2 = commands passed with no `$` expansion by systemd
 * and ports substituted by launcho (1, implicit, let systemd expand the env into them).
 */
const RENDERING = 2

export type DesiredState = Map<string, DesiredProcess>

export function desiredStateOf(
  template: Target,
  resolved: Target,
  secrets: ReadonlyMap<string, string>,
  generations: ReadonlyMap<string, number>,
  versionKey: Buffer,
  defaults: ProcessDefaults = NO_DEFAULTS,
): DesiredState {
  const used = secretsUsedBy(template)
  const desired: DesiredState = new Map()
  resolved.processes.forEach((given, i) => {
    // The effective preset is part of what runs (and of the version); `none` is left out, so a
    // target that never had a sandbox keeps its versions.
    const sandbox = given.sandbox ?? defaults.sandbox
    const {sandbox: _, ...rest} = given
    const spec: ProcessSpec = sandbox === 'none' ? rest : {...rest, sandbox}
    const maxExposure = given.maxExposure ?? defaults.maxExposure
    const generation = generations.get(spec.name) ?? 0
    const base = versionOf(spec, versionKey)
    const version = createHmac('sha256', versionKey).update(`${base}#${generation}#rendering-${RENDERING}`).digest('hex').slice(0, 8)
    const secretDigests: Record<string, string> = {}
    for (const name of [...(used.get(spec.name) ?? [])].sort()) {
      secretDigests[name] = createHmac('sha256', versionKey).update(secrets.get(name) ?? '').digest('hex')
    }
    const written = template.processes[i]!
    const healthCommand = written.health?.command
    const hook = (key: 'afterStart' | 'beforeStop') => {
      const words = written.hooks?.[key]
      return words ? {[key]: argvTemplateOf(words, spec.hooks?.[key] ?? [], secrets)} : {}
    }
    desired.set(spec.name, {
      spec,
      template: written,
      secretDigests,
      generation,
      version,
      ...replicaUnits(spec, version),
      argv: {
        command: argvTemplateOf(written.command, spec.command, secrets),
        ...(healthCommand ? {healthCommand: argvTemplateOf(healthCommand, spec.health?.command ?? [], secrets)} : {}),
        ...hook('afterStart'),
        ...hook('beforeStop'),
      },
      ...(sandbox === 'none' ? {} : {sandbox}),
      ...(maxExposure === undefined ? {} : {maxExposure}),
    })
  })
  return desired
}

/**
 * The units of a process's replicas. `replicas` and `maxSurge` are left out of the version
 * (target/version.ts): changing them starts or stops replicas, it replaces none.
 */
export function replicaUnits(spec: Pick<ProcessSpec, 'name' | 'replicas' | 'maxSurge'>, version: string): Pick<DesiredProcess, 'replicas' | 'maxSurge' | 'unit' | 'units'> {
  const replicas = spec.replicas ?? 1
  const units = Array.from({length: replicas}, (_, replica) => unitNameOf({process: spec.name, version, replica}))
  return {replicas, maxSurge: spec.maxSurge ?? 1, unit: units[0]!, units}
}

/** Whether `unit` is one of the desired replicas of its process. */
export function isDesiredUnit(process: DesiredProcess | undefined, unit: string): boolean {
  return process !== undefined && process.units.includes(unit)
}

export interface UnitTimings {
  restartDelayMs: number
  stopTimeoutMs: number
  startTimeoutMs: number
}

/**
 * The unit of one instance. The target's env (secrets substituted) goes in `environmentFile`,
 * which the caller writes with `renderEnvironmentFile(process.spec.env)`; only the ports, which
 * are not secret and from which a restarted server re-reads them, stay in the unit's environment.
 * `ports` maps each `SERVICE_PORT_<NAME>` to its port, also for the command's references.
 */
export function unitSpecOf(
  process: DesiredProcess,
  unit: string,
  place: {workingDirectory: string; environmentFile: string; ports: Record<string, string>; credentialsDir?: string},
  timings: UnitTimings,
): UnitSpec {
  const sandbox = sandboxOf(process, unit, place.workingDirectory)
  const credentials = credentialFilesOf(process, place.credentialsDir)
  const {spec, version} = process
  return {
    name: unit,
    description: `launcho ${spec.name} (${version})`,
    command: renderArgv(process.argv.command, place.ports),
    ...(spec.before !== undefined ? {before: spec.before} : {}),
    ...(process.argv.afterStart ? {afterStart: renderArgv(process.argv.afterStart, place.ports)} : {}),
    ...(process.argv.beforeStop ? {beforeStop: renderArgv(process.argv.beforeStop, place.ports)} : {}),
    env: place.ports,
    environmentFile: place.environmentFile,
    ...(spec.uid !== undefined ? {user: spec.uid} : {}),
    ...(spec.gid !== undefined ? {group: spec.gid} : {}),
    workingDirectory: place.workingDirectory,
    syslogIdentifier: spec.name,
    journalFields: {LAUNCHO_PROCESS: spec.name, LAUNCHO_VERSION: version},
    ...timings,
    ...(spec.memoryMax !== undefined ? {memoryMaxBytes: memorySizeBytes(spec.memoryMax)!} : {}),
    ...(sandbox ? {sandbox} : {}),
    ...(credentials ? {credentials} : {}),
    ...unitLimitsOf(spec),
  }
}

/** The argvs of a unit as written (secrets as `${NAME}`): for showing, never for running. */
export function maskedArgvOf(template: ProcessSpec): ProcessArgv {
  const {afterStart, beforeStop} = template.hooks ?? {}
  return {
    command: argvMaskedOf(template.command),
    ...(afterStart ? {afterStart: argvMaskedOf(afterStart)} : {}),
    ...(beforeStop ? {beforeStop: argvMaskedOf(beforeStop)} : {}),
  }
}

/**
 * The sandbox of a unit of this process (its instance `unit`, or a check of it) working in
 * `workingDirectory`; none for `sandbox: none` alone. A dynamic user's directory is its
 * StateDirectory, writable without a bind.
 */
export function sandboxOf(process: DesiredProcess, unit: string, workingDirectory: string): SandboxSpec | undefined {
  const {memoryDenyWriteExecute, dynamicUser} = process.spec
  const preset = process.sandbox ?? 'none'
  if (preset === 'none' && !memoryDenyWriteExecute && !dynamicUser) return undefined
  return {
    preset,
    writablePaths: dynamicUser ? [] : [workingDirectory],
    ...(memoryDenyWriteExecute ? {memoryDenyWriteExecute} : {}),
    ...(dynamicUser ? {dynamicUser: dynamicNameOf(unit)} : {}),
  }
}

export interface WorkDir {
  /** Where launcho (root, on the host) makes, fills and removes it. */
  path: string
  /** The unit's WorkingDirectory=. */
  workingDirectory: string
  /** launcho's own (made for the instance, removed with it), not the target's `cwd`. */
  own: boolean
}

/** An instance's working directory: the target's `cwd`, a dynamic user's StateDirectory, or a fresh one under instances/. */
export function workDirOf(process: DesiredProcess, unit: string, stateDir: StateDir): WorkDir {
  const {cwd, dynamicUser} = process.spec
  if (cwd !== undefined) return {path: cwd, workingDirectory: cwd, own: false}
  if (dynamicUser) return {path: dynamicWorkDirOf(unit), workingDirectory: dynamicWorkingDirectoryOf(unit), own: true}
  const path = stateDir.instanceDir(unit)
  return {path, workingDirectory: path, own: true}
}

/** Credential name → its file in `dir` (the instance's credentials dir), or undefined without credentials. */
export function credentialFilesOf(process: DesiredProcess, dir: string | undefined): Record<string, string> | undefined {
  const names = Object.keys(process.spec.credentials ?? {})
  if (names.length === 0 || dir === undefined) return undefined
  return Object.fromEntries(names.map((name) => [name, join(dir, name)]))
}

/** The limits and `systemd:` properties of a process as its units (instances and checks) take them. */
export function unitLimitsOf(spec: ProcessSpec): {limits?: UnitLimits; extra?: RawProperty[]} {
  const limits: UnitLimits = {
    ...(spec.cpuQuota !== undefined ? {cpuQuotaPerSecUSec: cpuQuotaUsecPerSec(spec.cpuQuota)} : {}),
    ...(spec.cpuWeight !== undefined ? {cpuWeight: BigInt(spec.cpuWeight)} : {}),
    ...(spec.memoryHigh !== undefined ? {memoryHighBytes: memorySizeBytes(spec.memoryHigh)!} : {}),
    ...(spec.tasksMax !== undefined ? {tasksMax: spec.tasksMax === 'infinity' ? UINT64_MAX : BigInt(spec.tasksMax)} : {}),
    ...(spec.ioWeight !== undefined ? {ioWeight: BigInt(spec.ioWeight)} : {}),
    ...(spec.nice !== undefined ? {nice: spec.nice} : {}),
  }
  if (spec.limitNOFILE !== undefined) {
    const {soft, hard} = fileLimitOf(spec.limitNOFILE)
    limits.openFiles = {soft: BigInt(soft), hard: BigInt(hard)}
  }
  const extra = extraPropertiesOf(spec.systemd)
  return {...(Object.keys(limits).length > 0 ? {limits} : {}), ...(extra.length > 0 ? {extra} : {})}
}

/** What an exec health check of this process's instance runs like: that instance's user, directory, env and limits. */
export function checkContextOf(process: DesiredProcess, unit: string, stateDir: StateDir): CheckContext {
  const {spec} = process
  const cwd = workDirOf(process, unit, stateDir).workingDirectory
  const sandbox = sandboxOf(process, unit, cwd)
  const credentials = credentialFilesOf(process, stateDir.credentialsDir(unit))
  return {
    unit,
    cwd,
    ...(sandbox ? {sandbox} : {}),
    ...(credentials ? {credentials} : {}),
    env: spec.env,
    environmentFile: stateDir.environmentFile(unit),
    ...(spec.uid !== undefined ? {uid: spec.uid} : {}),
    ...(spec.gid !== undefined ? {gid: spec.gid} : {}),
    ...(spec.memoryMax !== undefined ? {memoryMax: spec.memoryMax} : {}),
    ...unitLimitsOf(spec),
    ...(process.argv.healthCommand ? {command: process.argv.healthCommand} : {}),
  }
}
