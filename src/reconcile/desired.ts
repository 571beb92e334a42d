/**
 * The desired state: every process of the target with secrets substituted and its version, and
 * the unit that one instance of it becomes.
 */
import type {ProcessSpec, Target} from '../target/load.js'
import {versionOf} from '../target/version.js'
import {unitNameOf} from '../systemd/unit-name.js'
import type {UnitSpec} from '../systemd/unit-spec.js'

export interface DesiredProcess {
  spec: ProcessSpec
  version: string
  unit: string
}

export type DesiredState = Map<string, DesiredProcess>

export function desiredStateOf(target: Target): DesiredState {
  const desired: DesiredState = new Map()
  for (const spec of target.processes) {
    const version = versionOf(spec)
    desired.set(spec.name, {spec, version, unit: unitNameOf({process: spec.name, version})})
  }
  return desired
}

export interface UnitTimings {
  restartDelayMs: number
  stopTimeoutMs: number
  startTimeoutMs: number
}

export function unitSpecOf(process: DesiredProcess, workingDirectory: string, timings: UnitTimings): UnitSpec {
  const {spec, version} = process
  return {
    name: process.unit,
    description: `launcho ${spec.name} (${version})`,
    command: spec.command,
    ...(spec.before !== undefined ? {before: spec.before} : {}),
    env: spec.env,
    ...(spec.uid !== undefined ? {user: spec.uid} : {}),
    ...(spec.gid !== undefined ? {group: spec.gid} : {}),
    workingDirectory,
    syslogIdentifier: spec.name,
    journalFields: {LAUNCHO_PROCESS: spec.name, LAUNCHO_VERSION: version},
    ...timings,
  }
}
