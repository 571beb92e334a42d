import assert from 'node:assert/strict'
import {after, before, describe, test} from 'node:test'
import {readProxyStats, type ProxyStats} from '../../src/lb/proxy/stats.js'
import {waitFor} from '../helpers/harness.js'
import {
  connectThrough,
  freePort,
  namedBackend,
  proxyRig,
  table,
  whoAnswers,
  type HeldConnection,
  type NamedBackend,
  type ProxyRig,
} from './lb-userspace-fixtures.js'

/** Connections the kernel spreads over the workers' listeners: enough that each gets some. */
const SPREAD = 24

describe('userspace proxy: several worker threads', {timeout: 60_000}, () => {
  let rig: ProxyRig
  let a: NamedBackend, b: NamedBackend
  let port: number
  const held: HeldConnection[] = []

  before(async () => {
    rig = await proxyRig({workers: 3})
    ;[a, b] = await Promise.all([namedBackend('a'), namedBackend('b')])
    port = await freePort()
  })
  after(async () => {
    for (const connection of held) connection.close()
    await rig?.close()
    await Promise.all([a?.close(), b?.close()])
  })

  const stats = async (): Promise<ProxyStats> => (await readProxyStats(`${rig.dir}/stats.json`))!
  const busyWorkers = (s: ProxyStats) => (s.workers ?? []).filter((worker) => worker.active > 0).length
  const closeAll = () => held.splice(0).forEach((connection) => connection.close())

  test('a backend\'s active connections are the sum over all workers, down to 0', async () => {
    await rig.balancer.sync([table('web', port, [[a, 1]])])
    assert.equal((await stats()).workers?.length, 3)
    for (let i = 0; i < SPREAD; i++) held.push(await connectThrough(port))
    await waitFor('all held connections counted', async () => (await rig.balancer.activeConnections('web', a)) === SPREAD)
    const spread = await waitFor('the same in the stats file', async () => {
      const s = await stats()
      return s.services.web?.backends[`${a.host}:${a.port}`]?.active === SPREAD && s
    })
    assert.ok(busyWorkers(spread) >= 2, `connections on ${busyWorkers(spread)} worker(s): ${JSON.stringify(spread.workers)}`)
    assert.equal(spread.workers!.reduce((sum, worker) => sum + worker.active, 0), SPREAD)

    held.splice(0, SPREAD / 2).forEach((connection) => connection.close())
    await waitFor('half of them closed', async () => (await rig.balancer.activeConnections('web', a)) === SPREAD / 2)
    closeAll()
    await waitFor('all closed', async () => (await rig.balancer.activeConnections('web', a)) === 0)
  })

  test('weights hold across workers: every worker follows one rotation', async () => {
    await rig.balancer.sync([table('web', port, [[a, 1], [b, 3]])])
    const seen: Record<string, number> = {}
    for (let i = 0; i < 40; i++) {
      const name = await whoAnswers(port)
      seen[name] = (seen[name] ?? 0) + 1
    }
    assert.deepEqual(seen, {a: 10, b: 30})
  })

  test('once a drain is synced, no worker gives the drained backend a new connection; its open ones count until they close', async () => {
    await rig.balancer.sync([table('web', port, [[a, 1], [b, 1]])])
    for (let i = 0; i < SPREAD; i++) held.push(await connectThrough(port))
    const toB = held.filter((connection) => connection.backend === 'b')
    assert.equal(toB.length, SPREAD / 2)
    await waitFor('held connections counted', async () => (await rig.balancer.activeConnections('web', b)) === toB.length)
    assert.ok(busyWorkers(await stats()) >= 2)

    await rig.balancer.sync([table('web', port, [[a, 1], [b, 0]])])
    // Right after sync returns: whichever worker the kernel hands them to, none goes to b.
    const fresh = await Promise.all(Array.from({length: SPREAD}, () => whoAnswers(port)))
    assert.deepEqual(new Set(fresh), new Set(['a']))
    assert.equal(await rig.balancer.activeConnections('web', b), toB.length)
    for (const connection of toB) assert.equal(await connection.echo('still here'), 'still here')

    await rig.balancer.sync([table('web', port, [[a, 1]])])
    assert.equal(await rig.balancer.activeConnections('web', b), toB.length, 'a removed backend is still counted in every worker')
    closeAll()
    await waitFor('the drained backend has no connection left', async () => (await rig.balancer.activeConnections('web', b)) === 0)
  })

  test('fewer workers: the extra ones stop accepting, their connections run to the end and count until then', async () => {
    await rig.balancer.sync([table('web', port, [[a, 1]])])
    for (let i = 0; i < SPREAD; i++) held.push(await connectThrough(port))
    await waitFor('spread over the workers', async () => busyWorkers(await stats()) >= 2)

    rig.balancer = rig.newBalancer({workers: 1})
    await rig.balancer.sync([table('web', port, [[a, 1]])])
    assert.equal((await stats()).workers?.length, 1)
    assert.equal(await rig.balancer.activeConnections('web', a), SPREAD, 'the retired workers\' connections still count')
    for (const connection of held) assert.equal(await connection.echo('ping'), 'ping')
    for (let i = 0; i < 12; i++) assert.equal(await whoAnswers(port), 'a')
    closeAll()
    await waitFor('all closed', async () => (await rig.balancer.activeConnections('web', a)) === 0)

    rig.balancer = rig.newBalancer({workers: 3})
    await rig.balancer.sync([table('web', port, [[a, 1]])])
    assert.equal((await stats()).workers?.length, 3)
    for (let i = 0; i < SPREAD; i++) held.push(await connectThrough(port))
    await waitFor('spread over the new workers', async () => busyWorkers(await stats()) >= 2)
    closeAll()
  })
})
