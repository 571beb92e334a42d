/**
 * The desired state: every process of the target with secrets substituted, its version, and the
 * unit that one instance of it becomes. The version covers the rendered spec and the process's
 * restart generation, so `launcho restart` is just another new version.
 */
import {createHash} from 'node:crypto'
import type {ProcessSpec, Target} from '../target/load.js'
import {secretsUsedBy} from '../target/substitute.js'
import {versionOf} from '../target/version.js'
import {memorySizeBytes} from '../target/memory-size.js'
import {unitNameOf} from '../systemd/unit-name.js'
import type {UnitSpec} from '../systemd/unit-spec.js'

export interface DesiredProcess {
  /** Secrets substituted: what runs. */
  spec: ProcessSpec
  /** Placeholders kept: what the operator wrote (for explaining changes without values). */
  template: ProcessSpec
  /** SHA-256 of each used secret's value, to tell which secret changed without keeping values. */
  secretDigests: Record<string, string>
  generation: number
  version: string
  unit: string
}

export type DesiredState = Map<string, DesiredProcess>

export function desiredStateOf(
  template: Target,
  resolved: Target,
  secrets: ReadonlyMap<string, string>,
  generations: ReadonlyMap<string, number> = new Map(),
): DesiredState {
  const used = secretsUsedBy(template)
  const desired: DesiredState = new Map()
  resolved.processes.forEach((spec, i) => {
    const generation = generations.get(spec.name) ?? 0
    const base = versionOf(spec)
    const version = generation === 0 ? base : createHash('sha256').update(`${base}#${generation}`).digest('hex').slice(0, 8)
    const secretDigests: Record<string, string> = {}
    for (const name of [...(used.get(spec.name) ?? [])].sort()) {
      secretDigests[name] = createHash('sha256').update(secrets.get(name) ?? '').digest('hex')
    }
    desired.set(spec.name, {
      spec,
      template: template.processes[i]!,
      secretDigests,
      generation,
      version,
      unit: unitNameOf({process: spec.name, version}),
    })
  })
  return desired
}

export interface UnitTimings {
  restartDelayMs: number
  stopTimeoutMs: number
  startTimeoutMs: number
}

export function unitSpecOf(
  process: DesiredProcess,
  workingDirectory: string,
  timings: UnitTimings,
  env: Record<string, string> = process.spec.env,
): UnitSpec {
  const {spec, version} = process
  return {
    name: process.unit,
    description: `launcho ${spec.name} (${version})`,
    command: spec.command,
    ...(spec.before !== undefined ? {before: spec.before} : {}),
    env,
    ...(spec.uid !== undefined ? {user: spec.uid} : {}),
    ...(spec.gid !== undefined ? {group: spec.gid} : {}),
    workingDirectory,
    syslogIdentifier: spec.name,
    journalFields: {LAUNCHO_PROCESS: spec.name, LAUNCHO_VERSION: version},
    ...timings,
    ...(spec.memoryMax !== undefined ? {memoryMaxBytes: memorySizeBytes(spec.memoryMax)!} : {}),
  }
}
