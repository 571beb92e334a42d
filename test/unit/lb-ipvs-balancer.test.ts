import assert from 'node:assert/strict'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {LaunchoError} from '../../src/errors.js'
import type {ServiceTable} from '../../src/lb/balancer.js'
import type {CommandResult} from '../../src/lb/command-runner.js'
import {IpvsBalancer, detectIpvs} from '../../src/lb/ipvs.js'

/** A stand-in for the kernel as ipvsadm shows it: the test sets what `-S -n` prints. */
class FakeIpvs {
  saved = ''
  /** What `ipvsadm -L -n` prints (the connection counts). */
  listed = ''
  calls: {argv: string[]; stdin?: string}[] = []
  failRestore = false
  runner = async (argv: string[], stdin?: string): Promise<CommandResult> => {
    this.calls.push({argv, stdin})
    const line = argv.join(' ')
    if (line.endsWith('ip -j -4 addr show')) return {stdout: '[]', stderr: '', code: 0}
    if (line.endsWith('ipvsadm -S -n')) return {stdout: this.saved, stderr: '', code: 0}
    if (line.endsWith('ipvsadm -L -n') && this.listed) return {stdout: this.listed, stderr: '', code: 0}
    if (line.endsWith('ipvsadm -R')) return this.failRestore ? {stdout: '', stderr: 'Memory allocation problem', code: 2} : {stdout: '', stderr: '', code: 0}
    if (line.endsWith('ipvsadm -L -n -t 127.0.0.1:5000')) {
      return {stdout: 'TCP  127.0.0.1:5000 wrr\n  -> 127.0.0.1:20001   Masq    1      3          1\n', stderr: '', code: 0}
    }
    return {stdout: '', stderr: `unexpected ${line}`, code: 1}
  }
  restores = () => this.calls.filter((c) => c.argv.includes('-R')).map((c) => c.stdin)
}

const web: ServiceTable = {name: 'web', on: {host: '127.0.0.1', port: 5000}, backends: [{host: '127.0.0.1', port: 20001, weight: 1}]}
const webSaved = '-A -t 127.0.0.1:5000 -s wrr\n-a -t 127.0.0.1:5000 -r 127.0.0.1:20001 -m -w 1\n'

