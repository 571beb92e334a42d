/**
 * Puts a process's resources into its working directory before `before` runs: each one under its
 * `file` name, 0640, owned by the process's user and group.
 *
 * That directory may be writable by the process's user (its cwd, its work dir), so root never acts
 * in it by path: root opens the store's file (root's alone) and a child running as the user writes
 * it from that descriptor into a new temp file (no-follow, exclusive), chmods it and renames it over
 * the destination. Whatever the user swaps in meanwhile, the child can reach only what the user
 * could reach anyway. A process running as root gets its copy from root directly, as a reflink
 * where the filesystem supports it (btrfs, XFS); the user's copy is a plain one.
 */
import {randomBytes} from 'node:crypto'
import {constants} from 'node:fs'
import {copyFile, open, rename, unlink, type FileHandle} from 'node:fs/promises'
import {join} from 'node:path'
import {LaunchoError} from '../errors.js'
import {fileError} from '../store/resource-file.js'
import type {ResourceStore} from '../store/resource-store.js'
import {AsUserError, runAsUser, type UserIds} from './as-user.js'
import {resolveOwner} from './work-dir.js'

export interface ResourcePlacement {
  /** Full id, or a unique prefix of at least 8 hex digits, as written in the target. */
  id: string
  /** Plain file name inside the working directory (the target schema refuses "/" and ".."). */
  file: string
}

/**
 * $1 the temp file, $2 the destination; stdin is the resource. A symlink or file planted at the
 * temp name makes dd fail (O_NOFOLLOW|O_EXCL); a half-written temp file is removed.
 */
const PLACE_SCRIPT = `if dd of="$1" oflag=nofollow conv=excl bs=1M status=none && chmod 0640 -- "$1" && mv -f -T -- "$1" "$2"; then exit 0; fi
rm -f -- "$1"
exit 1`

/** A copy slower than 10 MB/s (plus a minute) is stuck, not slow. */
const timeoutFor = (bytes: number) => 60_000 + Math.ceil(bytes / 10_000)

export async function placeResources(
  dir: string,
  resources: ResourcePlacement[],
  store: ResourceStore,
  owner: {user?: string; group?: string} = {},
): Promise<void> {
  if (resources.length === 0) return
  const ids = await ownerIds(owner)
  for (const resource of resources) {
    const source = store.path(await resolveForPlacement(store, resource))
    const dest = join(dir, resource.file)
    // Written beside the destination and renamed over it: a file or symlink the process left
    // there (a shared cwd) is replaced, never written through.
    const temp = join(dir, `.${resource.file}.launcho-${randomBytes(6).toString('hex')}`)
    if (ids === undefined) throw unknownOwner(resource, dest, owner)
    if (ids.uid === 0) await placeAsRoot(source, temp, dest, ids).catch((error: unknown) => {
      throw fileError(`could not place resource ${resource.id} as ${dest}`, error)
    })
    else await placeAsUser(source, {dir, temp, dest}, ids, resource)
  }
}

/** The owner the files get; root's (uid 0, gid 0) for a process without uid and gid. */
async function ownerIds(owner: {user?: string; group?: string}): Promise<UserIds | undefined> {
  if (owner.user === undefined && owner.group === undefined) return {uid: 0, gid: 0}
  return resolveOwner(owner.user, owner.group)
}

async function placeAsUser(source: string, place: {dir: string; temp: string; dest: string}, ids: UserIds, resource: ResourcePlacement): Promise<void> {
  const {dir, temp, dest} = place
  let handle: FileHandle
  try {
    handle = await open(source, 'r')
  } catch (error) {
    throw fileError(`could not place resource ${resource.id} as ${dest}`, error)
  }
  try {
    const {size} = await handle.stat()
    await runAsUser(ids, ['sh', '-c', PLACE_SCRIPT, 'sh', temp, dest], {stdin: handle.fd, timeoutMs: timeoutFor(size)})
  } catch (error) {
    if (!(error instanceof AsUserError)) throw fileError(`could not place resource ${resource.id} as ${dest}`, error)
    throw new LaunchoError('storage_failed', `could not place resource ${resource.id} as ${dest}: as uid ${ids.uid}: ${error.reason}`, {
      hint: error.denied
        ? `the process's user (uid ${ids.uid}) writes its resources itself: make ${dir} writable by it, or leave out cwd to get a fresh work dir`
        : 'check the directory and its disk, then retry',
      cause: error,
    })
  } finally {
    await handle.close()
  }
}

/**
 * The process runs as root, so nothing here can gain from a swap; still, every change after the
 * exclusive create goes through its descriptor, not its name.
 */
async function placeAsRoot(source: string, temp: string, dest: string, ids: UserIds): Promise<void> {
  const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
  try {
    // Through /proc/self/fd the copy (a reflink where it can be) lands in the very file created
    // above, whatever has become of its name since.
    await copyFile(source, `/proc/self/fd/${handle.fd}`, constants.COPYFILE_FICLONE)
    await handle.chmod(0o640)
    await handle.chown(ids.uid, ids.gid)
  } catch (error) {
    await unlink(temp).catch(() => {})
    throw error
  } finally {
    await handle.close()
  }
  try {
    await rename(temp, dest)
  } catch (error) {
    await unlink(temp).catch(() => {})
    throw error
  }
}

function unknownOwner(resource: ResourcePlacement, dest: string, owner: {user?: string; group?: string}): LaunchoError {
  const who = [owner.user !== undefined ? `user "${owner.user}"` : '', owner.group !== undefined ? `group "${owner.group}"` : ''].filter(Boolean).join(' or ')
  return new LaunchoError('invalid_target', `could not place resource ${resource.id} as ${dest}: no ${who} on this host`, {
    hint: 'create the user and group on the server, or correct uid/gid in the target',
  })
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
