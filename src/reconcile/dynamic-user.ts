/**
 * `dynamicUser: true`: systemd allocates the instance a user of its own while it runs
 * (DynamicUser=yes), so its uid owns nothing on the host before or after. Such a user can only own
 * a directory systemd hands it: the instance's working directory is its StateDirectory,
 * /var/lib/private/<unit> (seen by the process as /var/lib/<unit>). launcho makes that directory
 * fresh and root's before the start and places the resources in it as root (nobody else can write
 * there yet: /var/lib/private is root's 0700); at the start systemd gives it and everything in it
 * to the dynamic user. It is removed as its owner when the instance stops, like any work dir
 * (/var/lib/private and the state dir must be on one file system: it is moved out first).
 *
 * /var/lib/private is the host's, shared by every systemd and server on it (a test sandbox's too):
 * the leftover sweep only ever looks at the directories this server recorded as its own, in
 * <stateDir>/dynamic-users/ (root's, 0700), never at everything named launcho-* there.
 */
import {constants} from 'node:fs'
import {lstat, mkdir, open, rename, rm} from 'node:fs/promises'
import {join} from 'node:path'
import {ensurePrivateDir, writeFileAtomic} from '../store/atomic.js'
import {removeWorkDir} from './work-dir.js'

/** Where systemd keeps the StateDirectory= of units with DynamicUser=yes (systemd.exec(5)). */
export const DYNAMIC_STATE_ROOT = '/var/lib/private'
const STATE_ROOT = '/var/lib'

/** StateDirectory= and the dynamic user's name: the unit's name without `.service`. */
export const dynamicNameOf = (unit: string): string => unit.replace(/\.service$/, '')

/** The directory as launcho (root, on the host) reaches it. */
export const dynamicWorkDirOf = (unit: string): string => join(DYNAMIC_STATE_ROOT, dynamicNameOf(unit))

/** The working directory as the unit sees it (systemd's symlink into private/). */
export const dynamicWorkingDirectoryOf = (unit: string): string => join(STATE_ROOT, dynamicNameOf(unit))

/** A fresh root-owned work dir: what a dynamic user left from an earlier try of the same unit goes first. */
export async function prepareDynamicWorkDir(unit: string, records: string): Promise<string> {
  const dir = dynamicWorkDirOf(unit)
  await ensurePrivateDir(records, 0o700)
  await writeFileAtomic(join(records, dynamicNameOf(unit)), '', 0o600)
  await mkdir(DYNAMIC_STATE_ROOT, {recursive: true, mode: 0o700})
  const existing = await lstat(dir).catch(() => undefined)
  if (existing && existing.uid !== 0) await removeWorkDir(dir)
  await mkdir(dir, {recursive: true, mode: 0o750})
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW)
  try {
    await handle.chmod(0o750)
  } finally {
    await handle.close()
  }
  return dir
}

/**
 * The unit's work dir, systemd's symlink to it, then this server's record of it. Its owner cannot
 * reach it where it is (/var/lib/private is root's 0700), so root first moves it to `parking` (the
 * unit's place under instances/, which every user may traverse; both parents are root's, so nothing
 * can be swapped in between) and it is emptied there as its owner, like any work dir.
 */
export async function removeDynamicWorkDir(unit: string, records: string, parking: string): Promise<void> {
  const dir = dynamicWorkDirOf(unit)
  if (await lstat(dir).catch(() => undefined)) await rename(dir, parking)
  await removeWorkDir(parking)
  const link = dynamicWorkingDirectoryOf(unit)
  if ((await lstat(link).catch(() => undefined))?.isSymbolicLink()) await rm(link, {force: true})
  await rm(join(records, dynamicNameOf(unit)), {force: true})
}

/** Whether this server made `unit` a dynamic user's work dir (its process may have left the target since). */
export async function hasDynamicWorkDir(unit: string, records: string): Promise<boolean> {
  return (await lstat(join(records, dynamicNameOf(unit))).catch(() => undefined)) !== undefined
}