async function waitUntil(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe('ipvs balancer (injected runner)', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp('/var/tmp/launcho-test-ipvs-')
  })
  after(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  it('reads the kernel table, applies the difference in one ipvsadm -R batch, then nothing', async () => {
    const kernel = new FakeIpvs()
    const lb = new IpvsBalancer({runner: kernel.runner})
    await lb.sync([web])
    assert.deepEqual(kernel.restores(), [webSaved])
    kernel.saved = webSaved
    kernel.calls = []
    await lb.sync([web])
    assert.deepEqual(kernel.restores(), [])
    assert.deepEqual(kernel.calls.map((c) => c.argv.join(' ')), ['ipvsadm -S -n', 'ip -j -4 addr show'])
  })

  it('a real that left the table is looked at again by itself, and deleted once its connections are gone', async () => {
    const kernel = new FakeIpvs()
    kernel.saved = `${webSaved}-a -t 127.0.0.1:5000 -r 127.0.0.1:20002 -m -w 1\n`
    const lb = new IpvsBalancer({runner: kernel.runner, followUpMs: 10})
    const list = (active: number) => `TCP  127.0.0.1:5000 wrr\n  -> 127.0.0.1:20001   Masq    1      3          1\n  -> 127.0.0.1:20002   Masq    0      ${active}          4\n`
    try {
      await lb.sync([web])
      assert.deepEqual(kernel.restores(), ['-e -t 127.0.0.1:5000 -r 127.0.0.1:20002 -m -w 0\n'], 'drained, not deleted')
      kernel.saved = `${webSaved}-a -t 127.0.0.1:5000 -r 127.0.0.1:20002 -m -w 0\n`
      kernel.listed = list(2)
      const listings = () => kernel.calls.filter((call) => call.argv.join(' ').endsWith('ipvsadm -L -n')).length
      await waitUntil(() => listings() >= 2)
      assert.equal(kernel.restores().length, 1, 'still active: kept')
      kernel.listed = list(0)
      await waitUntil(() => kernel.restores().length === 2)
      assert.equal(kernel.restores()[1], '-d -t 127.0.0.1:5000 -r 127.0.0.1:20002\n')
      kernel.saved = webSaved
      const calls = kernel.calls.length
      await new Promise((resolve) => setTimeout(resolve, 200))
      assert.ok(kernel.calls.length - calls <= 3, 'no more follow-ups once it is gone')
    } finally {
      await lb.close()
    }
  })

  it('runs every command inside the given network namespace', async () => {
    const kernel = new FakeIpvs()
    await new IpvsBalancer({runner: kernel.runner, netns: '/run/netns/box'}).sync([web])
    assert.ok(kernel.calls.length > 0)
    for (const call of kernel.calls) assert.deepEqual(call.argv.slice(0, 3), ['nsenter', '--net=/run/netns/box', '--'])
  })

  it('remembers the services it created across a restart, and removes only those', async () => {
    const ownedFile = join(dir, 'owned.json')
    const kernel = new FakeIpvs()
    await new IpvsBalancer({runner: kernel.runner, ownedFile}).sync([web])
    assert.deepEqual(JSON.parse(await readFile(ownedFile, 'utf8')), {services: ['127.0.0.1:5000']})
    kernel.saved = `${webSaved}-A -t 127.0.0.1:7000 -s rr\n`
    kernel.calls = []
    await new IpvsBalancer({runner: kernel.runner, ownedFile}).sync([])
    assert.deepEqual(kernel.restores(), ['-D -t 127.0.0.1:5000\n'])
    assert.deepEqual(JSON.parse(await readFile(ownedFile, 'utf8')), {services: []})
  })

  it('a failed batch is a typed error with a hint, and the new service stays recorded as owned', async () => {
    const ownedFile = join(dir, 'owned-fail.json')
    const kernel = new FakeIpvs()
    kernel.failRestore = true
    const lb = new IpvsBalancer({runner: kernel.runner, ownedFile})
    await assert.rejects(lb.sync([web]), (error: unknown) => {
      assert.ok(error instanceof LaunchoError)
      assert.match(error.message, /ipvsadm -R failed: Memory allocation problem/)
      assert.match(error.hint ?? '', /ip_vs/)
      return true
    })
    assert.deepEqual(JSON.parse(await readFile(ownedFile, 'utf8')), {services: ['127.0.0.1:5000']})
  })

  it('rejects an invalid table before running anything', async () => {
    const kernel = new FakeIpvs()
    const bad = {...web, on: {host: '127.0.0.1 -s rr', port: 5000}}
    await assert.rejects(new IpvsBalancer({runner: kernel.runner}).sync([bad]), {code: 'invalid_request'})
    assert.equal(kernel.calls.length, 0)
  })

  it('activeConnections is the ActiveConn column of the real server under the service', async () => {
    const kernel = new FakeIpvs()
    const lb = new IpvsBalancer({runner: kernel.runner})
    assert.equal(await lb.activeConnections('web', {host: '127.0.0.1', port: 20001}), undefined, 'unknown before a sync')
    await lb.sync([web])
    assert.equal(await lb.activeConnections('web', {host: '127.0.0.1', port: 20001}), 3)
    assert.equal(await lb.activeConnections('web', {host: '127.0.0.1', port: 29999}), 0)
  })

  it('detectIpvs tells a kernel without IPVS, a missing ipvsadm and a working one apart', async () => {
    const answer = (result: CommandResult) => async () => result
    const noKernel = await detectIpvs({runner: answer({stdout: '', stderr: "Can't initialize ipvs: Protocol not available\nAre you sure…", code: 2})})
    assert.equal(noKernel.available, false)
    assert.equal(noKernel.reason, "Can't initialize ipvs: Protocol not available")
    assert.match(noKernel.hint ?? '', /nftables/)
    assert.match((await detectIpvs({runner: answer({stdout: '', stderr: 'ipvsadm: not found', code: 127})})).hint ?? '', /apt|Debian package ipvsadm/)
    assert.deepEqual(await detectIpvs({runner: answer({stdout: 'IP Virtual Server version 1.2.1', stderr: '', code: 0})}), {available: true})
  })
})
