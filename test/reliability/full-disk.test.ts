/**
 * Full disk: the server's state dir is a small tmpfs mounted in a private mount namespace (held by
 * a helper process so the server can be restarted onto the same full disk; the host never sees
 * the mount). Once it is filled to the last byte, `t set`, `secret set`, `resource up` and
 * `restart` must fail with a clear "no space" error, leave the previous state intact and still
 * served (also across a server restart), touch no running process, and work again once space is
 * freed.
 */
import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {closeSync, openSync, writeSync} from 'node:fs'
import {mkdir, readFile, rm} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {Harness, waitFor} from '../helpers/harness.js'
import {assertNoLeaks, dotFiles, say} from './helpers/common.js'
import {startServer} from './helpers/server.js'

const TMPFS_BYTES = 4 * 1024 * 1024

const target = (version: string) => `processes:
  - name: app
    command: ["sleep", "100000"]
    cwd: /
    env:
      VERSION: "${version}"
      PASSWORD: "\${DB_PASS}"
`

describe('a full disk under the state dir', () => {
  let h: Harness
  let holder: ChildProcess
  let view = ''
  const oldSecret = `old-${randomBytes(12).toString('hex')}`
  const newSecret = `new-${randomBytes(12).toString('hex')}`
  const earlierLogs: string[] = []
  let resourceId = ''
  let appUnit = ''
  let appPid = ''

  /** The state dir as the server sees it (its mount namespace), reached from the host. */
  const inView = (name = '') => join(view, name)

  /** The instances' env files live outside the state dir's tmpfs, where the sandbox's systemd sees them. */
  let config = ''

  before(async () => {
    h = await Harness.start({server: false})
    config = await h.writeFile('config.yaml', `environmentsDir: ${h.dir}/environments\n`)
    await startServer(h, {extraArgs: ['--config', config], printAuth: true})
    await h.ok(['secret', 'set', 'DB_PASS', oldSecret])
    await h.setTarget(target('v1'))
    resourceId = (await h.ok(['resource', 'up', await h.writeFile('small.txt', 'a small resource\n')])).trim()
    await waitFor('app running', async () => (await h.status()).processes[0]?.state === 'running')
    await h.stopServer('SIGTERM')
    earlierLogs.push(h.serverLog)
    // A process that holds a private mount namespace in which the state dir is a small tmpfs
    // seeded with the state so far; servers join it with nsenter --mount. The instances' env
    // files must be where the sandbox's systemd reads them, so they go outside it (environmentsDir).
    const seed = join(h.dir, 'seed')
    const script = `set -e
cp -a "$2/." "$1/"
mount -t tmpfs -o size=${TMPFS_BYTES},mode=0711 launcho-full-disk "$2"
cp -a "$1/." "$2/"
echo ready
exec sleep 900`
    await rm(seed, {recursive: true, force: true})
    await mkdir(seed)
    holder = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', seed, h.stateDir], {stdio: ['ignore', 'pipe', 'inherit']})
    await new Promise<void>((resolve, reject) => {
      holder.stdout!.once('data', () => resolve())
      holder.once('exit', (code) => reject(new Error(`mount holder exited with ${code}`)))
    })
    view = `/proc/${holder.pid}/root${h.stateDir}`
    await startServer(h, {prefix: ['nsenter', `--mount=/proc/${holder.pid}/ns/mnt`, '--'], extraArgs: ['--config', config]})
    const status = await h.status()
    appUnit = status.processes[0]!.instances[0]!.unit
    appPid = (await h.unit(appUnit, ['MainPID'])).MainPID!
  })

  after(async () => {
    await h?.stopServer('SIGKILL')
    if (holder && holder.exitCode === null) {
      const exited = new Promise((resolve) => holder.once('exit', resolve))
      holder.kill('SIGKILL')
      await exited
    }
    await h?.close()
  })

  /** Fills the tmpfs to the last byte: big chunks, then pages, then single bytes. */
  function fill(): number {
    const fd = openSync(inView('filler'), 'w')
    let written = 0
    try {
      for (const size of [1024 * 1024, 4096, 1]) {
        const chunk = Buffer.alloc(size, 0x61)
        for (let i = 0; i < 10_000; i++) {
          try {
            written += writeSync(fd, chunk)
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error
            break
          }
        }
      }
    } finally {
      closeSync(fd)
    }
    return written
  }

  it('the state dir is a tmpfs only the server sees', async (t) => {
    const mounts = await readFile(`/proc/${holder.pid}/mountinfo`, 'utf8')
    assert.match(mounts, new RegExp(`${h.stateDir} .* - tmpfs launcho-full-disk`))
    const hostMounts = await readFile('/proc/self/mountinfo', 'utf8')
    assert.doesNotMatch(hostMounts, /launcho-full-disk/, 'the host does not see the tmpfs')
    assert.equal(await readFile(inView('target.yaml'), 'utf8'), target('v1'))
    say(t, `server ${h.server!.pid} runs with ${h.stateDir} on a ${TMPFS_BYTES / 1024 / 1024} MiB tmpfs in mount namespace of ${holder.pid}`)
  })

  it('t set, secret set, resource up and restart fail with "no space" and change nothing', async (t) => {
    const filled = fill()
    const targetBefore = await readFile(inView('target.yaml'), 'utf8')
    const secretsBefore = await readFile(inView('secrets.json'), 'utf8')
    say(t, `filled the tmpfs with ${filled} bytes`)
    const bigFile = await h.writeFile('big.bin', randomBytes(256 * 1024).toString('hex'))
    const attempts: Array<[string, string[]]> = [
      ['t set', ['t', 'set', await h.writeFile('target-v2.yaml', target('v2'))]],
      ['secret set', ['secret', 'set', 'DB_PASS', newSecret]],
      ['secret set (new name)', ['secret', 'set', 'OTHER', newSecret]],
      ['resource up', ['resource', 'up', bigFile]],
      ['restart', ['restart', 'app']],
    ]
    for (const [what, args] of attempts) {
      const result = await h.cli(args)
      const message = result.stderr.trim().split('\n')[0] ?? ''
      say(t, `${what} on a full disk → exit ${result.code}: ${message}`)
      assert.notEqual(result.code, 0, `${what} must fail`)
      assert.match(result.stderr, /no space left on device/i, `${what} says why`)
      assert.doesNotMatch(result.stderr + result.stdout, new RegExp(newSecret), 'the error does not echo the secret')
    }
    assert.equal(await readFile(inView('target.yaml'), 'utf8'), targetBefore, 'target.yaml unchanged')
    assert.equal(await readFile(inView('secrets.json'), 'utf8'), secretsBefore, 'secrets.json unchanged')
    assert.deepEqual([...(await dotFiles(view)), ...(await dotFiles(inView('resources')))], [], 'no temp file left behind')
    assert.equal(await h.ok(['t', 'get']), target('v1'), 't get serves the previous target')
    assert.equal((await h.ok(['secret', 'get', 'DB_PASS'])).trim(), oldSecret, 'secret get serves the previous value')
    assert.deepEqual((await h.ok(['secret', 'ls'])).trim().split('\n'), ['DB_PASS'])
    const ids = (JSON.parse(await h.ok(['r', 'ls', '--json'])) as {resources: Array<{id: string}>}).resources.map((r) => r.id)
    assert.deepEqual(ids, [resourceId], 'only the earlier resource')
    const props = await h.unit(appUnit, ['MainPID', 'NRestarts', 'ActiveState'])
    assert.deepEqual([props.ActiveState, props.MainPID, props.NRestarts], ['active', appPid, '0'], 'app untouched')
    assert.deepEqual(await h.units(), [appUnit])
  })

  it('a server restarted onto the full disk starts and serves the previous state', async (t) => {
    await h.stopServer('SIGKILL')
    earlierLogs.push(h.serverLog)
    await startServer(h, {prefix: ['nsenter', `--mount=/proc/${holder.pid}/ns/mnt`, '--'], extraArgs: ['--config', config]})
    assert.equal(await h.ok(['t', 'get']), target('v1'))
    assert.equal((await h.ok(['secret', 'get', 'DB_PASS'])).trim(), oldSecret)
    const status = await h.status()
    assert.equal(status.processes[0]?.state, 'running')
    assert.equal((await h.unit(appUnit, ['MainPID'])).MainPID, appPid, 'app adopted, not restarted')
    const df = await readFile(`/proc/${holder.pid}/mountinfo`, 'utf8')
    assert.match(df, /launcho-full-disk/)
    say(t, `restarted on the full disk: t get, secret get and status answer; ${appUnit} kept MainPID ${appPid}`)
  })

  it('once space is freed, the same commands work', async (t) => {
    await rm(inView('filler'))
    await h.setTarget(target('v2'))
    await h.ok(['secret', 'set', 'DB_PASS', newSecret])
    const id = (await h.ok(['resource', 'up', join(h.dir, 'big.bin')])).trim()
    const app = await waitFor('app v2 with the new secret, alone', async () => {
      const units = await h.units()
      if (units.length !== 1) return false
      const env = await h.processEnv(units[0]!)
      return env?.VERSION === 'v2' && env.PASSWORD === newSecret && units[0]
    }, 15_000, 100)
    assert.equal(await readFile(inView('target.yaml'), 'utf8'), target('v2'))
    say(t, `after freeing space: t set, secret set and resource up (${id.slice(0, 12)}) succeeded; ${app} runs v2`)
  })

  it('no secret value or token in the server log or the journal', async (t) => {
    const token = /token: "?([0-9a-f]{64})/.exec(await readFile(h.authFile, 'utf8'))![1]!
    const searched = await assertNoLeaks(h, [oldSecret, newSecret, token], earlierLogs)
    say(t, `searched ${searched.serverLogBytes} bytes of server log and ${searched.journalBytes} of journal`)
  })
})
