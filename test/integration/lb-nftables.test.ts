/**
 * The nftables balancer with real nft in a private network namespace (root; never the host's
 * ruleset): real HTTP backends on loopback answer with their name, real clients count who answered.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'
import type {Backend, ServiceTable} from '../../src/lb/balancer.js'
import {spawnRunner, type CommandRunner} from '../../src/lb/command-runner.js'
import {NftablesBalancer, detectNftables} from '../../src/lb/nftables.js'
import {PrivateNetns} from '../helpers/netns.js'

const ports = {a: 20001, b: 20002, c: 20003, d: 20004}
const be = (name: keyof typeof ports, weight = 1): Backend => ({host: '127.0.0.1', port: ports[name], weight})
const web = (...backends: Backend[]): ServiceTable => ({name: 'web', on: {host: '127.0.0.1', port: 5000}, backends})
const api = (...backends: Backend[]): ServiceTable => ({name: 'api', on: {host: '10.99.0.10', port: 80}, backends})
const foreign = 'table inet other {\n\tset blocked {\n\t\ttype ipv4_addr\n\t\telements = { 192.0.2.1 }\n\t}\n\n\tchain out {\n\t\ttype filter hook output priority filter; policy accept;\n\t\tip daddr @blocked drop\n\t}\n}\n'

describe('nftables balancer in a private network namespace', () => {
  let ns: PrivateNetns
  let lb: NftablesBalancer
  const transactions: string[] = []

  before(async () => {
    ns = await PrivateNetns.create()
    const real = spawnRunner()
    const counting: CommandRunner = (argv, stdin) => {
      if (argv.includes('-f')) transactions.push(stdin ?? '')
      return real(argv, stdin)
    }
    lb = new NftablesBalancer({runner: counting, netns: ns.path})
    for (const [name, port] of Object.entries(ports)) await ns.listen(name, port)
    await ns.exec(['nft', '-f', '-'], foreign)
  })

  after(async () => {
    await lb?.close()
    await ns?.close()
  })

  it('nft is usable in the namespace', async () => {
    assert.deepEqual(await detectNftables({netns: ns.path}), {available: true})
  })

  it('balances a 127/8 VIP and a VIP outside 127/8 across every backend', async () => {
    await lb.sync([web(be('a'), be('b'), be('c')), api(be('b'), be('c'))])
    assert.deepEqual((await ns.tally('127.0.0.1', 5000, 30)).counts, {a: 10, b: 10, c: 10})
    assert.deepEqual((await ns.tally('10.99.0.10', 80, 10)).counts, {b: 5, c: 5})
    assert.match(await ns.exec(['ip', '-4', 'addr', 'show', 'dev', 'lo']), /inet 10\.99\.0\.10\/32 scope global lo:launcho/)
  })

  it('splits new connections by weight', async () => {
    await lb.sync([web(be('a', 2), be('b', 1)), api(be('b'), be('c'))])
    assert.deepEqual((await ns.tally('127.0.0.1', 5000, 30)).counts, {a: 20, b: 10})
  })

  it('weight 0: new connections never reach the drained backend; an open one keeps working', async () => {
    await lb.sync([web(be('a'), be('b')), api(be('b'), be('c'))])
    const first = await ns.hold('127.0.0.1', 5000)
    const drained = first.body as 'a' | 'b'
    const other = drained === 'a' ? 'b' : 'a'
    await lb.sync([web(be(drained, 0), be(other)), api(be('b'), be('c'))])
    assert.deepEqual((await ns.tally('127.0.0.1', 5000, 20)).counts, {[other]: 20})
    const again = await ns.hold('127.0.0.1', 5000)
    assert.deepEqual([again.body, again.reused], [drained, true], JSON.stringify(again))
    assert.equal(await lb.activeConnections('web', be(drained)), 1)
    await ns.release()
    let left = await lb.activeConnections('web', be(drained))
    for (let i = 0; i < 20 && left !== 0; i++) {
      await sleep(50)
      left = await lb.activeConnections('web', be(drained))
    }
    assert.equal(left, 0)
  })

  it('a service with no live backend refuses at once, even with a stale listener on its address', async () => {
    // Without launcho's reject rule this leftover server on the VIP itself would answer.
    await ns.listen('stale', 5000)
    await lb.sync([web(be('a', 0)), api(be('b'), be('c'))])
    const answer = await ns.get('127.0.0.1', 5000)
    assert.equal(answer.error, 'ECONNREFUSED', JSON.stringify(answer))
    assert.ok(answer.ms < 1_000, `${answer.ms} ms`)
  })

  it('swapping a backend is atomic: a tight request loop during 100 changes fails no request', async () => {
    // The stale listener of the test before still holds the VIP's own address: a connection the
    // rules miss for an instant would reach it (it did when every change re-hooked the chains).
    await lb.sync([web(be('a'), be('b')), api(be('b'), be('c'))])
    await ns.startLoop('127.0.0.1', 5000)
    for (let i = 0; i < 100; i++) await lb.sync([web(be('a'), be(i % 2 === 0 ? 'd' : 'b')), api(be('b'), be('c'))])
    await lb.sync([web(be('a'), be('d')), api(be('b'), be('c'))])
    const during = await ns.stopLoop()
    assert.deepEqual(during.failures, [])
    assert.deepEqual(Object.keys(during.counts).filter((name) => !['a', 'b', 'd'].includes(name)), [], 'answered by a non-backend')
    assert.ok(Object.values(during.counts).reduce((s, n) => s + n, 0) > 50, JSON.stringify(during.counts))
    assert.deepEqual((await ns.tally('127.0.0.1', 5000, 10)).counts, {a: 5, d: 5})
  })

  it('syncing the same table again runs no transaction; a table deleted by hand is restored', async () => {
    const tables = [web(be('a'), be('d')), api(be('b'), be('c'))]
    await lb.sync(tables)
    const count = transactions.length
    const listing = await ns.exec(['nft', 'list', 'table', 'ip', 'launcho'])
    await lb.sync(tables)
    await lb.sync([...tables].reverse())
    assert.equal(transactions.length, count)
    assert.equal(await ns.exec(['nft', 'list', 'table', 'ip', 'launcho']), listing)
    await ns.exec(['nft', 'delete', 'table', 'ip', 'launcho'])
    await lb.sync(tables)
    assert.equal(transactions.length, count + 1)
    assert.deepEqual((await ns.tally('127.0.0.1', 5000, 4)).counts, {a: 2, d: 2})
  })

  it('repairs a table changed by hand: an earlier version\'s named map, an extra chain, a re-hooked chain', async () => {
    const tables = [web(be('a'), be('d')), api(be('b'), be('c'))]
    await lb.sync(tables)
    const listing = await ns.exec(['nft', 'list', 'table', 'ip', 'launcho'])
    await ns.exec(['nft', '-f', '-'], 'add map ip launcho svc_web { typeof numgen inc mod 1 : ip daddr . tcp dport; elements = { 0 : 127.0.0.1 . 20003 } }\nadd chain ip launcho extra\nadd rule ip launcho extra ip daddr 127.0.0.1 tcp dport 5000 dnat ip to numgen inc mod 1 map @svc_web\nadd rule ip launcho nat_output jump extra\n')
    await lb.sync(tables)
    assert.equal(await ns.exec(['nft', 'list', 'table', 'ip', 'launcho']), listing)
    await ns.exec(['nft', '-f', '-'], 'delete chain ip launcho nat_output\nadd chain ip launcho nat_output { type nat hook output priority -50; policy accept; }\n')
    await lb.sync(tables)
    assert.equal(await ns.exec(['nft', 'list', 'table', 'ip', 'launcho']), listing)
    assert.deepEqual((await ns.tally('127.0.0.1', 5000, 4)).counts, {a: 2, d: 2})
  })

  it('clients in another namespace reach the VIP through the prerouting chain', async () => {
    const client = await PrivateNetns.create()
    try {
      await ns.exec(['ip', 'link', 'add', 'lch0', 'type', 'veth', 'peer', 'name', 'lch1', 'netns', client.path])
      await ns.exec(['ip', 'addr', 'add', '10.200.0.1/24', 'dev', 'lch0'])
      await ns.exec(['ip', 'link', 'set', 'lch0', 'up'])
      await client.exec(['ip', 'addr', 'add', '10.200.0.2/24', 'dev', 'lch1'])
      await client.exec(['ip', 'link', 'set', 'lch1', 'up'])
      await client.exec(['ip', 'route', 'add', '10.99.0.10/32', 'via', '10.200.0.1'])
      assert.deepEqual((await client.tally('10.99.0.10', 80, 4)).counts, {b: 2, c: 2})
      assert.equal((await ns.exec(['sysctl', '-n', 'net.ipv4.conf.all.route_localnet'])).trim(), '1')
    } finally {
      await client.close()
    }
  })

  it('a backend that reset a connection, then stopped: a client reusing that source port reaches the backend serving now', async () => {
    const resetter = {host: '127.0.0.1', port: 20009}
    await ns.listen('resetter', resetter.port, {reset: true})
    await lb.sync([web({...resetter, weight: 1})])
    const port = 41_000 + Math.floor(Math.random() * 1000)
    assert.equal((await ns.get('127.0.0.1', 5000, port)).error, 'ECONNRESET')
    await lb.sync([web(be('a'))])
    // The kernel keeps that connection (state CLOSE) bound to the resetter, and sends the port's next
    // SYN there though it has left the service (stopped, it would be refused).
    assert.equal((await ns.get('127.0.0.1', 5000, port)).error, 'ECONNRESET', 'the stale record did not misroute (kernel behaviour changed?)')
    const outcome = await lb.backendStopped(resetter)
    assert.ok('forgotten' in outcome && outcome.forgotten >= 1, JSON.stringify(outcome))
    assert.equal((await ns.get('127.0.0.1', 5000, port)).body, 'a')
    assert.deepEqual(await lb.backendStopped(resetter), {forgotten: 0}, 'nothing left to forget')
  })

  it('removing a service removes its rules and its address, and leaves other tables alone', async () => {
    await lb.sync([web(be('a'))])
    assert.doesNotMatch(await ns.exec(['ip', '-4', 'addr', 'show', 'dev', 'lo']), /10\.99\.0\.10/)
    assert.doesNotMatch(await ns.exec(['nft', 'list', 'table', 'ip', 'launcho']), /svc_api|10\.99\.0\.10/)
    assert.equal(await ns.exec(['nft', 'list', 'table', 'inet', 'other']), foreign)
    await lb.sync([])
    assert.equal(await ns.exec(['nft', 'list', 'table', 'inet', 'other']), foreign)
  })
})
