/**
 * Each instance without a `cwd` gets a fresh working directory under the state dir, owned by the
 * user it runs as (systemd enters it after dropping privileges, and `before` unpacks into it).
 */
import {execFile} from 'node:child_process'
import {chown, mkdir, rm, chmod} from 'node:fs/promises'
import {promisify} from 'node:util'

const run = promisify(execFile)

export async function prepareWorkDir(dir: string, user?: string, group?: string): Promise<void> {
  await mkdir(dir, {recursive: true, mode: 0o750})
  await chmod(dir, 0o750)
  const ids = await resolveOwner(user, group)
  // An unknown user or group is left to systemd, whose start then fails with 217/USER or
  // 216/GROUP and says so in status; the directory simply stays root's.
  if (ids) await chown(dir, ids.uid, ids.gid)
}

export async function removeWorkDir(dir: string): Promise<void> {
  await rm(dir, {recursive: true, force: true, maxRetries: 2})
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
