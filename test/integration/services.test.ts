import assert from 'node:assert/strict'
import {rm, writeFile} from 'node:fs/promises'
import {after, before, describe, it} from 'node:test'
import {Harness, waitFor, type StatusJson} from '../helpers/harness.js'
import {get, startLoad, webApp} from '../helpers/services.js'

const SERVICE = 'http://127.0.0.1:5000/'

function target(h: Harness, version: string, options: {health?: 'never'} = {}): string {
  return `processes:
  - name: web
    command: ["node", "${webApp}"]
    uid: nobody
    env:
      APP_VERSION: "${version}"
      UNHEALTHY_FILE: "${h.dir}/unhealthy"${options.health ? `\n      HEALTH: "${options.health}"` : ''}
    receives: [web]
    health: {service: web, path: /health, interval: 200ms, failureThreshold: 2, startupDeadline: 4s}
  - name: web-b
    command: ["node", "${webApp}"]
    uid: nobody
    env:
      APP_VERSION: "b1"
    receives: [web]
    health: {service: web, path: /health, interval: 200ms, failureThreshold: 2}
services:
  - name: web
    on: "127.0.0.1:5000"
`
}

const web = (status: StatusJson) => status.processes.find((p) => p.name === 'web')!

/** The current version of web serves alone (the rollout is over). */
async function settled(h: Harness, version?: string) {
  return waitFor(`web ${version ?? ''} serving alone`, async () => {
    const status = await h.status()
    const process = web(status)
    const only = process.instances.length === 1 && process.instances[0]!
    const b = status.processes.find((p) => p.name === 'web-b')!
    const bServing = b.instances.some((i) => (i as {traffic?: string}).traffic === 'in')
    return only && only.current && (only as {traffic?: string}).traffic === 'in' && bServing && (!version || process.version === version) && status
  }, 30_000, 100)
}

