import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {after, before, describe, it} from 'node:test'
import {Harness, waitFor} from '../helpers/harness.js'

const target = `processes:
  - name: uses-secret
    command: ["/bin/sh", "-c", "echo token-length=$\${#API_TOKEN}; exec sleep 600"]
    env:
      API_TOKEN: "\${API_TOKEN}"
  - name: plain
    command: ["sleep", "600"]
`

interface Changes {
  changes: Array<{process: string; change: string; reasons?: string[]}>
}

describe('secrets, diffs, restarts and edits change exactly what they should', () => {
  let h: Harness
  const firstValue = 'first-secret-value-4f1d'
  const secondValue = 'second-secret-value-9a2c'
  before(async () => {
    h = await Harness.start()
    await h.ok(['secret', 'set', 'API_TOKEN', firstValue])
    await h.setTarget(target)
    await waitFor('both running', async () => (await h.status()).processes.every((p) => p.state === 'running'))
  })
  after(async () => h?.close())

  const pids = async () =>
    Object.fromEntries((await h.status()).processes.map((p) => [p.name, p.instances.map((i) => `${i.unit}:${i.pid}`).join(',')]))
  const settled = async () =>
    waitFor('one running instance per process', async () => {
      const status = await h.status()
      return status.processes.every((p) => p.state === 'running' && p.instances.length === 1) && status
    })

  it('takes a secret name of the longest allowed length (128), and refuses a longer one by the name rule', async () => {
    const longest = `S${'A'.repeat(127)}`
    await h.ok(['secret', 'set', longest, 'value'])
    assert.equal((await h.ok(['secret', 'get', longest])).trim(), 'value')
    await h.ok(['secret', 'rm', longest])
    const tooLong = await h.request({method: 'PUT', path: `/v1/secrets/${longest}A`, headers: {'content-type': 'application/json'}, body: JSON.stringify({value: 'x'})})
    assert.equal(tooLong.status, 400, tooLong.body.toString())
    assert.match(tooLong.body.toString(), /at most 128/)
  })

  it('redeploys only the process that uses a changed secret', async () => {
    const before = await pids()
    const out = await h.ok(['secret', 'set', 'API_TOKEN', '--json'], {input: secondValue})
    const {changes} = JSON.parse(out) as Changes
    assert.deepEqual(
      changes.filter((c) => c.change !== 'unchanged').map((c) => [c.process, c.change, c.reasons]),
      [['uses-secret', 'replace', ['secret API_TOKEN']]],
    )
    await waitFor('uses-secret replaced', async () => (await pids())['uses-secret'] !== before['uses-secret'])
    await settled()
    const after = await pids()
    assert.equal(after.plain, before.plain, 'plain untouched')
    assert.equal(await h.ok(['secret', 'get', 'API_TOKEN']), `${secondValue}\n`)
  })

  it('refuses to remove a secret the target uses, and changes nothing', async () => {
    const before = await pids()
    const result = await h.cli(['secret', 'rm', 'API_TOKEN'])
    assert.notEqual(result.code, 0)
    assert.match(result.stderr, /API_TOKEN/)
    assert.match(result.stderr, /no longer be valid/)
    assert.equal(await h.ok(['secret', 'get', 'API_TOKEN']), `${secondValue}\n`)
    assert.match(await h.ok(['secret', 'ls']), /^API_TOKEN$/m)
    assert.deepEqual(await pids(), before)
  })

  it('t diff lists exactly the processes t set then changes', async () => {
    const changed = `${target.replace('exec sleep 600"]', 'exec sleep 601"]')}  - name: newcomer
    command: ["sleep", "600"]
`.replace(/  - name: plain\n    command: \["sleep", "600"\]\n/, '')
    const file = await h.writeFile('changed.yaml', changed)
    const diff = JSON.parse(await h.ok(['t', 'diff', file, '--json'])) as Changes
    const moved = (c: Changes) => c.changes.filter((x) => x.change !== 'unchanged').map((x) => [x.process, x.change])
    assert.deepEqual(moved(diff), [['newcomer', 'start'], ['plain', 'stop'], ['uses-secret', 'replace']])
    assert.deepEqual(diff.changes.find((c) => c.process === 'uses-secret')?.reasons, ['command'])
    assert.equal(await h.ok(['t', 'get']), target, 't diff changed nothing')
    const human = await h.ok(['t', 'diff', file])
    assert.match(human, /replace\s+uses-secret \(\w+ -> \w+\): command/)
    const set = JSON.parse(await h.ok(['t', 'set', file, '--json'])) as Changes
    assert.deepEqual(moved(set), moved(diff))
    await waitFor('plain gone, newcomer running', async () => {
      const names = (await h.status()).processes.map((p) => p.name)
      return names.join() === 'newcomer,uses-secret'
    })
    await h.setTarget(target)
    await settled()
  })

  it('restart replaces the instances of one process with fresh ones', async () => {
    const before = await pids()
    const {changes} = JSON.parse(await h.ok(['restart', 'plain', '--json'])) as Changes
    assert.deepEqual(changes.find((c) => c.process === 'plain')?.reasons, ['restart'])
    await waitFor('plain replaced', async () => (await pids()).plain !== before.plain)
    await settled()
    assert.equal((await pids())['uses-secret'], before['uses-secret'])
    const unknown = await h.cli(['restart', 'nope'])
    assert.notEqual(unknown.code, 0)
    assert.match(unknown.stderr, /not in the target/)
  })

  it('t edit sets the edited target, and hands a rejected edit back', async () => {
    const good = await h.cli(['t', 'edit'], {env: {EDITOR: "sed -i 's/\\[\"sleep\", \"600\"]/[\"sleep\", \"602\"]/'"}})
    assert.equal(good.code, 0, good.stderr)
    assert.match(good.stdout, /replace\s+plain/)
    assert.match(await h.ok(['t', 'get']), /"sleep", "602"/)

    const bad = await h.cli(['t', 'edit'], {env: {EDITOR: "sed -i 's/name: plain/name: Plain_Process/'"}})
    assert.notEqual(bad.code, 0)
    assert.match(bad.stderr, /Rejected/)
    assert.match(bad.stderr, /:\d+:\d+: processes\[1\]\.name/)
    const kept = /your edit is kept in (\S+)/.exec(bad.stderr)?.[1]
    assert.ok(kept && existsSync(kept), bad.stderr)
    assert.match(await h.readFile(kept), /Plain_Process/)
    assert.match(await h.ok(['t', 'get']), /name: plain/)

    const untouched = await h.cli(['t', 'edit'], {env: {EDITOR: 'true'}})
    assert.match(untouched.stdout, /No changes/)
  })

  it('never writes secret values to the server log or events', async () => {
    const status = await h.ok(['status', '--json', '--events', '500'])
    for (const value of [firstValue, secondValue]) {
      assert.ok(!h.serverLog.includes(value), 'server log leaks a secret')
      assert.ok(!status.includes(value), 'status leaks a secret')
    }
  })
})
