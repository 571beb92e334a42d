import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {Harness, waitFor, type StatusJson} from '../helpers/harness.js'
import {get, startLoad, webApp} from '../helpers/services.js'

const SERVICE = 'http://127.0.0.1:5000/'

function target(version: string, replicas: number, options: {health?: 'never'} = {}): string {
  return `processes:
  - name: web
    command: ["node", "${webApp}"]
    uid: nobody
    env:
      APP_VERSION: "${version}"${options.health ? `\n      HEALTH: "${options.health}"` : ''}
    receives: [web]
    replicas: ${replicas}
    health: {service: web, path: /health, interval: 200ms, failureThreshold: 2, startupDeadline: 4s}
services:
  - name: web
    on: "127.0.0.1:5000"
`
}

type Instance = StatusJson['processes'][number]['instances'][number] & {traffic?: string; phase?: string; replica?: number; ports?: Record<string, number>}

const web = (status: StatusJson) => status.processes.find((p) => p.name === 'web')!

/** `replicas` instances of the current version serve, and nothing else runs. */
async function settled(h: Harness, replicas: number, version?: string): Promise<Instance[]> {
  return waitFor(`${replicas} replicas of web ${version ?? ''} serving alone`, async () => {
    const process = web(await h.status())
    const instances = process.instances as Instance[]
    const ok = instances.length === replicas && instances.every((i) => i.current && i.traffic === 'in' && i.phase === 'serving')
    const versionOk = !version || instances.every((i) => i.version === version)
    return ok && versionOk && [...instances].sort((a, b) => a.replica! - b.replica!)
  }, 60_000, 100)
}

async function mainPids(h: Harness, units: string[]): Promise<Record<string, string>> {
  return Object.fromEntries(await Promise.all(units.map(async (u) => [u, (await h.unit(u, ['MainPID'])).MainPID!])))
}

