/**
 * The beforeRollout hook: runs exactly once per rollout of a new version (not per replica, not on
 * a scale-only change), before any new instance starts; one that fails aborts the rollout, the old
 * version serves every request, `t set` exits non-zero with the hook's last lines, and the release
 * is marked failed. The verdict outlives a restart of the server while the old version runs.
 */
import assert from 'node:assert/strict'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {historyResponseSchema} from '../../src/protocol/releases.js'
import {Harness, waitFor, type StatusJson} from '../helpers/harness.js'
import {get, startLoad, webApp} from '../helpers/services.js'

const SERVICE = 'http://127.0.0.1:5000/'

describe('beforeRollout hook', () => {
  let h: Harness
  let countFile: string
  const target = (version: string, replicas: number, hookExit: number, slow = false) => `processes:
  - name: web
    command: ["node", "${webApp}"]
    replicas: ${replicas}
    env:
      APP_VERSION: "${version}"
    receives: [web]
    health: {service: web, path: /health, interval: 200ms, startupDeadline: 20s}
    hooks:
      beforeRollout: ["sh", "-c", "${slow ? `touch ${countFile}.started; sleep 5; ` : ''}echo hook-$APP_VERSION >> ${countFile}; echo migrating $APP_VERSION; echo migration-step-done; exit ${hookExit}"]
services:
  - name: web
    on: "127.0.0.1:5000"
`
  const hookRuns = async () => (await readFile(countFile, 'utf8').catch(() => '')).split('\n').filter(Boolean)
  const web = (status: StatusJson) => status.processes.find((p) => p.name === 'web')!

  before(async () => {
    h = await Harness.start({server: false})
    countFile = join(h.dir, 'hook-runs.txt')
    await h.startServer(['--config', await h.writeFile('config.yaml', 'lb: nftables\ndrainTimeoutSeconds: 2\n')])
  })
  after(async () => h?.close())

  it('runs exactly once for a process with 3 replicas, and not on a scale-only change (3 → 4)', async () => {
    await h.ok(['t', 'set', await h.writeFile('v1.yaml', target('v1', 3, 0))])
    assert.deepEqual(await hookRuns(), ['hook-v1'])
    assert.equal(web(await h.status()).instances.filter((i) => i.traffic === 'in').length, 3)
    await h.ok(['t', 'set', await h.writeFile('v1-4.yaml', target('v1', 4, 0))])
    await waitFor('4 serving replicas', async () => web(await h.status()).instances.filter((i) => i.traffic === 'in').length === 4, 30_000)
    assert.deepEqual(await hookRuns(), ['hook-v1'])
    assert.equal((await get(h, SERVICE)).split(' ')[1], 'v1')
  })

  it('one that exits 1: the old version serves every request, t set fails with its output, history marks the release failed', async () => {
    const load = startLoad(h, SERVICE, 4)
    await waitFor('load running', async () => load.progress().ok > 50, 20_000)
    const result = await h.cli(['t', 'set', await h.writeFile('v2.yaml', target('v2', 4, 1))])
    await waitFor('more load after the failure', async () => load.progress().ok > 500, 30_000)
    const summary = await load.stop()
    assert.notEqual(result.code, 0)
    assert.match(result.stderr, /beforeRollout hook exited with status 1/)
    assert.match(result.stderr, /migrating v2/)
    assert.match(result.stderr, /migration-step-done/)
    assert.equal(summary.failed, 0, JSON.stringify(summary.errors))
    assert.deepEqual(Object.keys(summary.bodies), ['v1'])
    assert.deepEqual(await hookRuns(), ['hook-v1', 'hook-v2'])
    const status = web(await h.status())
    assert.ok(status.instances.every((instance) => instance.version !== status.version), 'no instance of the failed version was started')
    const history = historyResponseSchema.parse(JSON.parse(await h.ok(['history', '--json'])))
    assert.equal(history.releases[0]!.outcome.state, 'failed')
    assert.match(JSON.stringify(history.releases[0]!.outcome), /beforeRollout hook exited with status 1/)
    // Not retried: the version stays failed until the target changes.
    assert.deepEqual(await hookRuns(), ['hook-v1', 'hook-v2'])
    const events = await h.ok(['events', '--json'])
    assert.ok(!events.includes('migration-step-done'), 'the hook output stays out of events')
  })

  it('stays failed across a restart of the server: status says why, and the hook is not run again', async () => {
    await h.stopServer()
    await h.startServer(['--config', join(h.dir, 'config.yaml')], {printAuth: false})
    const status = web(await h.status())
    assert.equal(status.state, 'rollout-failed', JSON.stringify(status))
    assert.match(JSON.stringify(status), /beforeRollout hook exited with status 1/)
    // The restarted server's first pass puts the old instances back in the balancer; one that had
    // forgotten would start the hook in that same pass, and it writes its line at once: a second
    // after, it would be there.
    await waitFor('the old instances serving again', async () => web(await h.status()).instances.filter((i) => i.traffic === 'in').length === 4, 20_000)
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    assert.deepEqual(await hookRuns(), ['hook-v1', 'hook-v2'])
    assert.ok(web(await h.status()).instances.every((instance) => instance.version !== status.version), 'no instance of the failed version was started')
    assert.equal((await get(h, SERVICE)).split(' ')[1], 'v1')
  })

  it('but with nothing of the process left after a restart (as after a reboot), the failed version is tried again', async () => {
    await h.stopServer()
    const webUnits = (await h.units()).filter((unit) => unit.startsWith('launcho-web-'))
    assert.ok(webUnits.length > 0)
    await h.inside(['systemctl', 'stop', ...webUnits])
    await h.startServer(['--config', join(h.dir, 'config.yaml')], {printAuth: false})
    await waitFor('the hook run again', async () => (await hookRuns()).length === 3, 20_000)
    assert.deepEqual(await hookRuns(), ['hook-v1', 'hook-v2', 'hook-v2'])
    await waitFor('failed again', async () => web(await h.status()).state === 'rollout-failed' || undefined, 20_000)
  })

  it('a server killed while the hook runs finds the hook unit again and waits for it (not run twice)', async () => {
    await h.setTarget(target('v3', 2, 0, true))
    await waitFor('the hook running', async () => (await readFile(`${countFile}.started`).then(() => true, () => false)) && (await h.units()).some((u) => /^launcho-run-web-before-rollout-[0-9a-f]{8}\.service$/.test(u)), 20_000)
    await h.stopServer('SIGKILL')
    await h.startServer(['--config', join(h.dir, 'config.yaml')], {printAuth: false})
    await waitFor('v3 serving', async () => (await get(h, SERVICE)).split(' ')[1] === 'v3', 40_000)
    assert.deepEqual(await hookRuns(), ['hook-v1', 'hook-v2', 'hook-v2', 'hook-v3'])
  })
})
