/**
 * Each process's exposure, as systemd-analyze security scores the unit launcho creates, is shown
 * by status and by t diff, and maxExposure refuses a target whose units score worse.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {Harness, repoRoot, waitFor} from '../helpers/harness.js'
import {visibleFixture} from '../helpers/visible-fixture.js'

// Not from the clone: it may be under /tmp, which the sandboxes hide.
const probeFixture = await visibleFixture('sandbox-probe.cjs')
const probe = probeFixture.path
const app = (sandbox: string, extra = '') => `processes:
  - name: app
    command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(probe)}]
    uid: nobody
    sandbox: ${sandbox}${extra}
    receives: [web]
    health: {service: web, path: /health}
services:
  - name: web
    on: "127.0.0.1:5000"
`

describe('exposure score and maxExposure', () => {
  let h: Harness
  before(async () => {
    h = await Harness.start()
  })
  after(async () => {
    await h?.close()
    await probeFixture.remove()
  })

  const exposureOf = async () => (await h.status()).processes.find((p) => p.name === 'app')?.exposure

  it('status shows the exposure of sandbox none (over 9) and t diff its fall under strict (under 3)', async () => {
    await h.setTarget(app('none'), {wait: true})
    const open = (await exposureOf())!
    console.log(`exposure with sandbox: none   ${open.score.toFixed(1)} ${open.rating}`)
    assert.ok(open.score > 9, `none scores ${open.score}`)
    assert.equal(open.rating, 'UNSAFE')
    assert.match(await h.ok(['status'], {}), /EXPOSURE[\s\S]*\d\.\d UNSAFE/)
    const diff = await h.ok(['t', 'diff', await h.writeFile('strict.yaml', app('strict'))])
    console.log(`t diff: ${diff.trim()}`)
    assert.match(diff, /replace +app \(\w+ -> \w+\): sandbox; exposure 9\.\d UNSAFE → [0-2]\.\d OK/)
  })

  it('the strict unit scores under 3.0 once it runs, in status --json', async () => {
    await h.setTarget(app('strict'), {wait: true})
    const strict = (await exposureOf())!
    console.log(`exposure with sandbox: strict ${strict.score.toFixed(1)} ${strict.rating}`)
    assert.ok(strict.score < 3, `strict scores ${strict.score}`)
    assert.equal(strict.rating, 'OK')
    assert.ok(strict.costs!.length > 0)
    // The table shows only the score: it asks without the costs, which are most of a big answer.
    const brief = await h.request({path: '/v1/status?events=0&costs=0'})
    assert.equal(brief.status, 200)
    const briefExposure = (JSON.parse(brief.body.toString()) as {processes: Array<{exposure?: object}>}).processes[0]!.exposure
    assert.deepEqual(briefExposure, {score: strict.score, rating: strict.rating})
  })

  it('maxExposure 4.0 refuses sandbox none, naming the process and what costs most, and changes nothing', async () => {
    const before = (await h.status()).processes[0]!.instances[0]!
    const file = await h.writeFile('too-open.yaml', app('none', '\n    maxExposure: 4.0'))
    const refused = await h.cli(['t', 'set', file])
    console.log(`refused: ${refused.stderr.trim()}`)
    assert.equal(refused.code, 2)
    assert.match(refused.stderr, /too-open\.yaml:6:18: processes\[0\]\.maxExposure: process "app": its unit's exposure is 9\.\d UNSAFE, above its maxExposure 4\.0; what costs most: PrivateNetwork= 0\.5/)
    assert.match(refused.stderr, /sandbox: strict/)
    const after = (await h.status()).processes[0]!.instances[0]!
    assert.deepEqual([after.unit, after.pid], [before.unit, before.pid])
  })

  it('maxExposure 4.0 with strict passes (and, a gate only, is no change of what runs)', async () => {
    assert.match(await h.setTarget(app('strict', '\n    maxExposure: 4.0'), {wait: true}), /No process changes/)
    const output = await h.setTarget(app('strict', '\n    maxExposure: 4.0\n    env: {V: "2"}'), {wait: true})
    // The score did not change: the change line does not repeat it (status shows it).
    assert.match(output, /^replace +app \(\w+ -> \w+\): env\.V$/m)
    assert.ok((await exposureOf())!.score <= 4)
  })

  it("the server's maxExposure refuses a process without its own, at its name", async () => {
    const config = await h.writeFile('config.yaml', 'maxExposure: 4.0\n')
    await h.stopServer()
    await h.startServer(['--config', config], {printAuth: false})
    await waitFor('the restored process measured', async () => (await exposureOf()) !== undefined)
    const file = await h.writeFile('open.yaml', app('basic'))
    const refused = await h.cli(['t', 'set', file])
    assert.equal(refused.code, 2)
    assert.match(refused.stderr, /open\.yaml:2:11: processes\[0\]\.name: process "app": its unit's exposure is \d\.\d \w+, above the server's maxExposure 4\.0/)
  })
})
