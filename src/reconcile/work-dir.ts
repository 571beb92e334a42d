/**
 * Each instance without a `cwd` gets a fresh working directory under the state dir's instances/,
 * owned by the user it runs as (systemd enters it after dropping privileges, and `before` unpacks
 * into it). instances/ is root's alone (0711), so no user can rename or plant anything at a work
 * dir's own path; inside it, the user can do anything, so root never acts there by path: the
 * contents are removed as the directory's owner.
 */
import {execFile} from 'node:child_process'
import {constants} from 'node:fs'
import {lstat, open, rmdir} from 'node:fs/promises'
import {promisify} from 'node:util'
import {LaunchoError} from '../errors.js'
import {makeDir} from '../store/atomic.js'
import {AsUserError, runAsUser} from './as-user.js'

const run = promisify(execFile)

export async function prepareWorkDir(dir: string, user?: string, group?: string): Promise<void> {
  await makeDir(dir, 0o750)
  // Through a no-follow handle, so the mode and owner land on this directory and nothing else.
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW)
  try {
    await handle.chmod(0o750)
    const ids = await resolveOwner(user, group)
    // An unknown user or group is left to systemd, whose start then fails with 217/USER or
    // 216/GROUP and says so in status; the directory simply stays root's.
    if (ids) await handle.chown(ids.uid, ids.gid)
  } finally {
    await handle.close()
  }
}

/**
 * $1 the work dir. A process may have taken the write bit off its own directories (chmod 0500):
 * then give it back, top-down, and delete again. find never follows a symlink.
 */
const EMPTY_SCRIPT = `find "$1" -mindepth 1 -delete 2>/dev/null && exit 0
find "$1" -type d ! -perm -700 -exec chmod u+rwx -- {} \\;
find "$1" -mindepth 1 -delete`

/** A tree that takes longer than this to delete is stuck, not big. */
const EMPTY_TIMEOUT_MS = 5 * 60_000

/**
 * Removes an instance's work dir: its contents as the directory's owner (who can reach nothing
 * more that way than it could on its own), then the empty directory itself as root.
 */
export async function removeWorkDir(dir: string): Promise<void> {
  let info
  try {
    info = await lstat(dir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw error
  }
  if (!info.isDirectory()) {
    throw new LaunchoError('internal', `refusing to remove ${dir}: it is ${info.isSymbolicLink() ? 'a symlink' : 'not a directory'}, and launcho only makes directories there`, {
      hint: 'something other than launcho wrote into the instances directory; look at it and remove it by hand',
    })
  }
  let emptying: AsUserError | undefined
  try {
    // Owned by root (its process ran as root, or its user was unknown): find as root then, which
    // walks by descriptors and never follows a symlink; the chmod step is only for users.
    if (info.uid === 0) await runAsUser({uid: 0, gid: 0}, ['find', dir, '-mindepth', '1', '-delete'], {timeoutMs: EMPTY_TIMEOUT_MS})
    else await runAsUser({uid: info.uid, gid: info.gid}, ['sh', '-c', EMPTY_SCRIPT, 'sh', dir], {timeoutMs: EMPTY_TIMEOUT_MS})
  } catch (error) {
    if (!(error instanceof AsUserError)) throw error
    // It may still have emptied the directory (e.g. an entry vanished under it): rmdir decides.
    emptying = error
  }
  try {
    await rmdir(dir)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return
    const why = emptying ? `as uid ${info.uid}: ${emptying.reason}` : code ?? (error as Error).message
    throw new LaunchoError('storage_failed', `could not remove the work dir ${dir}: ${why}`, {
      hint: 'something in it is not its owner\'s to delete; look at it, and launcho retries on its next passes',
      cause: error,
    })
  }
}

/** uid/gid for a user and/or group name or number, via NSS; undefined when either is unknown. */
export async function resolveOwner(user?: string, group?: string): Promise<{uid: number; gid: number} | undefined> {
  if (user === undefined && group === undefined) return undefined
  let uid = 0
  let gid = 0
  if (user !== undefined) {
    const entry = await getent('passwd', user)
    if (!entry) return undefined
    uid = Number(entry[2])
    gid = Number(entry[3])
  }
  if (group !== undefined) {
    const entry = await getent('group', group)
    if (!entry) return undefined
    gid = Number(entry[2])
  }
  return {uid, gid}
}

/** One NSS entry split at ':', so LDAP or sssd users resolve like local ones. */
async function getent(database: 'passwd' | 'group', key: string): Promise<string[] | undefined> {
  try {
    const {stdout} = await run('getent', [database, key])
    return stdout.trim().split('\n')[0]?.split(':')
  } catch {
    return undefined
  }
}
