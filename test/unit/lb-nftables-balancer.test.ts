import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import type {ServiceTable} from '../../src/lb/balancer.js'
import {spawnRunner, type CommandResult} from '../../src/lb/command-runner.js'
import {countSsLines} from '../../src/lb/nft-connections.js'
import {renderTransaction} from '../../src/lb/nft-render.js'
import {NftablesBalancer, detectNftables} from '../../src/lb/nftables.js'

/** Plays nft/ip/sysctl: `listing` is what `nft list table` prints, `addresses` what `ip -j` does. */
class FakeHost {
  listing = ''
  addresses: {ifname: string; addr_info: {family: string; local: string; prefixlen: number; label: string}[]}[] = [
    {ifname: 'lo', addr_info: [{family: 'inet', local: '127.0.0.1', prefixlen: 8, label: 'lo'}]},
  ]
  calls: {argv: string[]; stdin?: string}[] = []
  runner = async (argv: string[], stdin?: string): Promise<CommandResult> => {
    this.calls.push({argv, stdin})
    const line = argv.join(' ')
    if (line.endsWith('nft -f -')) this.listing = `listed:${stdin}`
    if (line.endsWith('nft list table ip launcho')) return {stdout: this.listing, stderr: '', code: this.listing ? 0 : 1}
    if (line.endsWith('ip -j -4 addr show')) return {stdout: JSON.stringify(this.addresses), stderr: '', code: 0}
    return {stdout: '', stderr: '', code: 0}
  }
  commands = () => this.calls.map((c) => c.argv.join(' '))
}

const web: ServiceTable = {name: 'web', on: {host: '127.0.0.1', port: 5000}, backends: [{host: '127.0.0.1', port: 20001, weight: 1}]}
const api: ServiceTable = {name: 'api', on: {host: '10.99.0.10', port: 80}, backends: [{host: '127.0.0.1', port: 20002, weight: 1}]}

describe('nftables balancer (injected runner)', () => {
  it('applies one nft -f - transaction, then only reads the table back while nothing changes', async () => {
    const host = new FakeHost()
    const lb = new NftablesBalancer({runner: host.runner})
    await lb.sync([web])
    assert.deepEqual(host.calls.filter((c) => c.argv.includes('-f')).map((c) => c.stdin), [renderTransaction([web])])
    host.calls = []
    await lb.sync([web])
    assert.deepEqual(host.commands(), ['nft list table ip launcho', 'ip -j -4 addr show'])
  })

  it('rewrites the table when someone changed or flushed it behind launcho\'s back', async () => {
    const host = new FakeHost()
    const lb = new NftablesBalancer({runner: host.runner})
    await lb.sync([web])
    host.listing = ''
    host.calls = []
    await lb.sync([web])
    assert.equal(host.calls.filter((c) => c.argv.includes('-f')).length, 1)
  })

  it('adds a non-127 VIP to lo under launcho\'s label and removes only launcho\'s addresses', async () => {
    const host = new FakeHost()
    const lb = new NftablesBalancer({runner: host.runner})
    await lb.sync([web, api])
    assert.ok(host.commands().includes('ip addr add 10.99.0.10/32 dev lo label lo:launcho'), host.commands().join('\n'))
    host.addresses[0].addr_info.push({family: 'inet', local: '10.99.0.10', prefixlen: 32, label: 'lo:launcho'})
    host.addresses[0].addr_info.push({family: 'inet', local: '10.99.0.11', prefixlen: 32, label: 'lo'})
    host.calls = []
    await lb.sync([web])
    const commands = host.commands()
    assert.ok(commands.indexOf('nft -f -') < commands.indexOf('ip addr del 10.99.0.10/32 dev lo label lo:launcho'), commands.join('\n'))
    assert.ok(!commands.some((c) => c.includes('10.99.0.11')), 'an address launcho did not add is left alone')
  })

  it('in a given namespace: every command goes through nsenter, and route_localnet is set once there', async () => {
    const host = new FakeHost()
    const lb = new NftablesBalancer({runner: host.runner, netns: '/run/netns/box'})
    await lb.sync([web])
    await lb.sync([web])
    for (const call of host.calls) assert.deepEqual(call.argv.slice(0, 3), ['nsenter', '--net=/run/netns/box', '--'])
    assert.equal(host.commands().filter((c) => c.endsWith('sysctl -q -w net.ipv4.conf.all.route_localnet=1')).length, 1)
    const own = new FakeHost()
    await new NftablesBalancer({runner: own.runner}).sync([web])
    assert.ok(!own.commands().some((c) => c.includes('route_localnet')), 'never on the namespace launcho runs in, unless asked')
  })

  it('a failing nft is a typed error that says what to check', async () => {
    const failing = async (argv: string[]): Promise<CommandResult> =>
      argv.includes('-f') ? {stdout: '', stderr: 'Error: Could not process rule: Operation not permitted', code: 1} : {stdout: '[]', stderr: '', code: 0}
    await assert.rejects(new NftablesBalancer({runner: failing}).sync([web]), (error: Error & {code?: string; hint?: string}) => {
      assert.equal(error.code, 'internal')
      assert.match(error.message, /nft -f - failed: Error: Could not process rule: Operation not permitted/)
      assert.match(error.hint ?? '', /CAP_NET_ADMIN/)
      return true
    })
  })

  it('counts established connections whose local end is the backend (ss output)', () => {
    const out = '0 0 127.0.0.1:20001 127.0.0.1:40000\n0 0 127.0.0.1:20001 127.0.0.1:40002\n0 0 127.0.0.1:40004 127.0.0.1:20001\n0 0 127.0.0.2:20001 127.0.0.1:1\n'
    assert.equal(countSsLines(out, {host: '127.0.0.1', port: 20001}), 2)
    assert.equal(countSsLines('0 0 [::ffff:127.0.0.1]:20001 [::ffff:127.0.0.1]:5\n', {host: '127.0.0.1', port: 20001}), 1)
    assert.equal(countSsLines('', {host: '127.0.0.1', port: 20001}), 0)
  })

  it('detectNftables: missing nft, missing privilege, working', async () => {
    const answer = (result: CommandResult) => async () => result
    assert.match((await detectNftables({runner: answer({stdout: '', stderr: 'nft: not found', code: 127})})).hint ?? '', /nftables/)
    const denied = await detectNftables({runner: answer({stdout: '', stderr: 'Error: Operation not permitted', code: 1})})
    assert.equal(denied.available, false)
    assert.match(denied.hint ?? '', /root/)
    assert.deepEqual(await detectNftables({runner: answer({stdout: 'table inet filter\n', stderr: '', code: 0})}), {available: true})
  })
})

describe('command runner (real processes)', () => {
  it('feeds stdin, reports exit codes, and turns a missing program or a hang into a result', async () => {
    const run = spawnRunner(300)
    assert.deepEqual(await run(['sh', '-c', 'cat; echo oops >&2; exit 3'], 'table ip launcho {}\n'), {stdout: 'table ip launcho {}\n', stderr: 'oops\n', code: 3})
    assert.equal((await run(['launcho-no-such-program'])).code, 127)
    const hung = await run(['sleep', '5'])
    assert.equal(hung.code, 124)
    assert.match(hung.stderr, /timed out after 300 ms/)
  })
})
