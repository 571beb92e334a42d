/**
 * Renaming a process behind a service (target {a receives web} → {b receives web}) is a removal
 * plus a new process: a keeps serving until b does, so no request fails; a b that never turns
 * healthy does not keep a serving for ever (its start-up deadline). nftables, real server, real
 * systemd, load through the service.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {Harness, waitFor} from '../helpers/harness.js'
import {get, startLoad, webApp} from '../helpers/services.js'

const SERVICE = 'http://127.0.0.1:5000/'
const proc = (name: string, extra = '', deadline = '3s') => `  - name: ${name}
    command: ["node", "${webApp}"]
    env: {APP_VERSION: ${name}${extra}}
    receives: [web]
    health: {service: web, path: /health, interval: 200ms, startupDeadline: ${deadline}}
`
const target = (...processes: string[]) => `processes:\n${processes.join('')}services:\n  - name: web\n    on: "127.0.0.1:5000"\n`
const unitsOf = async (h: Harness, name: string) => (await h.units()).filter((unit) => unit.startsWith(`launcho-${name}-`))

describe('renaming a process behind a service', () => {
  let h: Harness
  before(async () => {
    h = await Harness.start({server: false})
    await h.startServer(['--config', await h.writeFile('config.yaml', 'lb: nftables\ndrainTimeoutSeconds: 2\n')])
    await h.setTarget(target(proc('a')), {wait: true})
    await waitFor('a serving', async () => /^200 a /.test(await get(h, SERVICE)), 20_000, 100)
  })
  after(async () => h?.close())

  it('the removed process serves until the new one does: no request fails, and then it stops', async () => {
    const load = startLoad(h, SERVICE, 6)
    await waitFor('load flowing', async () => load.progress().ok > 100, 20_000)
    const result = await h.cli(['t', 'set', await h.writeFile('b.yaml', target(proc('b')))])
    assert.equal(result.code, 0, result.stderr)
    await waitFor('a stopped', async () => (await unitsOf(h, 'a')).length === 0, 20_000, 100)
    const summary = await load.stop()
    assert.equal(summary.failed, 0, JSON.stringify(summary.errors))
    assert.ok((summary.bodies.a ?? 0) > 0 && (summary.bodies.b ?? 0) > 0, JSON.stringify(summary.bodies))
    assert.match(await get(h, SERVICE), /^200 b /)
  })

  it('a new process that never turns healthy does not keep the removed one serving past its start-up deadline', async () => {
    await h.setTarget(target(proc('c')), {wait: true})
    const started = Date.now()
    const result = await h.cli(['t', 'set', await h.writeFile('d.yaml', target(proc('d', ', HEALTH: never')))])
    assert.notEqual(result.code, 0, 'the rollout of d fails')
    await waitFor('c stopped', async () => (await unitsOf(h, 'c')).length === 0, 20_000, 100)
    assert.ok(Date.now() - started >= 3_000, `c stopped after d's start-up deadline (${Date.now() - started} ms)`)
  })

  it('launcho stop is no removal: the process stops at once, though another that receives its service does not serve', async () => {
    await h.setTarget(target(proc('e'), proc('f', ', HEALTH: never', '30s')))
    await waitFor('e serving', async () => /^200 e /.test(await get(h, SERVICE)), 20_000, 100)
    const started = Date.now()
    const stopped = await h.cli(['stop', 'e'])
    assert.equal(stopped.code, 0, stopped.stderr)
    assert.deepEqual(await unitsOf(h, 'e'), [])
    assert.ok(Date.now() - started < 15_000, `e stopped without waiting for f's 30 s deadline (${Date.now() - started} ms)`)
  })
})
