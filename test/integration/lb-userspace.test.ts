/**
 * The userspace balancer for real: the proxy runs as launcho-proxy.service under the sandbox's
 * systemd, so it lives in the sandbox's network namespace. The HTTP backends and clients run there
 * too, in a netns agent started with `nsenter --net` (test/helpers/netns-agent.ts), and this
 * process only steers them.
 */
import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import {stat} from 'node:fs/promises'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {after, before, describe, test} from 'node:test'
import type {ServiceTable} from '../../src/lb/balancer.js'
import {PROXY_UNIT, SystemdProxyLauncher} from '../../src/lb/proxy/launcher.js'
import {readProxyStats} from '../../src/lb/proxy/stats.js'
import {UserspaceBalancer} from '../../src/lb/userspace.js'
import {SystemdManager} from '../../src/systemd/manager.js'
import {Harness, waitFor} from '../helpers/harness.js'
import type {AgentRequest, Answer, Tally} from '../helpers/netns-agent.js'

const VIP = {host: '127.0.0.1', port: 8080}
const port = {a: 19001, b: 19002, c: 19003}
const web = (weights: Partial<Record<keyof typeof port, number>>): ServiceTable[] => [
  {name: 'web', on: VIP, backends: Object.entries(weights).map(([name, weight]) => ({host: '127.0.0.1', port: port[name as keyof typeof port], weight}))},
]