for (const lb of ['nftables', 'userspace'] as const) {
  describe(`services through the ${lb} balancer`, () => {
    let h: Harness
    before(async () => {
      h = await Harness.start({server: false})
      const config = await h.writeFile('config.yaml', `lb: ${lb}\ndrainTimeoutSeconds: 10\nresyncSeconds: 2\n`)
      await h.startServer(['--config', config])
      await h.setTarget(target(h, 'v1'))
      await settled(h)
    })
    after(async () => h?.close())

    it('sends requests through the service address to every healthy instance', async () => {
      const status = await h.ok(['status'])
      assert.match(status, new RegExp(`load balancer: ${lb}`))
      const seen = new Set<string>()
      for (let i = 0; i < 40 && seen.size < 2; i++) seen.add((await get(h, SERVICE)).split(' ')[1]!)
      assert.deepEqual([...seen].sort(), ['b1', 'v1'])
      const ports = (await h.status()).processes.flatMap((p) => p.instances.map((i) => (i as {ports?: Record<string, number>}).ports?.web))
      assert.equal(new Set(ports).size, 2, 'each instance got its own SERVICE_PORT_WEB')
    })

    it('upgrades three times in a row under load with 0 failed requests', async () => {
      const load = startLoad(h, SERVICE)
      for (const version of ['v2', 'v3', 'v4']) {
        await h.setTarget(target(h, version))
        await settled(h, undefined)
        await waitFor(`${version} serving`, async () => (await get(h, SERVICE)).includes(version) || (await get(h, SERVICE)).includes(version), 10_000)
        await settled(h)
      }
      await waitFor('5000 requests', async () => load.progress().ok >= 5_000, 120_000, 200)
      const summary = await load.stop()
      assert.equal(summary.failed, 0, `failures: ${JSON.stringify(summary.errors)}`)
      assert.ok(summary.ok >= 5_000)
      for (const version of ['v1', 'v2', 'v3', 'v4']) assert.ok((summary.bodies[version] ?? 0) > 0, `${version} answered some requests`)
      const events = (await h.status()).events.filter((e) => e.process === 'web').map((e) => e.kind)
      assert.ok(events.includes('draining') && events.includes('replaced'), events.join(','))
    })

    it('keeps the old version serving when the new one never turns healthy, and says the rollout failed', async () => {
      const load = startLoad(h, SERVICE)
      await h.setTarget(target(h, 'v5', {health: 'never'}))
      const failed = await waitFor('rollout failed', async () => {
        const process = web(await h.status())
        return process.state === 'rollout-failed' && process
      }, 30_000, 200)
      assert.match((failed as unknown as {rolloutFailure: {reason: string}}).rolloutFailure.reason, /HTTP 500/)
      const old = await waitFor('only the old version left, serving', async () => {
        const instances = web(await h.status()).instances
        return instances.length === 1 && !instances[0]!.current && (instances[0] as {traffic?: string}).traffic === 'in' && instances[0]!
      }, 10_000, 100)
      assert.notEqual(old.version, web(await h.status()).version)
      const summary = await load.stop()
      assert.equal(summary.failed, 0, `failures: ${JSON.stringify(summary.errors)}`)
      assert.equal(summary.bodies.v5 ?? 0, 0, 'the unhealthy version never got traffic')
      assert.ok((summary.bodies.v4 ?? 0) > 0)
      assert.match(await h.ok(['status']), /rollout of \w+ failed/)
      await h.setTarget(target(h, 'v6'))
      await settled(h, undefined)
    })

    // Before the health-failure test below: launcho's restart there counts toward the crash-loop
    // policy (3 in 10 s), which would rightly hold a kill -9 right after it.
    it('after a kill -9 leaves the restart to systemd: the new process is checked, not restarted a second time', async () => {
      await settled(h)
      const before = web(await h.status())
      const {unit, pid} = before.instances[0]!
      const restartsBefore = Number((await h.unit(unit, ['NRestarts'])).NRestarts)
      const eventsBefore = (await h.status()).events.length
      await h.inside(['kill', '-9', String(pid)])
      const back = await waitFor('web serving again with a new process', async () => {
        const instance = web(await h.status()).instances[0]
        return instance?.unit === unit && instance.pid !== pid && (instance as {traffic?: string}).traffic === 'in' && instance
      }, 20_000, 50)
      const events = (await h.status()).events.slice(eventsBefore).filter((e) => e.process === 'web')
      const kinds = events.map((e) => e.kind)
      assert.equal(Number((await h.unit(unit, ['NRestarts'])).NRestarts), restartsBefore + 1, `one restart, by systemd (events: ${events.map((e) => `${e.kind}: ${e.message}`).join(' | ')})`)
      assert.ok(!kinds.includes('restarted'), `launcho restarted it too: ${kinds.join(',')}`)
      if (kinds.includes('unhealthy')) assert.ok(kinds.includes('rechecking'), kinds.join(','))
      assert.equal(back.unit, unit)
    })

    it('takes an instance whose health endpoint fails out of the balancer within interval × threshold, and replaces it', async () => {
      await settled(h)
      const unit = web(await h.status()).instances[0]!.unit
      const pidBefore = web(await h.status()).instances[0]!.pid
      const sickAt = Date.now()
      await writeFile(`${h.dir}/unhealthy`, '')
      const outAt = await waitFor('web out of the balancer', async () => {
        const instance = web(await h.status()).instances.find((i) => i.unit === unit)
        return (instance as {traffic?: string} | undefined)?.traffic === 'out' && Date.now()
      }, 10_000, 25)
      // 200 ms interval × 2 failures, plus one in-flight check, the balancer update and the status
      // round trip (a CLI start, slow on a loaded 2-core machine). bench/failover.ts measures it.
      assert.ok(outAt - sickAt <= 200 * 2 + 2_000, `took ${outAt - sickAt} ms`)
      for (let i = 0; i < 10; i++) assert.match(await get(h, SERVICE), /^200 b1/, 'only web-b answers meanwhile')
      await waitFor('web restarted', async () => {
        const status = await h.status()
        return status.events.some((e) => e.kind === 'restarted' && e.process === 'web') && web(status).instances[0]!.pid !== pidBefore
      }, 10_000)
      await rm(`${h.dir}/unhealthy`)
      await settled(h)
    })

    it('keeps traffic flowing through kill -9 of the server, and restarts no instance', async () => {
      await settled(h)
      const units = async () => Object.fromEntries(await Promise.all((await h.units()).map(async (u) => [u, await h.unit(u, ['MainPID', 'NRestarts'])])))
      const before = await units()
      const load = startLoad(h, SERVICE)
      await waitFor('some load', async () => load.progress().ok > 200, 10_000)
      await h.stopServer('SIGKILL')
      const atKill = load.progress().ok
      await waitFor('traffic while the server is down', async () => load.progress().ok > atKill + 200, 10_000)
      const config = `${h.dir}/config.yaml`
      await h.startServer(['--config', config])
      await waitFor('server back', async () => (await h.status()).processes.length === 2, 10_000)
      await new Promise((resolve) => setTimeout(resolve, 1_500))
      const summary = await load.stop()
      assert.equal(summary.failed, 0, `failures: ${JSON.stringify(summary.errors)}`)
      assert.deepEqual(await units(), before, 'same MainPIDs, no restarts')
    })
  })
}
