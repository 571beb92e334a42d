import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import {createConnection, type Socket} from 'node:net'
import {after, before, describe, test} from 'node:test'
import {renderProxyConfig} from '../../src/lb/proxy/config.js'
import {readProxyStats} from '../../src/lb/proxy/stats.js'
import {writeFileAtomic} from '../../src/store/atomic.js'
import {connectThrough, freePort, namedBackend, proxyRig, sleep, table, whoAnswers, type NamedBackend, type ProxyRig} from './lb-userspace-fixtures.js'

describe('userspace proxy: reloading its config', {timeout: 60_000}, () => {
  let rig: ProxyRig
  let a: NamedBackend, b: NamedBackend
  let port: number

  before(async () => {
    rig = await proxyRig()
    ;[a, b] = await Promise.all([namedBackend('a'), namedBackend('b')])
    port = await freePort()
    await rig.balancer.sync([table('web', port, [[a, 1]])])
  })
  after(async () => {
    await rig?.close()
    await Promise.all([a?.close(), b?.close()])
  })

  test('SIGHUP applies an edited config without dropping an established connection', async () => {
    const held = await connectThrough(port)
    assert.equal(held.backend, 'a')
    const pid = rig.launcher.pid!
    const api = await freePort()
    await writeFileAtomic(`${rig.dir}/config.json`, renderProxyConfig([table('web', port, [[b, 1]]), table('api', api, [[b, 1]])]))
    process.kill(pid, 'SIGHUP')
    await eventually(async () => (await whoAnswers(port)) === 'b')
    assert.equal(await whoAnswers(api), 'b')
    assert.equal(await held.echo('same connection'), 'same connection')
    assert.equal(rig.launcher.pid, pid)
    held.close()
  })

  test('a config it cannot read is reported, and the previous one keeps serving', async () => {
    await writeFileAtomic(`${rig.dir}/config.json`, '{"version": 1, "services": "oops"}')
    process.kill(rig.launcher.pid!, 'SIGHUP')
    const stats = await eventually(async () => (await readProxyStats(`${rig.dir}/stats.json`))?.rejected)
    assert.match(stats.error, /connectTimeoutMs|services/)
    assert.equal(await whoAnswers(port), 'b')
    // The balancer rewrites what it owns on its next change.
    await rig.balancer.sync([table('web', port, [[a, 1]])])
    assert.equal(await whoAnswers(port), 'a')
  })
})

describe('userspace proxy: timeouts', {timeout: 60_000}, () => {
  let rig: ProxyRig
  let a: NamedBackend
  let blackhole: {port: number; child: ChildProcess; queued: Socket[]}
  let port: number

  before(async () => {
    rig = await proxyRig({connectTimeoutMs: 300, idleTimeoutMs: 500})
    a = await namedBackend('a')
    blackhole = await unresponsiveListener()
    port = await freePort()
  })
  after(async () => {
    await rig?.close()
    await a?.close()
    blackhole?.queued.forEach((socket) => socket.destroy())
    blackhole?.child.kill('SIGKILL')
  })

  test('a backend that never completes the handshake is given up after the connect timeout', async () => {
    await rig.balancer.sync([table('web', port, [[blackhole.port, 1], [a, 1]])])
    const started = Date.now()
    for (let i = 0; i < 4; i++) assert.equal(await whoAnswers(port), 'a')
    const took = Date.now() - started
    // Two of the four picks were the blackhole, each costing one connect timeout.
    assert.ok(took >= 550 && took < 2_000, `took ${took} ms`)
  })

  test('a connection idle for longer than the idle timeout is closed', async () => {
    await rig.balancer.sync([table('web', port, [[a, 1]])])
    const held = await connectThrough(port)
    assert.equal(await held.echo('x'), 'x')
    const started = Date.now()
    await new Promise((resolve) => held.socket.once('close', resolve))
    const idle = Date.now() - started
    assert.ok(idle >= 400 && idle < 1_500, `closed after ${idle} ms idle`)
  })
})

/** A listener whose accept queue is full and never drained: further SYNs go unanswered. */
async function unresponsiveListener(): Promise<{port: number; child: ChildProcess; queued: Socket[]}> {
  // The child's only thread sleeps right after listen(), so the kernel queues connections and
  // nobody accepts them; Atomics.wait sleeps without burning a CPU.
  const script = `const s = require('net').createServer(); s.listen({host: '127.0.0.1', port: 0, backlog: 1}, () => {
    console.log(s.address().port); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120000) })`
  const child = spawn(process.execPath, ['-e', script], {stdio: ['ignore', 'pipe', 'inherit']})
  const port = Number(await new Promise<string>((resolve) => child.stdout!.once('data', (chunk) => resolve(String(chunk)))))
  const queued: Socket[] = []
  for (let i = 0; i < 10; i++) {
    const socket = createConnection({host: '127.0.0.1', port})
    socket.on('error', () => {})
    queued.push(socket)
    const connected = await Promise.race([new Promise((resolve) => socket.once('connect', () => resolve(true))), sleep(200).then(() => false)])
    if (!connected) return {port, child, queued}
  }
  throw new Error('the accept queue never filled up')
}

async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 3_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check().catch(() => undefined)
    if (value) return value
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await sleep(25)
  }
}
