import assert from 'node:assert/strict'
import {mkdtemp, readdir, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {afterEach, beforeEach, describe, test} from 'node:test'
import {LaunchoError} from '../../src/errors.js'
import {writeHashed} from '../../src/store/resource-file.js'
import {ResourceStore} from '../../src/store/resource-store.js'
import {sha256} from '../helpers/resources.js'

const chunks = (...parts: string[]) => Readable.from(parts.map((part) => Buffer.from(part)))

async function refused(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => error instanceof LaunchoError && error.code === code && message.test(error.message))
}

describe('resource store', () => {
  let root: string
  let store: ResourceStore

  beforeEach(async () => {
    root = await mkdtemp('/var/tmp/launcho-test-resources-')
    store = new ResourceStore(join(root, 'resources'))
    await store.init()
  })
  afterEach(async () => {
    await rm(root, {recursive: true, force: true})
  })

  test('stores verified content under its SHA-256, 0600 in a 0700 dir, and finds it by prefix', async () => {
    const id = sha256('hello world')
    const {info, created} = await store.put(chunks('hello ', 'world'), {sha256: id, name: 'greeting.txt'})
    assert.equal(created, true)
    assert.deepEqual({id: info.id, name: info.name, size: info.size}, {id, name: 'greeting.txt', size: 11})
    assert.equal(await readFile(store.path(id), 'utf8'), 'hello world')
    assert.equal((await stat(store.dir)).mode & 0o777, 0o700)
    assert.equal((await stat(store.path(id))).mode & 0o777, 0o600)
    assert.equal((await stat(`${store.path(id)}.json`)).mode & 0o777, 0o600)
    assert.equal(await store.resolve(id.slice(0, 8)), id)
    assert.deepEqual(await store.list(), [info])
    const {stream} = await store.get(id)
    assert.equal(Buffer.concat(await stream.toArray()).toString(), 'hello world')
  })

  test('a second upload of the same content changes nothing', async () => {
    const id = sha256('same')
    const first = await store.put(chunks('same'), {sha256: id, name: 'first'})
    const second = await store.put(chunks('same'), {sha256: id, name: 'second'})
    assert.equal(second.created, false)
    assert.deepEqual(second.info, first.info)
    assert.deepEqual((await readdir(store.dir)).sort(), [id, `${id}.json`])
  })

  test('content that does not match the declared hash leaves nothing behind', async () => {
    await refused(store.put(chunks('actual'), {sha256: sha256('declared'), name: 'x'}), 'invalid_request', /not the declared/)
    assert.deepEqual(await readdir(store.dir), [])
  })

  test('a source that breaks off mid-way leaves nothing behind', async () => {
    const broken = new Readable({read() {}})
    broken.push(Buffer.alloc(64 * 1024, 1))
    setImmediate(() => broken.destroy(Object.assign(new Error('aborted'), {code: 'ECONNRESET'})))
    await refused(store.put(broken, {sha256: sha256('whatever'), name: 'x'}), 'invalid_request', /cut mid-transfer/)
    assert.deepEqual(await readdir(store.dir), [])
  })

  test('a stream over the size limit is refused and its file deleted', async () => {
    const path = join(root, 'limited')
    await refused(writeHashed(chunks('0123456789', 'abc'), path, {maxBytes: 10}), 'payload_too_large', /larger than the limit of 10 bytes/)
    await assert.rejects(stat(path), {code: 'ENOENT'})
  })

  test('init clears partial uploads and metadata whose content never landed, keeping real resources', async () => {
    const id = sha256('kept')
    await store.put(chunks('kept'), {sha256: id, name: 'kept'})
    const orphan = sha256('orphan')
    for (const name of ['.upload-1234', `.${orphan}.json.tmp-abcd`, `${orphan}.json`]) await writeFile(join(store.dir, name), 'x')
    await store.init()
    assert.deepEqual((await readdir(store.dir)).sort(), [id, `${id}.json`])
  })

  test('damaged metadata costs only the name', async () => {
    const id = sha256('data')
    await store.put(chunks('data'), {sha256: id, name: 'named'})
    await writeFile(`${store.path(id)}.json`, '{not json')
    const [info] = await store.list()
    assert.equal(info!.name, '')
    assert.equal(info!.size, 4)
  })

  test('remove deletes content and metadata; unknown and malformed ids say what to do', async () => {
    const id = sha256('gone')
    await store.put(chunks('gone'), {sha256: id, name: 'gone'})
    await store.remove(id)
    assert.deepEqual(await readdir(store.dir), [])
    await refused(store.remove(id), 'not_found', /no resource has the id/)
    await refused(store.resolve(id.slice(0, 8)), 'not_found', /no resource has the id/)
    await refused(store.resolve('../../etc'), 'invalid_request', /invalid resource id/)
    assert.throws(() => store.path('../../etc/passwd'), LaunchoError)
  })
})