describe('userspace balancer as launcho-proxy.service', {timeout: 120_000}, () => {
  let h: Harness
  let net: SandboxAgent
  let manager: SystemdManager
  let balancer: UserspaceBalancer
  const previousBus = process.env.DBUS_SYSTEM_BUS_ADDRESS
  const newBalancer = (systemd: SystemdManager) =>
    // Two worker threads (the default on 2 CPUs is one): the unit, its reloads and its counts with threads.
    new UserspaceBalancer({dir: join(h.stateDir, 'proxy'), launcher: new SystemdProxyLauncher(() => systemd), proxy: {workers: 2}})
  const proxyUnit = () => h.unit(PROXY_UNIT, ['ActiveState', 'Slice', 'Restart', 'MainPID', 'NRestarts'])

  before(async () => {
    h = await Harness.start({server: false})
    process.env.DBUS_SYSTEM_BUS_ADDRESS = h.sandbox.busAddress
    manager = await SystemdManager.connect()
    net = await SandboxAgent.start(h.sandbox.netns)
    for (const [name, p] of Object.entries(port)) await net.ask({op: 'listen', name, port: p})
  })
  after(async () => {
    await manager?.stop(PROXY_UNIT, 5_000).catch(() => {})
    manager?.close()
    await net?.close()
    await h?.close()
    if (previousBus === undefined) delete process.env.DBUS_SYSTEM_BUS_ADDRESS
    else process.env.DBUS_SYSTEM_BUS_ADDRESS = previousBus
  })

  test('sync starts the proxy unit in launcho.slice and it forwards to every backend', async () => {
    balancer = newBalancer(manager)
    await balancer.sync(web({a: 1, b: 1}))
    const unit = await proxyUnit()
    assert.equal(unit.ActiveState, 'active')
    assert.equal(unit.Slice, 'launcho.slice')
    assert.equal(unit.Restart, 'always')
    const tally = (await net.ask({op: 'tally', ...VIP, n: 8})) as Tally
    assert.deepEqual(tally, {counts: {a: 4, b: 4}, failures: []})
    assert.equal((await stat(balancer.configPath)).mode & 0o777, 0o600)
    assert.equal((await readProxyStats(balancer.statsPath))?.workers?.length, 2)
  })

  test('traffic keeps flowing while the Balancer is replaced; the new one adopts the unit and re-syncs', async (t) => {
    const held = (await net.ask({op: 'hold', ...VIP})) as Answer
    const drained = held.body as 'a' | 'b'
    const before = await proxyUnit()
    const configWritten = (await stat(balancer.configPath)).mtimeMs
    await net.ask({op: 'loop-start', ...VIP})

    // The server goes away: its Balancer and its bus connection with it.
    await balancer.close()
    manager.close()
    await new Promise((resolve) => setTimeout(resolve, 300))
    manager = await SystemdManager.connect()
    balancer = newBalancer(manager)

    await balancer.sync(web({a: 1, b: 1}))
    assert.deepEqual(await proxyUnit(), before, 'adopted: same process, no restart')
    assert.equal((await stat(balancer.configPath)).mtimeMs, configWritten, 'unchanged tables: nothing written')

    await balancer.sync(web({[drained]: 0, [drained === 'a' ? 'b' : 'a']: 1, c: 1}))
    const after = (await net.ask({op: 'tally', ...VIP, n: 6})) as Tally
    assert.equal(after.counts[drained], undefined, `draining ${drained} got new connections`)
    assert.equal(Object.values(after.counts).reduce((sum, n) => sum + n, 0), 6)
    // The stats file trails by up to 200 ms; the loop's last short connections may still show.
    await waitFor('only the held connection counted', async () => (await balancer.activeConnections('web', {host: '127.0.0.1', port: port[drained]})) === 1)
    const again = (await net.ask({op: 'hold', ...VIP})) as Answer
    assert.deepEqual([again.body, again.reused], [drained, true], 'the established connection still reaches its draining backend')

    const loop = (await net.ask({op: 'loop-stop'})) as Tally
    t.diagnostic(`requests during the handover: ${JSON.stringify(loop.counts)}, failed: ${loop.failures.length}`)
    assert.deepEqual(loop.failures, [], 'no request failed during the handover')
    assert.ok((loop.counts.c ?? 0) > 0 && Object.values(loop.counts).reduce((s, n) => s + n, 0) > 20, JSON.stringify(loop.counts))
    assert.deepEqual(await proxyUnit(), before, 'still the same proxy process')
    await net.ask({op: 'release'})
  })

  test('systemd restarts a killed proxy, which serves the current config again', async () => {
    const before = await proxyUnit()
    await manager.kill(PROXY_UNIT, 9)
    await waitFor('the proxy restarted', async () => {
      const unit = await proxyUnit()
      return unit.ActiveState === 'active' && unit.MainPID !== before.MainPID && unit.MainPID !== '0'
    })
    const tally = await waitFor('forwarding again', async () => {
      const t = (await net.ask({op: 'tally', ...VIP, n: 4})) as Tally
      return t.failures.length === 0 && t
    })
    assert.equal(Object.keys(tally.counts).length, 2, `only the two non-draining backends: ${JSON.stringify(tally.counts)}`)
    assert.equal(tally.counts.c, 2)
  })
})

/** The netns agent, started inside the sandbox's network namespace and spoken to over IPC. */
class SandboxAgent {
  private next = 1
  private readonly pending = new Map<number, (message: {result?: unknown; error?: string}) => void>()

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: {id?: number; result?: unknown; error?: string}) => {
      const reply = message.id === undefined ? undefined : this.pending.get(message.id)
      this.pending.delete(message.id!)
      reply?.(message)
    })
  }

  static async start(netns: string): Promise<SandboxAgent> {
    const agent = fileURLToPath(new URL('../helpers/netns-agent.js', import.meta.url))
    const child = spawn('nsenter', [`--net=${netns}`, '--', process.execPath, agent], {stdio: ['ignore', 'inherit', 'inherit', 'ipc']})
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve())
      child.once('exit', (code) => reject(new Error(`netns agent exited with ${code}`)))
    })
    return new SandboxAgent(child)
  }

  ask(request: AgentRequest): Promise<unknown> {
    const id = this.next++
    return new Promise((resolve, reject) => {
      this.pending.set(id, (message) => (message.error !== undefined ? reject(new Error(message.error)) : resolve(message.result)))
      this.child.send({id, request})
    })
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return
    const exited = new Promise((resolve) => this.child.once('exit', resolve))
    this.child.kill('SIGKILL')
    await exited
  }
}
