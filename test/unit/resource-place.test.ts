import assert from 'node:assert/strict'
import {chmod, chown, lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {after, before, describe, test} from 'node:test'
import {LaunchoError} from '../../src/errors.js'
import {placeResources} from '../../src/reconcile/place-resources.js'
import {resolveOwner} from '../../src/reconcile/work-dir.js'
import {ResourceStore} from '../../src/store/resource-store.js'
import {sha256} from '../helpers/resources.js'

const NOBODY = 65534
const asRoot = process.getuid?.() === 0

describe('placing resources into a working directory', () => {
  let root: string
  let store: ResourceStore
  const bundle = 'the bundle bytes'
  const id = sha256(bundle)

  before(async () => {
    root = await mkdtemp('/var/tmp/launcho-test-place-')
    // Traversable by the process users the tests place resources for.
    await chmod(root, 0o711)
    store = new ResourceStore(join(root, 'resources'))
    await store.init()
    await store.put(Readable.from([Buffer.from(bundle)]), {sha256: id, name: 'bundle.tar.bz2'})
  })
  after(async () => {
    await rm(root, {recursive: true, force: true})
  })

  /** A directory the process user owns and writes, as its work dir or its own cwd. */
  const usersDir = async (name: string) => {
    const dir = join(root, name)
    await mkdir(dir)
    await chown(dir, NOBODY, NOBODY)
    return dir
  }

  test('copies each resource under its file name, 0640, owned by the process user and group', {skip: !asRoot && 'needs root'}, async () => {
    const dir = await usersDir('work-a')
    await placeResources(dir, [{id, file: 'bundle.tar.bz2'}, {id: id.slice(0, 8), file: 'copy.bin'}], store, {user: 'nobody', group: 'nogroup'})
    const nobody = (await resolveOwner('nobody', 'nogroup'))!
    for (const file of ['bundle.tar.bz2', 'copy.bin']) {
      assert.equal(await readFile(join(dir, file), 'utf8'), bundle)
      const info = await lstat(join(dir, file))
      assert.equal(info.mode & 0o777, 0o640)
      assert.deepEqual([info.uid, info.gid], [nobody.uid, nobody.gid])
    }
    assert.deepEqual((await readdir(dir)).sort(), ['bundle.tar.bz2', 'copy.bin'], 'no temp files left')
  })

  test('for a process running as root: root-owned 0640 copies', async () => {
    const dir = join(root, 'work-root')
    await mkdir(dir)
    await placeResources(dir, [{id, file: 'bundle.tar.bz2'}], store)
    const info = await lstat(join(dir, 'bundle.tar.bz2'))
    assert.deepEqual([info.isFile(), info.mode & 0o777, info.uid, info.gid], [true, 0o640, process.getuid?.(), process.getgid?.()])
    assert.equal(await readFile(join(dir, 'bundle.tar.bz2'), 'utf8'), bundle)
    assert.deepEqual(await readdir(dir), ['bundle.tar.bz2'], 'no temp files left')
  })

  test('as the process user too, a symlink it left at the name is replaced, not written through', {skip: !asRoot && 'needs root'}, async () => {
    const dir = await usersDir('work-user-link')
    const victim = join(root, 'users-victim.txt')
    await writeFile(victim, 'must stay')
    await chown(victim, NOBODY, NOBODY)
    await symlink(victim, join(dir, 'bundle.tar.bz2'))
    await placeResources(dir, [{id, file: 'bundle.tar.bz2'}], store, {user: 'nobody'})
    const info = await lstat(join(dir, 'bundle.tar.bz2'))
    assert.deepEqual([info.isFile(), info.uid], [true, NOBODY])
    assert.equal(await readFile(victim, 'utf8'), 'must stay')
  })

  test('a directory the process user cannot write is refused, naming the file and what to do', {skip: !asRoot && 'needs root'}, async () => {
    const dir = join(root, 'roots-dir')
    await mkdir(dir, {mode: 0o755})
    await assert.rejects(placeResources(dir, [{id, file: 'app.tar'}], store, {user: 'nobody'}), (error: unknown) => {
      assert.ok(error instanceof LaunchoError)
      assert.equal(error.code, 'storage_failed')
      assert.match(error.message, new RegExp(`^could not place resource ${id} as ${dir}/app\\.tar: as uid 65534: dd: failed to open '${dir}/\\.app\\.tar\\.launcho-[0-9a-f]{12}': Permission denied$`))
      assert.match(error.hint ?? '', new RegExp(`make ${dir} writable by it, or leave out cwd`))
      return true
    })
    assert.deepEqual(await readdir(dir), [])
  })

  test('an unknown user is named, and nothing is placed', async () => {
    const dir = join(root, 'work-unknown')
    await mkdir(dir)
    await assert.rejects(placeResources(dir, [{id, file: 'app.tar'}], store, {user: 'launcho-no-such-user'}), (error: unknown) => {
      assert.ok(error instanceof LaunchoError)
      assert.match(error.message, new RegExp(`^could not place resource ${id} as ${dir}/app\\.tar: no user "launcho-no-such-user" on this host$`))
      return true
    })
    assert.deepEqual(await readdir(dir), [])
  })

  test('replaces what the process left at the name without writing through a symlink', async () => {
    const dir = join(root, 'work-b')
    await mkdir(dir)
    const victim = join(root, 'victim.txt')
    await writeFile(victim, 'must stay')
    await symlink(victim, join(dir, 'bundle.tar.bz2'))
    await placeResources(dir, [{id, file: 'bundle.tar.bz2'}], store)
    assert.ok((await lstat(join(dir, 'bundle.tar.bz2'))).isFile())
    assert.equal(await readFile(victim, 'utf8'), 'must stay')
  })

  test('a resource the server does not have is named, with how to upload it', async () => {
    const missing = sha256('never uploaded')
    await assert.rejects(placeResources(join(root, 'work-a'), [{id: missing, file: 'app.tar'}], store), (error: unknown) => {
      assert.ok(error instanceof LaunchoError)
      assert.equal(error.code, 'not_found')
      assert.match(error.message, new RegExp(`resource ${missing} \\(for app\\.tar\\) is not stored on this server`))
      assert.match(error.hint ?? '', /launcho resource up FILE/)
      return true
    })
  })
})
