/**
 * The CLI keeps V8's compiled code only where no other user can write: code read from that cache
 * runs as whoever reads it, so a cache in a shared or foreign directory would let another user
 * run code as root.
 */
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {chown, mkdtemp, readdir, rm, stat} from 'node:fs/promises'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {promisify} from 'node:util'
import {launchoBin} from '../helpers/harness.js'

const run = promisify(execFile)
const NOBODY = 65534

describe('the CLI compile cache', () => {
  const made: string[] = []
  after(async () => Promise.all(made.map((dir) => rm(dir, {recursive: true, force: true}))))

  async function home(): Promise<string> {
    const dir = await mkdtemp('/var/tmp/launcho-home-')
    made.push(dir)
    return dir
  }

  it('lives in the user’s own home, readable by the user alone, and is filled by a run', async () => {
    const dir = await home()
    await run(process.execPath, [launchoBin, '--version'], {env: {...process.env, HOME: dir, LAUNCHO_NO_COMPILE_CACHE: ''}})
    const cache = join(dir, '.cache', 'launcho', 'compile-cache')
    const mode = (await stat(cache)).mode & 0o777
    assert.equal(mode, 0o700)
    assert.ok((await readdir(cache)).length > 0, 'the cache holds compiled code after one run')
  })

  it('is not made in a home another user owns (root with a user’s HOME), nor in one where another user owns .cache', async () => {
    const foreign = await home()
    await chown(foreign, NOBODY, NOBODY)
    await run(process.execPath, [launchoBin, '--version'], {env: {...process.env, HOME: foreign, LAUNCHO_NO_COMPILE_CACHE: ''}})
    assert.deepEqual(await readdir(foreign), [])

    const planted = await home()
    await run('mkdir', ['-p', join(planted, '.cache', 'launcho', 'compile-cache')])
    await chown(join(planted, '.cache', 'launcho'), NOBODY, NOBODY)
    const {stdout} = await run(process.execPath, [launchoBin, '--version'], {env: {...process.env, HOME: planted, LAUNCHO_NO_COMPILE_CACHE: ''}})
    assert.match(stdout, /launcho\//)
    assert.deepEqual(await readdir(join(planted, '.cache', 'launcho', 'compile-cache')), [], 'nothing read from or written to a directory another user owns')
  })
})
