/**
 * One launcho server per systemd (issue 12, part 5): a second server against the same systemd
 * exits non-zero naming the first, having changed nothing (the first's units keep their MainPIDs);
 * units carry the server that owns them; after the bus restarts the first owns the name again and
 * acts; and a server whose name was taken while the bus was away stops instead of fighting.
 */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {once} from 'node:events'
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {Harness, launchoBin, repoRoot, waitFor} from '../helpers/harness.js'

const target = (generation: number) => `processes:
  - name: steady
    command: ["sleep", "100000"]
  - name: app
    command: ["sleep", "100000"]
    env: {GEN: "${generation}"}
`

describe('one launcho server per systemd', () => {
  let h: Harness
  let generation = 1
  /** unit → MainPID, as systemd says. */
  let pids: Record<string, string> = {}

  const mainPids = async () => Object.fromEntries(await Promise.all((await h.units()).map(async (unit) => [unit, (await h.unit(unit, ['MainPID'])).MainPID!] as const)))
  const ownerProperty = async (name: string) => (await h.inside(['busctl', 'get-property', 'dev.launcho.Server', '/dev/launcho/Server', 'dev.launcho.Server', name])).trim()

  /** `launcho server` against the sandbox's systemd with its own state dir: exit code and output. */
  async function secondServer(stateDir: string): Promise<{code: number | null; output: string}> {
    const [nsenter, ...inNetwork] = h.sandbox.inNetwork()
    const child = spawn(nsenter!, [...inNetwork, process.execPath, launchoBin, 'server', '--state-dir', stateDir, '--listen', '127.0.0.1:0', '--journal-root', h.sandbox.journalRoot], {
      env: {...process.env, ...h.sandbox.env},
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    const [code] = (await once(child, 'exit')) as [number | null]
    clearTimeout(timer)
    return {code, output}
  }

  async function assertRefusedNamingTheFirst(stateDir: string): Promise<void> {
    const {code, output} = await secondServer(stateDir)
    assert.notEqual(code, 0, `the second server exited ${code}:\n${output}`)
    assert.ok(code !== null, `the second server did not exit by itself:\n${output}`)
    assert.match(output, /another launcho server already drives this systemd/)
    for (const fact of [`PID ${h.server!.pid}`, `state dir ${h.stateDir}`, `API 127.0.0.1:${h.port}`]) {
      assert.ok(output.includes(fact), `the refusal names the first server's ${fact}:\n${output}`)
    }
    assert.doesNotMatch(output, /launcho server ready/)
  }

  before(async () => {
    h = await Harness.start()
    await h.setTarget(target(generation))
    await waitFor('both running', async () => (await h.status()).processes.every((p) => p.state === 'running') || undefined, 15_000, 100)
    pids = await mainPids()
    assert.equal(Object.keys(pids).length, 2)
  })
  after(async () => h?.close())

  it('refuses a second server, with another state dir or the same one; it exits non-zero naming the first and touches nothing', async () => {
    const otherDir = join(h.dir, 'other-state')
    await assertRefusedNamingTheFirst(otherDir)
    assert.ok(!existsSync(otherDir), 'the refused server made no state dir')
    await assertRefusedNamingTheFirst(h.stateDir)
    assert.deepEqual(await mainPids(), pids, "the first server's units are untouched")
    // The first still drives systemd.
    generation++
    await h.setTarget(target(generation))
    await waitFor('the new app running alone', async () => {
      const apps = (await h.units()).filter((unit) => unit.startsWith('launcho-app-'))
      return apps.length === 1 && (await h.processEnv(apps[0]!))?.GEN === String(generation)
    }, 20_000, 100)
    pids = await mainPids()
  })

  it('stamps every unit with the id of the server that owns it, which the bus name tells with the state dir', async () => {
    const serverId = JSON.parse(await ownerProperty('ServerId').then((line) => line.replace(/^s /, ''))) as string
    assert.match(serverId, /^[0-9a-f]{16}$/)
    assert.equal(await ownerProperty('StateDir'), `s ${JSON.stringify(h.stateDir)}`)
    assert.equal(await ownerProperty('Pid'), `u ${h.server!.pid}`)
    for (const unit of Object.keys(pids)) {
      const {LogExtraFields} = await h.unit(unit, ['LogExtraFields'])
      assert.ok(LogExtraFields!.split(' ').includes(`LAUNCHO_SERVER=${serverId}`), `${unit}: ${LogExtraFields}`)
    }
  })

  it('after systemctl restart dbus, the first server owns the name again: a second is still refused, and the first acts', async () => {
    const regained = h.serverLog.split('\n').filter((line) => line.includes('owns dev.launcho.Server again')).length
    await h.inside(['systemctl', 'restart', 'dbus.service'])
    await waitFor('the name owned again', async () => h.serverLog.split('\n').filter((line) => line.includes('owns dev.launcho.Server again')).length > regained, 15_000, 100)
    assert.match(h.serverLog, /lost the bus name dev\.launcho\.Server; not acting on systemd/)
    await assertRefusedNamingTheFirst(join(h.dir, 'third-state'))
    assert.deepEqual(await mainPids(), pids)
    generation++
    await h.setTarget(target(generation))
    await waitFor('the new app running alone', async () => {
      const apps = (await h.units()).filter((unit) => unit.startsWith('launcho-app-'))
      return apps.length === 1 && (await h.processEnv(apps[0]!))?.GEN === String(generation)
    }, 20_000, 100)
    pids = await mainPids()
  })

  it('stops, non-zero and leaving its units running, when another program took the name while the bus was away', async () => {
    const squatter = spawn(process.execPath, [join(repoRoot, 'dist', 'test', 'helpers', 'bus-name-squatter.js')], {env: {...process.env, ...h.sandbox.env}, stdio: ['ignore', 'pipe', 'inherit']})
    try {
      let squatterOutput = ''
      squatter.stdout.on('data', (chunk) => (squatterOutput += chunk))
      const server = h.server!
      const exited = once(server, 'exit') as Promise<[number | null, string | null]>
      // Polling before the bus goes away: a squatter still starting up (a loaded machine) came
      // too late, the server had the name again.
      await waitFor('the squatter polling', async () => squatterOutput.startsWith('trying\n') || undefined, 15_000, 20)
      await h.inside(['systemctl', 'restart', 'dbus.service'])
      const [code, signal] = await Promise.race([exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the server did not stop:\n${h.serverLog.slice(-3000)}`)), 20_000))])
      assert.equal(squatterOutput, 'trying\nowned\n', 'the other program took the name')
      assert.equal(signal, null)
      assert.notEqual(code, 0)
      assert.match(h.serverLog, /another launcho server already drives this systemd: the bus connection :\d+\.\d+ .*owns dev\.launcho\.Server and did not say who it is/)
      assert.match(h.serverLog, /stopping: this systemd is now driven by another launcho server/)
      h.server = undefined
      assert.deepEqual(await mainPids(), pids, 'its units keep running')
    } finally {
      squatter.kill('SIGKILL')
    }
    // Once the name is free again, the server starts and adopts its units as they run.
    await h.startServer([], {printAuth: false})
    await waitFor('adopted', async () => (await h.status()).processes.every((p) => p.state === 'running') || undefined, 15_000, 100)
    assert.deepEqual(await mainPids(), pids)
  })

  it('without the bus policy a server refuses to start, saying which file to install where', async () => {
    // The sandbox's copy of the policy dir; dbus-daemon notices the file going and coming back.
    const policy = '/etc/dbus-1/system.d/dev.launcho.Server.conf'
    await h.inside(['mv', policy, '/run/launcho-sandbox/policy-aside.conf'])
    try {
      const {code, output} = await waitFor('the bus to drop the policy', async () => {
        const result = await secondServer(join(h.dir, 'no-policy-state'))
        return /does not let this server own/.test(result.output) && result
      }, 15_000, 200)
      assert.equal(code, 1)
      assert.match(output, /the system bus does not let this server own dev\.launcho\.Server/)
      assert.match(output, new RegExp(`Hint: install the bus policy: cp ${join(repoRoot, 'templates', 'dev.launcho.Server.conf').replace(/[.]/g, '\\.')} /etc/dbus-1/system\\.d/`))
    } finally {
      await h.inside(['mv', '/run/launcho-sandbox/policy-aside.conf', policy])
    }
    assert.deepEqual(await mainPids(), pids)
  })
})
