import assert from 'node:assert/strict'
import {stat} from 'node:fs/promises'
import {after, before, describe, test} from 'node:test'
import {
  connectThrough,
  freePort,
  namedBackend,
  proxyRig,
  table,
  whoAnswers,
  type NamedBackend,
  type ProxyRig,
} from './lb-userspace-fixtures.js'

describe('userspace proxy: balancing and draining', {timeout: 60_000}, () => {
  let rig: ProxyRig
  let a: NamedBackend, b: NamedBackend, c: NamedBackend
  let port: number

  before(async () => {
    rig = await proxyRig()
    ;[a, b, c] = await Promise.all([namedBackend('a'), namedBackend('b'), namedBackend('c')])
    port = await freePort()
  })
  after(async () => {
    await rig?.close()
    await Promise.all([a, b, c].map((backend) => backend?.close()))
  })

  test('new connections reach every backend in proportion to its weight', async () => {
    await rig.balancer.sync([table('web', port, [[a, 1], [b, 2], [c, 1]])])
    const seen: Record<string, number> = {}
    for (let i = 0; i < 40; i++) {
      const name = await whoAnswers(port)
      seen[name] = (seen[name] ?? 0) + 1
    }
    assert.deepEqual(seen, {a: 10, b: 20, c: 10})
  })

  test('the same tables again write and signal nothing; a new Balancer adopts the running proxy', async () => {
    const tables = [table('web', port, [[a, 1], [b, 2], [c, 1]])]
    const pid = rig.launcher.pid
    const written = (await stat(`${rig.dir}/config.json`)).mtimeMs
    const reloads = rig.launcher.reloads
    await rig.balancer.sync(tables)
    const adopter = rig.newBalancer()
    await adopter.sync(tables)
    assert.equal((await stat(`${rig.dir}/config.json`)).mtimeMs, written, 'config not rewritten')
    assert.equal(rig.launcher.reloads, reloads, 'proxy not signalled')
    assert.equal(rig.launcher.pid, pid, 'proxy not restarted')
    assert.equal((await stat(`${rig.dir}/config.json`)).mode & 0o777, 0o600)
    // The adopter can read the counts (the stats file trails closes by up to 200 ms).
    await waitUntil(async () => (await adopter.activeConnections('web', a)) === 0)
    rig.balancer = adopter
  })

  test('weight 0 gets no new connections while its established one keeps working, even once removed', async () => {
    const held = await connectThrough(port)
    const drained = [a, b, c].find((backend) => backend.name === held.backend)!
    const others = [a, b, c].filter((backend) => backend !== drained)
    await rig.balancer.sync([table('web', port, [[drained, 0], ...others.map((o) => [o, 1] as [NamedBackend, number])])])
    for (let i = 0; i < 12; i++) assert.notEqual(await whoAnswers(port), drained.name)
    assert.equal(await held.echo('still there?'), 'still there?')
    assert.equal(await rig.balancer.activeConnections('web', drained), 1)

    await rig.balancer.sync([table('web', port, others.map((o) => [o, 1] as [NamedBackend, number]))])
    assert.equal(await held.echo('and now?'), 'and now?')
    assert.equal(await rig.balancer.activeConnections('web', drained), 1, 'a removed backend is still counted')
    held.close()
    await waitUntil(async () => (await rig.balancer.activeConnections('web', drained)) === 0)
  })

  test('a removed service stops listening while its open connection finishes', async () => {
    const other = await freePort()
    await rig.balancer.sync([table('web', port, [[a, 1]]), table('api', other, [[b, 1]])])
    const held = await connectThrough(other)
    await rig.balancer.sync([table('web', port, [[a, 1]])])
    await assert.rejects(whoAnswers(other), /ECONNREFUSED|closed/)
    assert.equal(await held.echo('bye'), 'bye')
    held.close()
    assert.equal(await whoAnswers(port), 'a')
  })

  test('a backend that refuses is skipped without failing the connection', async () => {
    const dead = await freePort()
    await rig.balancer.sync([table('web', port, [[dead, 3], [a, 1]])])
    for (let i = 0; i < 12; i++) assert.equal(await whoAnswers(port), 'a')
  })

  test('with no backend (or only draining ones) a client is closed at once', async () => {
    const empty = await freePort()
    await rig.balancer.sync([table('web', port, [[a, 0]]), table('empty', empty, [])])
    for (const service of [port, empty]) {
      const started = Date.now()
      await assert.rejects(whoAnswers(service), /closed/)
      assert.ok(Date.now() - started < 500, `closed after ${Date.now() - started} ms`)
    }
  })
})

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}
