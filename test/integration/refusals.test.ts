/**
 * `t set` refuses, with the file, line and field, every target that could only fail at each start
 * (and loop): issue 10, findings 4, 9, 11 and 12. A refusal writes nothing and what runs keeps its
 * PID. And a resource prefix is resolved once, when set (finding 13): a later upload sharing it
 * changes nothing, and can itself be removed.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {Harness, waitFor, type StatusJson} from '../helpers/harness.js'
import {collidingContents, refusalCases, sha256, WEB, withBad} from '../helpers/refusals.js'

describe('t set refuses what would fail at every start', () => {
  let h: Harness
  let webPid = 0
  const unstoredId = sha256('a bundle that was never uploaded')

  const web = (status: StatusJson) => status.processes.find((p) => p.name === 'web')
  const up = async (name: string, text: string) => (await h.ok(['resource', 'up', await h.writeFile(name, text)])).trim()

  before(async () => {
    h = await Harness.start()
    await h.setTarget(WEB)
    webPid = await waitFor('web running', async () => {
      const process = web(await h.status())
      return process?.state === 'running' && process.instances[0]!.pid
    })
  })
  after(async () => h?.close())

  it('refuses each bad target with exit 2 and the line; nothing is written and web keeps its PID', async () => {
    const ids = await Promise.all(collidingContents('ambiguous').map((text, i) => up(`ambiguous-${i}`, text)))
    await h.ok(['secret', 'set', 'BUNDLE_RESOURCE_ID', unstoredId])
    const cases = refusalCases({apiPort: h.port, ambiguous: {prefix: ids[0]!.slice(0, 8), ids}, unstoredSecret: 'BUNDLE_RESOURCE_ID'})
    const failures: string[] = []
    for (const [i, refusal] of cases.entries()) {
      const file = await h.writeFile(`bad-${i}.yaml`, refusal.text)
      const result = await h.cli(['t', 'set', file])
      const expected = `  ${file}:${refusal.line}`
      if (result.code !== 2 || !result.stderr.split('\n').includes(expected)) {
        failures.push(`${refusal.name}: exit ${result.code}, expected the line\n${expected}\ngot:\n${result.stderr}${result.stdout}`)
      }
    }
    assert.deepEqual(failures, [])
    assert.equal(await h.ok(['t', 'get']), WEB, 'the stored target is unchanged')
    const status = await h.status()
    assert.deepEqual(status.processes.map((p) => [p.name, p.state, p.instances.map((i) => i.pid)]), [['web', 'running', [webPid]]])
    assert.equal((await h.units()).length, 1)
  })

  it('names a secret used as a resource id that is not stored, never its value, in the output, events and server log', async () => {
    await h.ok(['secret', 'set', 'BUNDLE_RESOURCE_ID', unstoredId])
    const file = await h.writeFile('secret-id.yaml', withBad('command: ["sleep", "1"]\nresources: [{id: "${BUNDLE_RESOURCE_ID}", file: app.tar}]'))
    const result = await h.cli(['t', 'set', file])
    assert.equal(result.code, 2)
    assert.match(result.stderr, /processes\[1\]\.resources\[0\]\.id \(from secret BUNDLE_RESOURCE_ID\): no such resource is stored/)
    const diff = await h.cli(['t', 'diff', file])
    const events = JSON.stringify((await h.status()).events)
    for (const [where, text] of [['t set output', result.stderr + result.stdout], ['t diff output', diff.stderr + diff.stdout], ['events', events], ['server log', h.serverLog], ['journal', await h.journal(['-o', 'cat'])]]) {
      assert.ok(!text.includes(unstoredId), `${where} contains the secret's value`)
    }
  })

  it('keeps the full id a prefix named when set: a later upload with the same prefix changes nothing and can be removed', async () => {
    const [first, second] = collidingContents('pinned')
    const pinned = await up('pinned-1', first)
    const target = `${WEB}  - name: app
    command: ["sleep", "100000"]
    uid: nobody
    resources: [{id: "${pinned.slice(0, 8)}", file: app.txt}]
`
    await h.setTarget(target)
    const app = async () => (await h.status()).processes.find((p) => p.name === 'app')
    const firstPid = await waitFor('app running', async () => (await app())?.state === 'running' && (await app())!.instances[0]!.pid)

    const newer = await up('pinned-2', second)
    assert.equal(newer.slice(0, 8), pinned.slice(0, 8), 'the two uploads share the prefix')
    assert.equal(await h.ok(['t', 'set', await h.writeFile('pinned.yaml', target)]), 'No process changes.\n', 'setting the same target again changes nothing')

    // A fresh instance must still find its resource: the prefix is not resolved again.
    const restarted = JSON.parse(await h.ok(['restart', 'app', '--json'])) as {changes: Array<{process: string; to?: string}>}
    const version = restarted.changes.find((c) => c.process === 'app')!.to!
    await waitFor('the restarted app running', async () => {
      const process = await app()
      return process?.state === 'running' && process.version === version && process.instances.every((i) => i.version === version)
    }, 20_000)
    const status = await h.status()
    assert.ok(!status.events.some((e) => e.process === 'app' && /failed|crash/.test(e.kind)), JSON.stringify(status.events.filter((e) => e.process === 'app')))
    assert.notEqual((await app())!.instances[0]!.pid, firstPid)

    assert.equal(await h.ok(['r', 'rm', newer]), `removed ${newer}\n`, 'the newer upload is not in use')
    const refused = await h.cli(['r', 'rm', pinned])
    assert.equal(refused.code, 2)
    assert.match(refused.stderr, new RegExp(`resource ${pinned} is used by the target's process app; it was not removed`))

    // A restarted server keeps the pin: same instance, and the resource is still protected.
    const pid = (await app())!.instances[0]!.pid
    await h.stopServer()
    await h.startServer([], {printAuth: false})
    await waitFor('app adopted', async () => (await app())?.state === 'running')
    assert.deepEqual((await app())!.instances.map((i) => i.pid), [pid])
    assert.match((await h.cli(['r', 'rm', pinned])).stderr, /is used by the target's process app/)
  })
})
