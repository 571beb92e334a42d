/**
 * Exec health checks run like their instance and cannot escape it: in the instance's working
 * directory, as its user, with its env (secrets included) and ports, in a unit of launcho.slice,
 * and whatever a check starts ends with the check, at the latest when its instance stops.
 */
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {after, before, describe, it} from 'node:test'
import {Harness, waitFor} from '../helpers/harness.js'
import type {InstanceStatus} from '../../src/protocol/status.js'

const run = promisify(execFile)
type Instance = InstanceStatus

// Unique sleep durations mark the processes this test's checks start, wherever they end up.
const marker = `3601.${process.pid}${Math.floor(Math.random() * 1000)}`
const hangMarker = `3602.${process.pid}${Math.floor(Math.random() * 1000)}`
const TOKEN = 's3cret value with $(id) and `ticks`'

function target(options: {withLeaky: boolean}): string {
  const leaky = `  - name: leaky
    uid: nobody
    command: ["sleep", "600"]
    health: {command: ["/bin/sh", "-c", "setsid sleep ${marker} >/dev/null 2>&1 & exit 0"], interval: 200ms}
  - name: hang
    uid: nobody
    command: ["sleep", "600"]
    health: {command: ["/bin/sh", "-c", "setsid sleep ${hangMarker} >/dev/null 2>&1 & exec sleep 120"], timeout: 5m, startupDeadline: 10m}
`
  return `processes:
  - name: ready
    uid: nobody
    command: ["/bin/sh", "-c", "sleep 2; touch ready; exec sleep 600"]
    health: {command: ["test", "-e", "ready"], interval: 200ms, startupDeadline: 30s}
  - name: saw
    uid: nobody
    env:
      TOKEN: "\${TOKEN}"
    command: ["sleep", "600"]
    receives: [web]
    health:
      command: ["/bin/sh", "-c", "printf '%s\\\\n' \\"$(id -un)\\" \\"$(pwd)\\" \\"$TOKEN\\" \\"$SERVICE_PORT_WEB\\" \\"$1\\" > check-saw.new; cat /proc/self/cgroup >> check-saw.new; mv check-saw.new check-saw", "sh", "$SERVICE_PORT_WEB"]
      interval: 200ms
  - name: sick
    command: ["sleep", "600"]
    health: {command: ["/bin/sh", "-c", "echo checking; echo queue depth 9000 >&2; exit 3"], interval: 300ms, startupDeadline: 10m}
  - name: missing
    command: ["sleep", "600"]
    health: {command: ["/nonexistent/check"], interval: 300ms, startupDeadline: 10m}
  - name: slow
    command: ["sleep", "600"]
    health: {command: ["sleep", "5"], timeout: 300ms, interval: 300ms, startupDeadline: 10m}
${options.withLeaky ? leaky : ''}services:
  - name: web
    on: "127.0.0.1:5000"
`
}

/** Processes (host and sandbox PID namespaces) whose command line has `text`. */
async function processesWith(h: Harness, text: string): Promise<{host: string[]; sandbox: string[]}> {
  const has = (out: string) => out.split('\n').filter((line) => line.includes(text) && !line.includes('ps -eo'))
  const host = has((await run('ps', ['-eo', 'pid,user,args'])).stdout)
  const sandbox = has(await h.inside(['ps', '-eo', 'pid,user,cgroup,args']))
  return {host, sandbox}
}

