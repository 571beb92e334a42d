/**
 * The failed rollouts a restarted server finds again (src/store/failed-rollout-store.ts) and the
 * reconciler's map that tells it each change (src/reconcile/failed-rollouts.ts), on a real file.
 */
import assert from 'node:assert/strict'
import {mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {FailedRollouts} from '../../src/reconcile/failed-rollouts.js'
import {FailedRolloutStore} from '../../src/store/failed-rollout-store.js'

describe('failed rollouts kept across restarts', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'launcho-failed-rollouts-'))
  })
  after(async () => rm(dir, {recursive: true, force: true}))

  it('a change of the map is stored (0600, without hook output), and a new store loads it', async () => {
    const file = join(dir, 'a.json')
    const store = new FailedRolloutStore(file, (error) => assert.fail(error))
    let saving: Promise<void> = Promise.resolve()
    const failed = FailedRollouts.of([], (current) => (saving = store.save(current)))
    failed.set('web', {version: 'bbbbbbbb', reason: 'beforeRollout hook exited with status 1', at: 1000, output: ['migrating', 'DB_PASSWORD=hunter2']})
    await saving
    assert.equal((await stat(file)).mode & 0o777, 0o600)
    assert.doesNotMatch(await readFile(file, 'utf8'), /hunter2|migrating/)
    assert.deepEqual([...(await new FailedRolloutStore(file, assert.fail).load())], [['web', {version: 'bbbbbbbb', reason: 'beforeRollout hook exited with status 1', at: 1000}]])
  })

  it('1000 processes failing at once: one run of writes, ending with the newest state on disk', async () => {
    const file = join(dir, 'b.json')
    const store = new FailedRolloutStore(file, (error) => assert.fail(error))
    const saves: Array<Promise<void>> = []
    const failed = FailedRollouts.of([], (current) => saves.push(store.save(current)))
    for (let i = 0; i < 1000; i++) failed.set(`p${i}`, {version: `v${i}`, reason: 'not healthy within 1 s', at: i})
    failed.delete('p3')
    failed.delete('nothing')
    await Promise.all(saves)
    assert.equal(saves.length, 1001, 'a delete of nothing is no change')
    assert.equal(new Set(saves).size, 1, 'the burst shares one run of writes')
    const loaded = await new FailedRolloutStore(file, assert.fail).load()
    assert.equal(loaded.size, 999)
    assert.equal(loaded.has('p3'), false)
    assert.equal(loaded.get('p999')?.version, 'v999')
  })

  it('restored entries are not stored again; a missing or damaged file loads as none', async () => {
    let changes = 0
    const failed = FailedRollouts.of([['web', {version: 'v2', reason: 'r', at: 1}]], () => changes++)
    assert.equal(failed.get('web')?.version, 'v2')
    assert.equal(changes, 0)
    failed.clear()
    assert.equal(changes, 1)
    assert.equal((await new FailedRolloutStore(join(dir, 'missing.json'), assert.fail).load()).size, 0)
    const damaged = join(dir, 'damaged.json')
    await writeFile(damaged, '{"web": {"version": 3}, "api": ')
    assert.equal((await new FailedRolloutStore(damaged, assert.fail).load()).size, 0)
    await writeFile(damaged, '{"web": {"version": 3}, "api": {"version": "v1", "reason": "r", "at": 5}}')
    assert.deepEqual([...(await new FailedRolloutStore(damaged, assert.fail).load()).keys()], ['api'])
  })
})
