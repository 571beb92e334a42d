import assert from 'node:assert/strict'
import {lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {after, before, describe, test} from 'node:test'
import {LaunchoError} from '../../src/errors.js'
import {placeResources} from '../../src/reconcile/place-resources.js'
import {resolveOwner} from '../../src/reconcile/work-dir.js'
import {ResourceStore} from '../../src/store/resource-store.js'
import {sha256} from '../helpers/resources.js'

describe('placing resources into a working directory', () => {
  let root: string
  let store: ResourceStore
  const bundle = 'the bundle bytes'
  const id = sha256(bundle)

  before(async () => {
    root = await mkdtemp('/var/tmp/launcho-test-place-')
    store = new ResourceStore(join(root, 'resources'))
    await store.init()
    await store.put(Readable.from([Buffer.from(bundle)]), {sha256: id, name: 'bundle.tar.bz2'})
  })
  after(async () => {
    await rm(root, {recursive: true, force: true})
  })

  test('copies each resource under its file name, 0640, owned by the process user and group', async () => {
    const dir = join(root, 'work-a')
    await mkdir(dir)
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
