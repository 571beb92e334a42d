/**
 * The nftables balancer's rule changes under CPU starvation: two busy processes take both cores
 * while a tight request loop runs and the backend set changes for 25 s (several hundred times). A connection the rules
 * miss for an instant would reach the stale listener on the service's own address. Before rule
 * changes kept the chains hooked, 2 of 7500 such swaps were answered by it on this 2-core machine
 * (it is a race: a run may pass without the fix; it must never fail with it).
 */
import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import {after, before, describe, it} from 'node:test'
import type {Backend, ServiceTable} from '../../src/lb/balancer.js'
import {NftablesBalancer} from '../../src/lb/nftables.js'
import {PrivateNetns} from '../helpers/netns.js'

/** Inside the agent's 30 s bound on a request loop. */
const SWAP_MS = 25_000
const ports = {a: 21001, b: 21002, d: 21004}
const be = (name: keyof typeof ports): Backend => ({host: '127.0.0.1', port: ports[name], weight: 1})
const web = (...backends: Backend[]): ServiceTable => ({name: 'web', on: {host: '127.0.0.1', port: 5000}, backends})

describe('nftables rule changes under CPU load', () => {
  let ns: PrivateNetns
  const hogs: ChildProcess[] = []
  before(async () => {
    ns = await PrivateNetns.create()
    for (const [name, port] of Object.entries(ports)) await ns.listen(name, port)
    await ns.listen('stale', 5000)
  })
  after(async () => {
    for (const hog of hogs) hog.kill('SIGKILL')
    await ns?.close()
  })

  it('25 s of backend swaps during a request loop on a starved machine: every answer from a backend', async () => {
    const lb = new NftablesBalancer({netns: ns.path})
    await lb.sync([web(be('a'), be('b'))])
    for (let i = 0; i < 2; i++) hogs.push(spawn(process.execPath, ['-e', 'for (;;) {}'], {stdio: 'ignore'}))
    await ns.startLoop('127.0.0.1', 5000)
    const until = Date.now() + SWAP_MS
    let swaps = 0
    while (Date.now() < until) await lb.sync([web(be('a'), be(swaps++ % 2 === 0 ? 'd' : 'b'))])
    const during = await ns.stopLoop()
    assert.ok(swaps > 100, `only ${swaps} swaps`)
    assert.deepEqual(during.failures, [])
    assert.deepEqual(Object.keys(during.counts).sort(), ['a', 'b', 'd'], JSON.stringify(during.counts))
  })
})
