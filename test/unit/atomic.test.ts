import assert from 'node:assert/strict'
import {chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile} from 'node:fs/promises'
import {execFile} from 'node:child_process'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {after, before, describe, test} from 'node:test'
import {LaunchoError} from '../../src/errors.js'
import {ensurePrivateDir, readFileIfExists, writeFileAtomic} from '../../src/store/atomic.js'

const run = promisify(execFile)

describe('atomic store writes', () => {
  let dir: string

  before(async () => {
    dir = await mkdtemp('/var/tmp/launcho-test-atomic-')
  })

  after(async () => {
    await chmod(dir, 0o700).catch(() => {})
    await rm(dir, {recursive: true, force: true})
  })

  test('content round-trips, strings and buffers', async () => {
    const path = join(dir, 'roundtrip.yaml')
    await writeFileAtomic(path, 'first: 1\n')
    assert.equal(await readFileIfExists(path), 'first: 1\n')
    await writeFileAtomic(path, Buffer.from('second: ü\n', 'utf8'))
    assert.equal(await readFileIfExists(path), 'second: ü\n')
  })

  test('files are written with mode 0600 by default, or the mode asked for', async () => {
    const secret = join(dir, 'secret')
    await writeFileAtomic(secret, 'x')
    assert.equal((await stat(secret)).mode & 0o777, 0o600)
    const shared = join(dir, 'shared')
    await writeFileAtomic(shared, 'x', 0o644)
    assert.equal((await stat(shared)).mode & 0o777, 0o644)
    // Replacing a looser file gives the new file the requested mode, not the old one's.
    await writeFileAtomic(shared, 'y')
    assert.equal((await stat(shared)).mode & 0o777, 0o600)
  })

  test('no temp files are left behind', async () => {
    const sub = join(dir, 'clean')
    await ensurePrivateDir(sub)
    await Promise.all(Array.from({length: 20}, (_, i) => writeFileAtomic(join(sub, 'many'), `version ${i}\n`)))
    assert.deepEqual(await readdir(sub), ['many'])
    assert.match((await readFileIfExists(join(sub, 'many'))) ?? '', /^version \d+\n$/)
  })

  test('readFileIfExists gives undefined for a missing file', async () => {
    assert.equal(await readFileIfExists(join(dir, 'nope')), undefined)
  })

  test('writing over a directory fails typed, leaves the directory and no temp file', async () => {
    const sub = join(dir, 'in-the-way')
    await mkdir(join(sub, 'target'), {recursive: true})
    await writeFile(join(sub, 'target', 'keep'), 'kept')
    await assert.rejects(writeFileAtomic(join(sub, 'target'), 'new'), (error: unknown) => {
      assert.ok(error instanceof LaunchoError)
      assert.equal(error.code, 'storage_failed')
      assert.match(error.message, /could not write .*in-the-way\/target: /)
      assert.ok(error.hint)
      return true
    })
    assert.deepEqual(await readdir(sub), ['target'])
    assert.equal(await readFileIfExists(join(sub, 'target', 'keep')), 'kept')
  })

  test('a failure after the temp file exists removes it and keeps the old content', async () => {
    const sub = join(dir, 'midway')
    await ensurePrivateDir(sub)
    const path = join(sub, 'state.yaml')
    await writeFileAtomic(path, 'old\n')
    // Not a string or Buffer: open() succeeds, the write itself throws.
    await assert.rejects(writeFileAtomic(path, 42 as unknown as string), (error: unknown) => error instanceof LaunchoError && error.code === 'storage_failed')
    assert.equal(await readFileIfExists(path), 'old\n')
    assert.deepEqual(await readdir(sub), ['state.yaml'])
  })

  test('a write that hits a full disk fails with ENOSPC and leaves the old content intact', async () => {
    // A 64 KiB tmpfs in a private mount namespace (unshare -m), so the host's mounts are untouched.
    const atomicModule = new URL('../../src/store/atomic.js', import.meta.url).pathname
    const script = `
      import {writeFileAtomic, readFileIfExists} from '${atomicModule}'
      import {readdir, writeFile} from 'node:fs/promises'
      const dir = process.argv[1]
      await writeFileAtomic(dir + '/state.yaml', 'old\\n')
      await writeFile(dir + '/filler', Buffer.alloc(40 * 1024))
      let error
      try { await writeFileAtomic(dir + '/state.yaml', Buffer.alloc(48 * 1024, 'x')) } catch (e) { error = e }
      console.log(JSON.stringify({code: error?.code, message: error?.message, hint: error?.hint,
        content: await readFileIfExists(dir + '/state.yaml'), files: (await readdir(dir)).sort()}))
    `
    const sub = join(dir, 'small-disk')
    await mkdir(sub)
    const {stdout} = await run('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs -o size=64k tmpfs "$1" && exec node --input-type=module -e "$2" "$1"', 'sh', sub, script])
    const result = JSON.parse(stdout) as {code: string; message: string; hint: string; content: string; files: string[]}
    assert.equal(result.code, 'storage_failed')
    assert.match(result.message, /ENOSPC/)
    assert.match(result.hint, /space/)
    assert.equal(result.content, 'old\n')
    assert.deepEqual(result.files, ['filler', 'state.yaml'], 'no temp file left behind')
  })

  test('ensurePrivateDir creates parents and tightens an existing directory', async () => {
    const nested = join(dir, 'a', 'b', 'c')
    await ensurePrivateDir(nested)
    assert.equal((await stat(nested)).mode & 0o777, 0o700)
    await chmod(nested, 0o755)
    await ensurePrivateDir(nested)
    assert.equal((await stat(nested)).mode & 0o777, 0o700)
  })

  test('reading a directory is a typed error, not undefined', async () => {
    await assert.rejects(readFileIfExists(dir), (error: unknown) => error instanceof LaunchoError && error.code === 'storage_failed')
  })
})
