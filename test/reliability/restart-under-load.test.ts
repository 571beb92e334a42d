/**
 * Server restarts under load with the kernel load balancer (nftables): 20 restarts, alternately
 * graceful (SIGTERM) and kill -9, while a load generator sends requests through the service
 * address. Not one request may fail, and no process may be restarted (same units, same
 * MainPIDs, NRestarts unchanged).
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {Harness, waitFor} from '../helpers/harness.js'
import {startLoad, webApp} from '../helpers/services.js'
import {say, sleep} from './helpers/common.js'
import {startServer} from './helpers/server.js'

const RESTARTS = 20
const SERVICE = 'http://127.0.0.1:5000/'

const target = `processes:
  - name: web
    command: ["node", "${webApp}"]
    uid: nobody
    env: {APP_VERSION: "a"}
    receives: [web]
    health: {service: web, path: /health, interval: 200ms, failureThreshold: 2, startupDeadline: 5s}
  - name: web-b
    command: ["node", "${webApp}"]
    uid: nobody
    env: {APP_VERSION: "b"}
    receives: [web]
    health: {service: web, path: /health, interval: 200ms, failureThreshold: 2, startupDeadline: 5s}
  - name: worker
    command: ["sleep", "100000"]
services:
  - name: web
    on: "127.0.0.1:5000"
`

describe(`${RESTARTS} server restarts under load with the nftables balancer`, () => {
  let h: Harness
  let config = ''
  before(async () => {
    h = await Harness.start({server: false})
    config = await h.writeFile('config.yaml', 'lb: nftables\nresyncSeconds: 2\n')
    await startServer(h, {extraArgs: ['--config', config], printAuth: true})
    await h.setTarget(target)
    await waitFor('both web instances serving', async () => {
      const s = await h.status()
      return s.processes.filter((p) => p.name.startsWith('web')).every((p) => (p.instances[0] as {traffic?: string} | undefined)?.traffic === 'in') && s.processes.length === 3
    }, 20_000, 100)
  })
  after(async () => h?.close())

  const snapshot = async () => {
    const units = await h.units()
    const entries = await Promise.all(units.map(async (u) => [u, await h.unit(u, ['MainPID', 'NRestarts', 'ActiveState'])] as const))
    return Object.fromEntries(entries) as Record<string, Record<string, string>>
  }

  it('0 failed requests, 0 process restarts', async (t) => {
    const before = await snapshot()
    const nftBefore = await h.inside(['nft', 'list', 'table', 'ip', 'launcho'])
    const load = startLoad(h, SERVICE, 6, 300)
    await waitFor('load flowing', async () => load.progress().ok > 100, 10_000, 50)
    const downtimes: number[] = []
    for (let i = 0; i < RESTARTS; i++) {
      const signal = i % 2 === 0 ? 'SIGTERM' : 'SIGKILL'
      const okBefore = load.progress().ok
      const stopped = Date.now()
      await h.stopServer(signal)
      await startServer(h, {extraArgs: ['--config', config]})
      downtimes.push(Date.now() - stopped)
      const progress = load.progress()
      t.diagnostic(`${new Date().toISOString()} restart ${i + 1} (${signal}): server down ${downtimes.at(-1)} ms; requests meanwhile ${progress.ok - okBefore} ok, ${progress.failed} failed so far`)
      // Let the new server run a few reconcile passes (and health checks) before the next restart.
      await sleep(300 + Math.floor(Math.random() * 700))
    }
    await waitFor('status answers', async () => (await h.status()).processes.length === 3, 10_000, 100)
    await sleep(2_500)
    const summary = await load.stop()
    const after = await snapshot()
    const nftAfter = await h.inside(['nft', 'list', 'table', 'ip', 'launcho'])
    say(t, `${RESTARTS} restarts (${RESTARTS / 2} SIGTERM, ${RESTARTS / 2} SIGKILL), server down ${Math.min(...downtimes)}–${Math.max(...downtimes)} ms each; load: ${summary.ok} ok, ${summary.failed} failed ${JSON.stringify(summary.errors)} (first at ${JSON.stringify(summary.firsts)}); answered by ${JSON.stringify(summary.bodies)}`)
    for (const [unit, props] of Object.entries(after)) say(t, `${unit}: MainPID ${props.MainPID} (was ${before[unit]?.MainPID}), NRestarts ${props.NRestarts} (was ${before[unit]?.NRestarts})`)
    assert.equal(summary.failed, 0, `failures: ${JSON.stringify(summary.errors)}`)
    assert.ok((summary.bodies.a ?? 0) > 0 && (summary.bodies.b ?? 0) > 0, 'both instances served')
    assert.deepEqual(after, before, 'same units, same MainPIDs, no restarts')
    assert.equal(nftAfter, nftBefore, 'the same nftables ruleset')
    const status = await h.status()
    assert.ok(status.processes.every((p) => p.state === 'running'), JSON.stringify(status.processes.map((p) => [p.name, p.state])))
  })
})
