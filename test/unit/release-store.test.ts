import assert from 'node:assert/strict'
import {mkdtemp, readdir, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {ReleaseStore, type ReleaseDraft} from '../../src/store/release-store.js'

function draft(version: string, follow: ReleaseDraft['follow'] = [{process: 'web', change: 'replace', from: 'old', to: version}]): ReleaseDraft {
  return {
    time: new Date(0).toISOString(),
    kind: 'target-set',
    target: `processes: [] # ${version}\n`,
    secrets: {DB_URL: `value-${version}`},
    pins: {},
    resources: [{process: 'web', id: 'a'.repeat(64)}],
    generations: {},
    versions: {web: version, api: `api-${version}`},
    stopped: [],
    changes: [`web: replace (env.V)`],
    follow,
  }
}

describe('ReleaseStore', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'launcho-releases-'))
  })
  after(() => rm(dir, {recursive: true, force: true}))

  it('numbers releases, keeps the newest, writes 0600 files in a 0700 dir and reads them back', async () => {
    const path = join(dir, 'kept')
    const store = new ReleaseStore(path, 3)
    await store.load()
    for (const version of ['v1', 'v2', 'v3', 'v4', 'v5']) {
      const release = await store.record(draft(version))
      await store.setOutcome(release.number, {state: 'serving', at: new Date(1).toISOString()})
    }
    assert.deepEqual(store.list().map((r) => r.number), [3, 4, 5])
    assert.deepEqual((await readdir(path)).sort(), ['3.json', '4.json', '5.json'])
    assert.equal((await stat(path)).mode & 0o777, 0o700)
    assert.equal((await stat(join(path, '5.json'))).mode & 0o777, 0o600)
    const again = new ReleaseStore(path, 3)
    await again.load()
    assert.deepEqual(again.list(), store.list())
    assert.equal((await again.record(draft('v6'))).number, 6, 'numbers go on after a restart')
    assert.deepEqual(again.usersOf('a'.repeat(64)), [4, 5, 6])
    assert.equal(again.lastServing(6)?.number, 5)
  })

  it('an outcome is final; a newer release supersedes one still rolling out and follows what it left unsettled', async () => {
    const store = new ReleaseStore(undefined)
    const first = await store.record(draft('v1', [
      {process: 'web', change: 'replace', from: 'old', to: 'v1'},
      {process: 'api', change: 'replace', from: 'old', to: 'api-v1'},
    ]))
    store.noteUnsettled(first.number, ['api'])
    const second = await store.record(draft('v2', [{process: 'web', change: 'replace', from: 'v1', to: 'v2'}]))
    assert.equal(store.get(first.number)?.outcome.state, 'superseded')
    assert.deepEqual(second.follow.map((c) => [c.process, c.to]), [['web', 'v2'], ['api', 'api-v2']])
    assert.equal(await store.setOutcome(first.number, {state: 'serving'}), false, 'a superseded release stays superseded')
    assert.equal(await store.setOutcome(second.number, {state: 'failed', reason: 'web: never healthy'}), true)
    assert.equal(await store.setOutcome(second.number, {state: 'serving'}), false)
    assert.equal(store.get(second.number)?.outcome.state, 'failed')
  })

  it('skips a damaged file and says so', async () => {
    const path = join(dir, 'damaged')
    const store = new ReleaseStore(path)
    await store.load()
    await store.record(draft('v1'))
    await writeFile(join(path, '2.json'), '{"number": 2, "trunc')
    const warnings: string[] = []
    const again = new ReleaseStore(path, 20, (message) => warnings.push(message))
    await again.load()
    assert.deepEqual(again.list().map((r) => r.number), [1])
    assert.match(warnings[0]!, /skipped the damaged release file .*2\.json/)
  })
})
