/**
 * The files a unit of a process needs before systemd starts it, made the same way for an instance
 * (actions.ts) and a one-off run (run-place.ts): its working directory (a fresh one owned by the
 * process's user, its fixed `cwd`, or a dynamic user's StateDirectory) with its resources placed,
 * its env file (root's, 0600, in environments/) and its credential files. Returns where they are,
 * as unitSpecOf takes them.
 */
import {writeFileAtomic} from '../store/atomic.js'
import type {ResourceStore} from '../store/resource-store.js'
import type {StateDir} from '../store/state-dir.js'
import {renderEnvironmentFile} from '../systemd/environment-file.js'
import {writeCredentialFiles} from './credential-files.js'
import {workDirOf, type DesiredProcess} from './desired.js'
import {prepareDynamicWorkDir} from './dynamic-user.js'
import {placeResources} from './place-resources.js'
import {prepareWorkDir} from './work-dir.js'

export interface UnitPlace {
  workingDirectory: string
  environmentFile: string
  ports: Record<string, string>
  credentialsDir?: string
}

export async function prepareUnitFiles(
  process: DesiredProcess,
  unit: string,
  where: {stateDir: StateDir; resources?: ResourceStore},
  ports: Record<string, string>,
): Promise<UnitPlace> {
  const {spec} = process
  const {stateDir} = where
  const workDir = workDirOf(process, unit, stateDir)
  if (spec.dynamicUser) await prepareDynamicWorkDir(unit, stateDir.dynamicUsersDir)
  else if (workDir.own) await prepareWorkDir(workDir.path, spec.uid, spec.gid)
  // A dynamic user's files are placed as root: systemd hands them to the user at the start.
  if (where.resources) await placeResources(workDir.path, spec.resources, where.resources, {user: spec.uid, group: spec.gid})
  const environmentFile = stateDir.environmentFile(unit)
  await writeFileAtomic(environmentFile, renderEnvironmentFile(spec.env), 0o600, {durable: false})
  const credentialsDir = stateDir.credentialsDir(unit)
  if (spec.credentials) await writeCredentialFiles(credentialsDir, spec.credentials)
  return {workingDirectory: workDir.workingDirectory, environmentFile, ports, ...(spec.credentials ? {credentialsDir} : {})}
}
