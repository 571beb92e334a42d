/**
 * What a one-off run of a process (`launcho run`, a beforeRollout hook) needs on disk, made exactly
 * like an instance's (instance-files.ts) under its own unit name, and the unit as an instance of it
 * would be (unitSpecOf), with no ports. Everything is removed again by `removeRunFiles`, by
 * the unit's name alone, so a server that restarts can remove what an earlier one left.
 */
import {readdir, rm} from 'node:fs/promises'
import {isRunUnit} from '../systemd/run-unit.js'
import type {UnitSpec} from '../systemd/unit-spec.js'
import type {ResourceStore} from '../store/resource-store.js'
import {CREDENTIALS_SUFFIX, type StateDir} from '../store/state-dir.js'
import {removeCredentialFiles} from './credential-files.js'
import {unitSpecOf, type DesiredProcess, type UnitTimings} from './desired.js'
import {hasDynamicWorkDir, removeDynamicWorkDir} from './dynamic-user.js'
import {prepareUnitFiles} from './instance-files.js'
import {removeEnvironmentFile} from './leftovers.js'
import {removeWorkDir} from './work-dir.js'

export interface RunRequest {
  command: string[]
  /** Leave out the process's `before`. */
  noBefore?: boolean
}

/** Prepares the run's files and returns its unit (the caller adds output and time bound: run-unit.ts). */
export async function prepareRun(
  process: DesiredProcess,
  unit: string,
  request: RunRequest,
  where: {stateDir: StateDir; resources?: ResourceStore; timings: UnitTimings},
): Promise<UnitSpec> {
  const {spec} = process
  const place = await prepareUnitFiles(process, unit, where, {})
  const {before, ...instance} = unitSpecOf(process, unit, place, where.timings)
  return {
    ...instance,
    ...(before !== undefined && !request.noBefore ? {before} : {}),
    description: `launcho run of ${spec.name} (${process.version})`,
    command: request.command,
    // Not LAUNCHO_PROCESS: `launcho logs web` shows the instances' lines, not those of runs.
    journalFields: {LAUNCHO_RUN: spec.name, LAUNCHO_VERSION: process.version},
  }
}

/** Where the FIFOs of an attached run's output are: beside its env file, in root's 0700 environments/. */
export function runFifosOf(unit: string, stateDir: StateDir): {stdout: string; stderr: string} {
  const stem = stateDir.environmentFile(unit).replace(/\.env$/, '')
  return {stdout: `${stem}.stdout`, stderr: `${stem}.stderr`}
}

/** Removes a run's env file, credentials and work dir (its own one, not a fixed `cwd`); idempotent. */
export async function removeRunFiles(unit: string, stateDir: StateDir): Promise<void> {
  const {stdout, stderr} = runFifosOf(unit, stateDir)
  await rm(stdout, {force: true})
  await rm(stderr, {force: true})
  await removeEnvironmentFile(stateDir.environmentFile(unit))
  await removeCredentialFiles(stateDir.credentialsDir(unit))
  const records = stateDir.dynamicUsersDir
  if (await hasDynamicWorkDir(unit, records)) await removeDynamicWorkDir(unit, records, stateDir.instanceDir(unit))
  else await removeWorkDir(stateDir.instanceDir(unit))
}

/** Run units that have files in the state dir (env files, credentials, work dirs, dynamic users' records). */
export async function runUnitsWithFiles(stateDir: StateDir): Promise<Set<string>> {
  const units = new Set<string>()
  const add = (stem: string) => {
    const unit = `${stem}.service`
    if (isRunUnit(unit)) units.add(unit)
  }
  for (const entry of await readdir(stateDir.environmentsDir).catch(() => [] as string[])) {
    const stem = entry.replace(/\.(env|stdout|stderr)$/, '').replace(new RegExp(`${CREDENTIALS_SUFFIX.replace('.', '\\.')}$`), '')
    add(stem)
  }
  for (const entry of await readdir(stateDir.instancesDir).catch(() => [] as string[])) add(entry)
  for (const entry of await readdir(stateDir.dynamicUsersDir).catch(() => [] as string[])) add(entry)
  return units
}