describe('replicas behind a service (nftables)', () => {
  let h: Harness
  before(async () => {
    h = await Harness.start({server: false})
    const config = await h.writeFile('config.yaml', `lb: nftables\ndrainTimeoutSeconds: 10\nresyncSeconds: 2\n`)
    await h.startServer(['--config', config])
    await h.setTarget(target('v1', 3))
    await settled(h, 3)
  })
  after(async () => h?.close())

  it('runs every replica as its own unit with its own port, and requests reach all of them', async () => {
    const instances = await settled(h, 3, undefined)
    assert.deepEqual(instances.map((i) => i.replica), [0, 1, 2])
    const version = instances[0]!.version
    assert.deepEqual(instances.map((i) => i.unit), [`launcho-web-${version}.service`, `launcho-web-${version}-1.service`, `launcho-web-${version}-2.service`])
    assert.equal(new Set(instances.map((i) => i.ports?.web)).size, 3, 'each replica got its own SERVICE_PORT_WEB')
    const seen = new Set<string>()
    for (let i = 0; i < 90 && seen.size < 3; i++) seen.add((await get(h, SERVICE)).split(' ')[2]!)
    assert.deepEqual([...seen].sort(), instances.map((i) => String(i.pid)).sort(), 'every replica answered')
    assert.equal(web(await h.status()).state, 'running', 'all replicas serving is no rollout')
    const table = await h.ok(['status'])
    for (const instance of instances) assert.ok(table.includes(instance.unit), `status shows ${instance.unit}`)
  })

  it('upgrades under load (8 connections, >= 5,000 requests) with 0 failed requests', async () => {
    const load = startLoad(h, SERVICE, 8)
    await waitFor('some load', async () => load.progress().ok > 500, 20_000, 100)
    await h.setTarget(target('v2', 3))
    await settled(h, 3)
    await waitFor('v2 serving', async () => (await get(h, SERVICE)).includes('v2'), 10_000)
    await waitFor('5000 requests', async () => load.progress().ok >= 5_000, 120_000, 200)
    const summary = await load.stop()
    assert.equal(summary.failed, 0, `failures: ${JSON.stringify(summary.errors)} ${JSON.stringify(summary.firsts)}`)
    assert.ok(summary.ok >= 5_000)
    assert.ok((summary.bodies.v1 ?? 0) > 0 && (summary.bodies.v2 ?? 0) > 0, JSON.stringify(summary.bodies))
    const events = (await h.status()).events.filter((e) => e.process === 'web')
    assert.equal(events.filter((e) => e.kind === 'replaced').length >= 1, true, events.map((e) => e.kind).join(','))
  })

  it('scales 3 → 2 → 4 without replacing a replica it keeps', async () => {
    const three = await settled(h, 3, undefined)
    const version = three[0]!.version
    const before = await mainPids(h, three.map((i) => i.unit))
    assert.match(await h.setTarget(target('v2', 2)), /scale\s+web .*replicas 3 -> 2/)
    const two = await settled(h, 2, version)
    assert.deepEqual(two.map((i) => i.replica), [0, 1], 'the highest replica went')
    assert.deepEqual(await mainPids(h, two.map((i) => i.unit)), Object.fromEntries(two.map((i) => [i.unit, before[i.unit]])))
    // Followed like a user's `t set`: it returns once all four serve.
    assert.match(await h.setTarget(target('v2', 4), {wait: true}), /scale\s+web .*replicas 2 -> 4/)
    const four = await settled(h, 4, version)
    assert.deepEqual(four.map((i) => i.replica), [0, 1, 2, 3])
    const kept = await mainPids(h, two.map((i) => i.unit))
    assert.deepEqual(kept, Object.fromEntries(two.map((i) => [i.unit, before[i.unit]])), 'same MainPIDs for the replicas kept')
    assert.equal(web(await h.status()).version, version, 'scaling is no new version')
  })

  // New connections per request: besides the requests in flight on it (reset), those that reach
  // its port between its death and the ruleset's update are refused; none may fail after that.
  it('loses only what was in flight (<= 8 reset) or raced the balancer update when one replica is killed with SIGKILL under load', async (t) => {
    const instances = await settled(h, 4, undefined)
    const victim = instances[1]!
    const load = startLoad(h, SERVICE, 8)
    await waitFor('some load', async () => load.progress().ok > 500, 20_000, 100)
    const logFrom = h.serverLog.length
    const killedAt = Date.now()
    await h.inside(['kill', '-9', String(victim.pid)])
    await waitFor('the killed replica serving again with a new process', async () => {
      const instance = (web(await h.status()).instances as Instance[]).find((i) => i.unit === victim.unit)
      return instance && instance.pid !== victim.pid && instance.traffic === 'in'
    }, 20_000, 100)
    const atBack = load.progress().ok
    await waitFor('more load after', async () => load.progress().ok > atBack + 500, 20_000, 100)
    const summary = await load.stop()
    const gone = h.serverLog
      .slice(logFrom)
      .split('\n')
      .map((line) => (line.includes('main process gone') && line.includes(victim.unit) ? (JSON.parse(line) as {time: number}).time : undefined))
      .find((time) => time !== undefined)
    assert.ok(gone !== undefined, 'launcho heard of the death from systemd')
    // The load records the first 20 failures' times.
    const last = Math.max(0, ...summary.firsts.map((f) => f.at))
    t.diagnostic(
      `kill -9 of one of 4 replicas under load: ${summary.ok} ok, ${summary.failed} failed ${JSON.stringify(summary.errors)}; ` +
        `systemd's signal taken ${gone - killedAt} ms after the kill command began, last failure ${last - gone} ms after it`,
    )
    // Resets of requests sent after the kill are new connections its dying listener still accepted;
    // like refusals they are bounded by the next assertion (none later than 100 ms after the signal).
    const inFlight = summary.firsts.filter((failure) => failure.code === 'ECONNRESET' && failure.startedAt < killedAt)
    assert.ok(inFlight.length <= 8, `at most the requests in flight were reset: ${JSON.stringify(summary.errors)}`)
    assert.ok(summary.failed === 0 || last - gone <= 100, `no failure later than 100 ms after systemd's signal (last ${last - gone} ms after)`)
    const others = await mainPids(h, instances.filter((i) => i !== victim).map((i) => i.unit))
    assert.deepEqual(others, Object.fromEntries(instances.filter((i) => i !== victim).map((i) => [i.unit, String(i.pid)])), 'the other replicas were not touched')
  })

  it('stops a rollout at a replica that never turns healthy; the old replicas keep serving every request', async () => {
    const old = await settled(h, 4, undefined)
    const load = startLoad(h, SERVICE, 8)
    await waitFor('some load', async () => load.progress().ok > 300, 20_000, 100)
    await h.setTarget(target('v3', 4, {health: 'never'}))
    const failed = await waitFor('rollout failed', async () => {
      const process = web(await h.status())
      return process.state === 'rollout-failed' && process
    }, 30_000, 200)
    assert.match(failed.rolloutFailure?.reason ?? '', /HTTP 500/)
    const left = await waitFor('only the old replicas left, serving', async () => {
      const instances = web(await h.status()).instances as Instance[]
      return instances.length === 4 && instances.every((i) => !i.current && i.traffic === 'in') && instances
    }, 15_000, 100)
    assert.deepEqual(left.map((i) => i.unit).sort(), old.map((i) => i.unit).sort(), 'no old replica was drained for the failed one')
    const summary = await load.stop()
    assert.equal(summary.failed, 0, `failures: ${JSON.stringify(summary.errors)}`)
    assert.equal(summary.bodies.v3 ?? 0, 0, 'the unhealthy version never got traffic')
    const events = (await h.status()).events.filter((e) => e.process === 'web' && e.kind === 'started').map((e) => e.message)
    assert.equal(events.filter((m) => m.includes(failed.version!)).length, 1, `one new replica started (maxSurge 1): ${events.join(' | ')}`)
  })
})
