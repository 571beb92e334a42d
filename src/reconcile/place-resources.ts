/**
 * Puts a process's resources into its working directory before `before` runs: each one copied
 * under its `file` name, 0640, owned by the process's user and group. The copy is a reflink where
 * the filesystem supports it (btrfs, XFS), so a big bundle shares blocks with the store.
 */
import {randomBytes} from 'node:crypto'
import {constants} from 'node:fs'
import {chmod, chown, copyFile, rename, unlink} from 'node:fs/promises'
import {join} from 'node:path'
import {LaunchoError} from '../errors.js'
import {fileError} from '../store/resource-file.js'
import type {ResourceStore} from '../store/resource-store.js'
import {resolveOwner} from './work-dir.js'

export interface ResourcePlacement {
  /** Full id, or a unique prefix of at least 8 hex digits, as written in the target. */
  id: string
  /** Plain file name inside the working directory (the target schema refuses "/" and ".."). */
  file: string
}

export async function placeResources(
  dir: string,
  resources: ResourcePlacement[],
  store: ResourceStore,
  owner: {user?: string; group?: string} = {},
): Promise<void> {
  if (resources.length === 0) return
  // An unknown user or group is systemd's to report (217/USER); the files then stay root's.
  const ids = await resolveOwner(owner.user, owner.group)
  for (const resource of resources) {
    const source = store.path(await resolveForPlacement(store, resource))
    const dest = join(dir, resource.file)
    // Copy beside the destination and rename over it: a file or symlink the process left there
    // (a shared cwd) is replaced, never written through.
    const temp = join(dir, `.${resource.file}.launcho-${randomBytes(6).toString('hex')}`)
    try {
      await copyFile(source, temp, constants.COPYFILE_FICLONE | constants.COPYFILE_EXCL)
      await chmod(temp, 0o640)
      if (ids) await chown(temp, ids.uid, ids.gid)
      await rename(temp, dest)
    } catch (error) {
      await unlink(temp).catch(() => {})
      throw fileError(`could not place resource ${resource.id} as ${dest}`, error)
    }
  }
}

async function resolveForPlacement(store: ResourceStore, resource: ResourcePlacement): Promise<string> {
  try {
    return await store.resolve(resource.id)
  } catch (error) {
    if (error instanceof LaunchoError && error.code === 'not_found') {
      throw new LaunchoError('not_found', `resource ${resource.id} (for ${resource.file}) is not stored on this server`, {
        hint: 'upload the file with "launcho resource up FILE" and put the id it prints in the target',
      })
    }
    throw error
  }
}
