import assert from 'node:assert/strict'
import {chmod, chown, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {LaunchoError} from '../../src/errors.js'
import {prepareWorkDir, removeWorkDir} from '../../src/reconcile/work-dir.js'

const NOBODY = 65534
const asRoot = process.getuid?.() === 0
const gone = async (path: string) => (await lstat(path).catch(() => undefined)) === undefined

/** chown -R, for trees the test builds as root on a process user's behalf. */
async function chownTree(path: string, uid: number): Promise<void> {
  const info = await lstat(path)
  if (info.isDirectory()) for (const entry of await readdir(path)) await chownTree(join(path, entry), uid)
  if (!info.isSymbolicLink()) await chown(path, uid, uid)
}

describe('instance work dirs', {skip: !asRoot && 'needs root'}, () => {
  let root: string
  let instances: string
  let victims: string
  before(async () => {
    root = await mkdtemp('/var/tmp/launcho-test-work-dir-')
    await chmod(root, 0o711)
    instances = join(root, 'instances')
    await mkdir(instances, {mode: 0o711})
    victims = join(root, 'victims')
    await mkdir(victims, {mode: 0o755})
  })
  after(async () => {
    await rm(root, {recursive: true, force: true})
  })

  test('prepareWorkDir makes a 0750 directory owned by the process user', async () => {
    const dir = join(instances, 'launcho-a-1')
    await prepareWorkDir(dir, 'nobody')
    const info = await lstat(dir)
    assert.deepEqual([info.isDirectory(), info.mode & 0o777, info.uid], [true, 0o750, NOBODY])
    await removeWorkDir(dir)
  })

  test('prepareWorkDir changes nothing through a symlink at the work dir\'s path', async () => {
    const target = join(victims, 'prepare-target')
    await mkdir(target, {mode: 0o700})
    const dir = join(instances, 'launcho-b-1')
    await symlink(target, dir)
    await assert.rejects(prepareWorkDir(dir, 'nobody'), /ENOTDIR|ELOOP/)
    const info = await stat(target)
    assert.deepEqual([info.mode & 0o777, info.uid], [0o700, 0])
    await rm(dir)
  })

  test('removes a tree its user made hard to remove: read-only and unreadable subdirs, dot files', async () => {
    const dir = join(instances, 'launcho-c-1')
    await prepareWorkDir(dir, 'nobody')
    await mkdir(join(dir, 'locked', 'deeper'), {recursive: true})
    await writeFile(join(dir, 'locked', 'deeper', 'file'), 'x')
    await mkdir(join(dir, 'sealed'))
    await writeFile(join(dir, 'sealed', '.hidden'), 'x')
    await writeFile(join(dir, '.env'), 'x')
    await chownTree(dir, NOBODY)
    await chmod(join(dir, 'locked'), 0o500)
    await chmod(join(dir, 'locked', 'deeper'), 0o500)
    await chmod(join(dir, 'sealed'), 0o000)
    await chmod(dir, 0o500)
    await removeWorkDir(dir)
    assert.ok(await gone(dir))
  })

  test('never follows a symlink out of the work dir, even to files its own user could delete', async () => {
    const outside = join(victims, 'nobodys-elsewhere')
    await mkdir(outside)
    await writeFile(join(outside, 'keep'), 'keep me')
    await chownTree(outside, NOBODY)
    const rootFile = join(victims, 'root-file')
    await writeFile(rootFile, 'root\'s', {mode: 0o600})
    const dir = join(instances, 'launcho-d-1')
    await prepareWorkDir(dir, 'nobody')
    await symlink(outside, join(dir, 'to-dir'))
    await symlink(rootFile, join(dir, 'to-file'))
    await chownTree(dir, NOBODY)
    await removeWorkDir(dir)
    assert.ok(await gone(dir))
    assert.equal(await readFile(join(outside, 'keep'), 'utf8'), 'keep me')
    assert.equal(await readFile(rootFile, 'utf8'), 'root\'s')
  })

  test('removes the contents as the directory\'s owner: what only root could delete stays, and the error says why', async () => {
    const dir = join(instances, 'launcho-e-1')
    await prepareWorkDir(dir, 'nobody')
    // As if root had once put something in it that its user must not be able to delete.
    await mkdir(join(dir, 'roots'), {mode: 0o755})
    await writeFile(join(dir, 'roots', 'file'), 'root\'s')
    await writeFile(join(dir, 'users'), 'nobody\'s')
    await chown(join(dir, 'users'), NOBODY, NOBODY)
    await assert.rejects(removeWorkDir(dir), (error: unknown) => {
      assert.ok(error instanceof LaunchoError)
      assert.match(error.message, new RegExp(`^could not remove the work dir ${dir}: as uid 65534: find: cannot delete '${dir}/roots/file': Permission denied; find: cannot delete '${dir}/roots': Directory not empty$`))
      assert.match(error.hint ?? '', /retries/)
      return true
    })
    assert.deepEqual(await readdir(dir), ['roots'], 'nobody\'s own file went')
    assert.equal(await readFile(join(dir, 'roots', 'file'), 'utf8'), 'root\'s')
    await rm(dir, {recursive: true})
  })

  test('refuses a work dir that is a symlink, touching nothing behind it', async () => {
    const target = join(victims, 'behind-a-link')
    await mkdir(target)
    await writeFile(join(target, 'keep'), 'keep me')
    const dir = join(instances, 'launcho-f-1')
    await symlink(target, dir)
    await assert.rejects(removeWorkDir(dir), /^LaunchoError: refusing to remove .*launcho-f-1: it is a symlink, and launcho only makes directories there$/)
    assert.equal(await readFile(join(target, 'keep'), 'utf8'), 'keep me')
    assert.ok((await lstat(dir)).isSymbolicLink(), 'left for a human to look at')
    await rm(dir)
  })

  test('a root-owned work dir (a process running as root) is removed without following its symlinks', async () => {
    const target = join(victims, 'roots-elsewhere')
    await mkdir(target)
    await writeFile(join(target, 'keep'), 'keep me')
    const dir = join(instances, 'launcho-g-1')
    await prepareWorkDir(dir)
    await mkdir(join(dir, 'sub'))
    await symlink(target, join(dir, 'sub', 'link'))
    await removeWorkDir(dir)
    assert.ok(await gone(dir))
    assert.equal(await readFile(join(target, 'keep'), 'utf8'), 'keep me')
  })

  test('a work dir that is already gone is fine', async () => {
    await removeWorkDir(join(instances, 'launcho-never-made'))
  })
})