describe('exec health checks run inside their instance', () => {
  let h: Harness
  before(async () => {
    h = await Harness.start()
    await h.ok(['secret', 'set', 'TOKEN'], {input: TOKEN})
    await h.setTarget(target({withLeaky: true}))
  })
  after(async () => {
    await h?.stopServer('SIGKILL')
    // What a spawning runner (the original) leaks is on the host: ours by its unique marker.
    const {stdout} = await run('ps', ['-eo', 'pid,args'])
    for (const line of stdout.split('\n').filter((l) => l.includes(marker) || l.includes(hangMarker))) {
      try {
        process.kill(Number(line.trim().split(/\s+/)[0]), 'SIGKILL')
      } catch {
        // Already gone.
      }
    }
    await h?.close()
  })

  const instance = (name: string, test: (i: Instance) => boolean, what: string, timeoutMs = 30_000) =>
    waitFor(`${name} ${what}`, async () => {
      const found = (await h.status()).processes.find((p) => p.name === name)?.instances[0] as Instance | undefined
      return found && test(found) && found
    }, timeoutMs, 100)

  it('`test -e ready` passes once the instance made `ready` in its own work dir', async () => {
    const healthy = await instance('ready', (i) => i.health === 'healthy', 'healthy')
    assert.equal(healthy.lastCheck?.detail, 'exit 0')
    const stem = healthy.unit.replace(/\.service$/, '')
    assert.ok((await run('test', ['-e', join(h.stateDir, 'instances', stem, 'ready')]).then(() => true)), 'ready is in the instance dir')
  })

  it('runs as the process user, in its directory, with its env (secrets included) and ports, in a unit of launcho.slice', async () => {
    const saw = await instance('saw', (i) => i.health === 'healthy', 'healthy')
    const workDir = join(h.stateDir, 'instances', saw.unit.replace(/\.service$/, ''))
    const lines = (await readFile(join(workDir, 'check-saw'), 'utf8')).trim().split('\n')
    const port = String(saw.ports?.web)
    assert.deepEqual(lines.slice(0, 5), ['nobody', workDir, TOKEN, port, port])
    const stem = saw.unit.replace(/^launcho-|\.service$/g, '')
    assert.ok(lines.slice(5).some((line) => new RegExp(`launcho\\.slice/launcho\\.check-${stem}-[0-9a-f]{8}\\.service$`).test(line)), lines.slice(5).join('\n'))
  })

  it('says why a check failed: its exit status and stderr, a command systemd cannot run, a timeout', async () => {
    const detail = async (name: string) => (await instance(name, (i) => i.lastCheck !== undefined, 'checked')).lastCheck!
    const sick = await detail('sick')
    assert.deepEqual([sick.ok, sick.detail], [false, 'exit 3: queue depth 9000'])
    assert.equal((await detail('missing')).detail, 'cannot run /nonexistent/check: not found or not executable (203/EXEC)')
    assert.equal((await detail('slow')).detail, 'timed out after 300 ms (killed)')
    // A failed run is read and reset at once: failed units never pile up (only one may be caught in between).
    const failed = async () => (await h.inside(['systemctl', 'list-units', '--all', '--plain', '--no-legend', '--state=failed', 'launcho.check-*'])).trim()
    await waitFor('no failed check unit left', async () => (await failed()) === '', 5_000, 50)
  })

  it('leaves no process behind: none while its instance runs, none after the process is removed', async () => {
    await instance('leaky', (i) => i.health === 'healthy', 'healthy')
    const first = (await instance('leaky', (i) => i.lastCheck !== undefined, 'checked')).lastCheck!.at
    await instance('leaky', (i) => i.lastCheck !== undefined && i.lastCheck.at !== first, 'checked again')
    assert.deepEqual(await processesWith(h, marker), {host: [], sandbox: []}, 'what a passed check started still runs')
    await instance('hang', (i) => i.lastCheck === undefined && i.activeState === 'active', 'running its first check', 10_000)
    await waitFor('the hanging check started its sleeper', async () => (await processesWith(h, hangMarker)).sandbox.length > 0 || (await processesWith(h, hangMarker)).host.length > 0)
    await h.setTarget(target({withLeaky: false}))
    await waitFor('leaky and hang gone', async () => !(await h.units()).some((unit) => /^launcho-(leaky|hang)-/.test(unit)), 30_000, 100)
    await waitFor('no check processes left', async () => {
      const left = [await processesWith(h, marker), await processesWith(h, hangMarker)]
      return left.every((found) => found.host.length === 0 && found.sandbox.length === 0)
    }, 5_000, 100).catch(async (error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify([await processesWith(h, marker), await processesWith(h, hangMarker)])}`)
    })
    const checkUnits = await h.inside(['systemctl', 'list-units', '--all', '--plain', '--no-legend', 'launcho.check-*'])
    assert.equal(checkUnits.split('\n').filter((line) => /launcho\.check-(leaky|hang)-/.test(line)).join('\n'), '')
  })
})
