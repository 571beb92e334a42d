/**
 * Per-instance hooks: `afterStart` (ExecStartPost=) runs once per instance as the process's user,
 * with its env (secrets), ports and sandbox, and the instance takes no request before it ended; a
 * new version whose afterStart fails fails its deploy, naming the hook, while the old version
 * serves. `beforeStop` (ExecStop=) runs before SIGTERM whenever launcho stops an instance (a
 * rollout, `launcho stop`, removal from the target), with $MAINPID, and one that hangs is cut off
 * by the stop timeout. A crash runs no beforeStop; systemd's restart runs afterStart again.
 */
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {chmod, readFile, readdir, writeFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {promisify} from 'node:util'
import {Harness, waitFor, type StatusJson} from '../helpers/harness.js'
import {get, startLoad} from '../helpers/services.js'
import {visibleFixture} from '../helpers/visible-fixture.js'

const run = promisify(execFile)
const SERVICE = 'http://127.0.0.1:5000/'
const SECRET = 's3cr3t-token-value'
const STOP_TIMEOUT_S = 2
const START_TIMEOUT_S = 4

const AFTER_START_OK = [
  '/bin/sh',
  '-c',
  // A second of warm-up, then a line saying who ran it, and the marker the app looks for.
  `sleep 1; echo "after-start $APP_VERSION pid=$MAINPID uid=$(id -u) token=$TOKEN port=$1 nnp=$(awk '/^NoNewPrivs/ {print $2}' /proc/self/status) cwd=$(pwd)" >> "$EVENTS"; echo "warmed up $APP_VERSION"; touch afterstart-done`,
  'after-start',
  '$SERVICE_PORT_WEB',
]
const AFTER_START_FAILS = ['/bin/sh', '-c', 'echo after-start-failing >> "$EVENTS"; exit 3']
const AFTER_START_HANGS = ['/bin/sleep', '600']
const BEFORE_STOP = ['/bin/sh', '-c', 'echo "before-stop $APP_VERSION mainpid=$MAINPID" >> "$EVENTS"']
const BEFORE_STOP_HANGS = ['/bin/sh', '-c', 'echo "before-stop-hang mainpid=$MAINPID" >> "$EVENTS"; exec sleep 600']

const flow = (argv: string[]) => `[${argv.map((word) => JSON.stringify(word)).join(', ')}]`

interface Paths {
  app: string
  events: string
}

function web(paths: Paths, version: string, hooks: {afterStart?: string[]; beforeStop?: string[]} = {}): string {
  return `  - name: web
    command: ["node", "${paths.app}"]
    uid: daemon
    sandbox: basic
    env:
      APP_VERSION: "${version}"
      EVENTS: "${paths.events}"
      TOKEN: "\${API_TOKEN}"
    receives: [web]
    replicas: 3
    health: {service: web, path: /health, interval: 200ms, failureThreshold: 2, startupDeadline: 20s}
    hooks:
      afterStart: ${flow(hooks.afterStart ?? AFTER_START_OK)}
      beforeStop: ${flow(hooks.beforeStop ?? BEFORE_STOP)}
`
}

const SLOW = (paths: Paths) => `  - name: slow
    command: ["/bin/sh", "-c", "trap 'echo sigterm slow $$ >> \\"$EVENTS\\"; exit 0' TERM; while :; do sleep 0.1; done"]
    env:
      EVENTS: "${paths.events}"
    hooks:
      beforeStop: ${flow(BEFORE_STOP_HANGS)}
`

const SERVICES = `services:
  - name: web
    on: "127.0.0.1:5000"
`

const target = (...processes: string[]) => `processes:\n${processes.join('')}${SERVICES}`

const webOf = (status: StatusJson) => status.processes.find((p) => p.name === 'web')!

/** Every replica of `version` serves, and nothing else of web runs. */
async function settled(h: Harness, version: string) {
  return waitFor(`3 replicas of web ${version} serving alone`, async () => {
    const process = webOf(await h.status())
    const ok = process.instances.length === 3 && process.instances.every((i) => i.current && i.traffic === 'in' && i.version === process.version)
    return ok && (await get(h, SERVICE)).startsWith(`200 ${version} `) && process.instances
  }, 60_000, 100)
}

describe('per-instance hooks: afterStart and beforeStop', () => {
  let h: Harness
  let paths: Paths
  let removeFixture: () => Promise<void>
  const events = async () => (await readFile(paths.events, 'utf8').catch(() => '')).split('\n').filter(Boolean)
  const lineIndex = (lines: string[], text: string) => lines.findIndex((line) => line === text || line.startsWith(`${text} `))

  before(async () => {
    const fixture = await visibleFixture('hook-app.cjs')
    removeFixture = fixture.remove
    // One file every instance (user daemon) appends to, where a `basic` sandbox lets it write.
    await chmod(dirname(fixture.path), 0o777)
    paths = {app: fixture.path, events: join(dirname(fixture.path), 'events.log')}
    await writeFile(paths.events, '', {mode: 0o666})
    await chmod(paths.events, 0o666)
    h = await Harness.start({server: false})
    const config = await h.writeFile('config.yaml', `lb: nftables\nstopTimeoutSeconds: ${STOP_TIMEOUT_S}\nstartTimeoutSeconds: ${START_TIMEOUT_S}\ndrainTimeoutSeconds: 5\nresyncSeconds: 2\n`)
    await h.startServer(['--config', config])
    await h.ok(['secret', 'set', 'API_TOKEN', SECRET])
  })
  after(async () => {
    await h?.close()
    await removeFixture?.()
  })

  it('t render shows ExecStartPost= and ExecStop= (secrets as written), from a target file, with no instance started', async () => {
    const file = await h.writeFile('render.yaml', target(web(paths, 'v0', {afterStart: ['/usr/bin/curl', '-H', 'Authorization: ${API_TOKEN}', 'http://127.0.0.1:$${SERVICE_PORT_WEB}/warm']})))
    const text = await h.ok(['t', 'render', 'web', '--file', file])
    assert.match(text, /^ExecStartPost=":\/usr\/bin\/curl" "-H" "Authorization: \$\{API_TOKEN\}" "http:\/\/127\.0\.0\.1:<port>\/warm"$/m)
    assert.match(text, /^ExecStop=":\/bin\/sh" "-c" "echo \\"before-stop \$APP_VERSION mainpid=\$MAINPID\\" >> \\"\$EVENTS\\""$/m)
    assert.ok(!text.includes(SECRET), 'no secret value in t render')
    assert.deepEqual(await h.units(), [], 'nothing started')
  })

  it('afterStart runs once per instance, as its user, with its env, port and sandbox; the instance serves only after it', async () => {
    await h.setTarget(target(web(paths, 'v1')), {wait: true})
    const instances = await settled(h, 'v1')
    const lines = (await events()).filter((line) => line.startsWith('after-start v1 '))
    assert.equal(lines.length, 3, lines.join('\n'))
    for (const instance of instances) {
      const line = lines.find((l) => l.includes(` pid=${instance.pid} `))
      assert.ok(line, `afterStart of ${instance.unit} (pid ${instance.pid}, its $MAINPID) in:\n${lines.join('\n')}`)
      assert.match(line, / uid=1 /, "as the process user (daemon)")
      assert.match(line, new RegExp(` token=${SECRET} `), 'with its env file (a secret)')
      assert.match(line, new RegExp(` port=${instance.ports.web} `), 'launcho substituted $SERVICE_PORT_WEB in its argv')
      assert.match(line, / nnp=1 /, 'under the process sandbox (basic: NoNewPrivileges)')
      assert.match(line, new RegExp(` cwd=${h.stateDir}/instances/${instance.unit.replace(/\.service$/, '')}$`), 'in its working directory')
    }
    assert.deepEqual((await events()).filter((line) => line.startsWith('early-request')), [], 'no request before afterStart ended')
    const logs = await waitFor('the hook output in the process logs', async () => {
      const text = await h.ok(['logs', 'web', '-n', '50'])
      return text.split('\n').filter((line) => line.includes('warmed up v1')).length === 3 && text
    })
    assert.ok(!logs.includes(SECRET))
    const status = webOf(await h.status())
    assert.ok(status.exposure && status.exposure.score < 9, `the exposure of the unit with its hooks is measured: ${JSON.stringify(status.exposure)}`)
  })

  it('t diff shows a changed hook property by property; export writes the hooks into unit files that systemd-analyze verify accepts', async () => {
    const diff = await h.ok(['t', 'diff', await h.writeFile('diff.yaml', target(web(paths, 'v1', {beforeStop: ['/bin/sleep', '1']})))])
    assert.match(diff, /ExecStop ":\/bin\/sh" "-c" "echo .*" → ":\/bin\/sleep" "1"/)
    assert.doesNotMatch(diff, /ExecStartPost/, 'an unchanged hook is no change')

    const dir = join(h.dir, 'export')
    await h.ok(['export', '--dir', dir])
    const units = (await readdir(dir)).filter((file) => file.endsWith('.service'))
    assert.equal(units.length, 3)
    for (const file of units) {
      const text = await readFile(join(dir, file), 'utf8')
      assert.match(text, /^ExecStartPost=":\/bin\/sh" "-c" "sleep 1; /m)
      assert.match(text, /^ExecStop=":\/bin\/sh" "-c" "echo /m)
      const verified = await run('systemd-analyze', ['verify', '--man=no', join(dir, file)]).then(
        (r) => `${r.stdout}${r.stderr}`,
        (e: {stdout: string; stderr: string}) => `failed: ${e.stdout}${e.stderr}`,
      )
      assert.equal(verified.split('\n').filter((line) => line.includes(file) || line.startsWith('failed')).join('\n'), '', `no complaint about ${file}`)
    }
  })

  it('a rollout: each new instance serves only once its afterStart ended, the old version serves meanwhile, and beforeStop runs before each old SIGTERM', async () => {
    const old = webOf(await h.status()).instances
    const load = startLoad(h, SERVICE, 6)
    await waitFor('some load', async () => load.progress().ok > 200, 20_000, 100)
    await h.setTarget(target(web(paths, 'v2')), {wait: true})
    await settled(h, 'v2')
    const atV2 = load.progress().ok
    await waitFor('load on v2', async () => load.progress().ok > atV2 + 200, 20_000, 100)
    const summary = await load.stop()
    assert.equal(summary.failed, 0, `failures: ${JSON.stringify(summary.errors)} ${JSON.stringify(summary.firsts)}`)
    assert.ok((summary.bodies.v1 ?? 0) > 0 && (summary.bodies.v2 ?? 0) > 0, JSON.stringify(summary.bodies))
    const lines = await events()
    assert.equal(lines.filter((line) => line.startsWith('after-start v2 ')).length, 3, lines.join('\n'))
    assert.deepEqual(lines.filter((line) => line.startsWith('early-request')), [], 'no request reached an instance before its afterStart ended')
    for (const instance of old) {
      const hook = lineIndex(lines, `before-stop v1 mainpid=${instance.pid}`)
      const term = lineIndex(lines, `sigterm v1 ${instance.pid}`)
      assert.ok(hook >= 0 && term > hook, `beforeStop (line ${hook}) before SIGTERM (line ${term}) for ${instance.unit}:\n${lines.join('\n')}`)
    }
  })

  it('a new version whose afterStart exits 3: t set fails naming the hook, the old version serves every request, status says why', async (t) => {
    const load = startLoad(h, SERVICE, 6)
    await waitFor('some load', async () => load.progress().ok > 100, 20_000, 100)
    const set = await h.cli(['t', 'set', await h.writeFile('failing.yaml', target(web(paths, 'v3', {afterStart: AFTER_START_FAILS})))])
    const atFailure = load.progress().ok
    await waitFor('more load after the failure', async () => load.progress().ok > atFailure + 300, 20_000, 100)
    const summary = await load.stop()
    assert.notEqual(set.code, 0, `t set failed: ${set.stdout}${set.stderr}`)
    assert.match(`${set.stdout}${set.stderr}`, /afterStart exited 3/)
    t.diagnostic(`t set said: ${`${set.stdout}${set.stderr}`.split('\n').filter((line) => line.includes('afterStart')).join(' | ')}`)
    assert.equal(summary.failed, 0, `failures: ${JSON.stringify(summary.errors)} ${JSON.stringify(summary.firsts)}`)
    assert.ok(summary.ok >= 400, `${summary.ok} requests`)
    assert.deepEqual(Object.keys(summary.bodies), ['v2'], `only the old version answered: ${JSON.stringify(summary.bodies)}`)
    assert.ok((await events()).includes('after-start-failing'), 'the hook ran')
    const report = await h.status()
    const status = webOf(report)
    const told = report.events.filter((e) => e.process === 'web').map((e) => `${e.kind}: ${e.message}`)
    assert.match(status.lastFailure?.reason ?? '', /^afterStart exited 3$/, `${JSON.stringify(status.lastFailure)}\n${told.join('\n')}`)
    assert.equal(status.instances.filter((i) => i.version !== status.version && i.traffic === 'in').length, 3, 'the old replicas still serve')
    assert.match(await h.ok(['status']), /afterStart exited 3/)
  })

  it('an afterStart that hangs is cut off by the start timeout, and the deploy fails saying so', async () => {
    const started = Date.now()
    const set = await h.cli(['t', 'set', await h.writeFile('hanging.yaml', target(web(paths, 'v3h', {afterStart: AFTER_START_HANGS})))])
    assert.notEqual(set.code, 0, `t set failed: ${set.stdout}${set.stderr}`)
    assert.match(`${set.stdout}${set.stderr}`, new RegExp(`afterStart did not finish within the start timeout \\(${START_TIMEOUT_S}s\\)`))
    assert.ok(Date.now() - started >= START_TIMEOUT_S * 1000, 'not before the timeout')
    const status = webOf(await h.status())
    assert.equal(status.instances.filter((i) => i.version !== status.version && i.traffic === 'in').length, 3, 'the old replicas still serve')
    assert.ok((await get(h, SERVICE)).startsWith('200 v2 '))
  })

  it('a crash runs no beforeStop, and systemd runs afterStart again for the restarted process; launcho stop runs beforeStop before SIGTERM', async () => {
    await h.setTarget(target(web(paths, 'v4')), {wait: true})
    const [first] = await settled(h, 'v4')
    await h.inside(['systemctl', 'kill', '--signal=KILL', '--kill-whom=main', first!.unit])
    const restarted = await waitFor('the crashed replica restarted and serving', async () => {
      const instance = webOf(await h.status()).instances.find((i) => i.unit === first!.unit)
      return instance && instance.pid !== first!.pid && instance.pid > 0 && instance.traffic === 'in' && instance
    }, 20_000, 100)
    let lines = await events()
    assert.equal(lineIndex(lines, `before-stop v4 mainpid=${first!.pid}`), -1, 'no beforeStop for a process that died')
    assert.ok(lines.some((line) => line.startsWith(`after-start v4 pid=${restarted.pid} `)), 'afterStart ran for the restarted process')

    const running = webOf(await h.status()).instances
    const stopped = await h.cli(['stop', 'web'])
    assert.equal(stopped.code, 0, stopped.stderr)
    lines = await events()
    for (const instance of running) {
      const hook = lineIndex(lines, `before-stop v4 mainpid=${instance.pid}`)
      const term = lineIndex(lines, `sigterm v4 ${instance.pid}`)
      assert.ok(hook >= 0 && term > hook, `beforeStop before SIGTERM for ${instance.unit}:\n${lines.join('\n')}`)
    }
    await h.ok(['start', 'web'])
    await settled(h, 'v4')
  })

  it('removal from the target runs beforeStop before SIGTERM; one that hangs is cut off by the stop timeout and the stop completes', async () => {
    await h.setTarget(target(web(paths, 'v4'), SLOW(paths)), {wait: true})
    const running = webOf(await h.status()).instances
    await h.setTarget(target(SLOW(paths)), {wait: true})
    await waitFor('web removed', async () => (await h.units()).every((unit) => !unit.startsWith('launcho-web-')), 20_000, 100)
    let lines = await events()
    for (const instance of running) {
      const hook = lineIndex(lines, `before-stop v4 mainpid=${instance.pid}`)
      const term = lineIndex(lines, `sigterm v4 ${instance.pid}`)
      assert.ok(hook >= 0 && term > hook, `beforeStop before SIGTERM for ${instance.unit}:\n${lines.join('\n')}`)
    }

    const slow = (await h.status()).processes.find((p) => p.name === 'slow')!.instances[0]!
    const started = Date.now()
    const stopped = await h.cli(['stop', 'slow'])
    const tookMs = Date.now() - started
    assert.equal(stopped.code, 0, `${stopped.stdout}${stopped.stderr}`)
    assert.match(stopped.stdout, /^slow: stopped$/m)
    assert.ok(tookMs >= STOP_TIMEOUT_S * 1000, `the stop waited for the hook's timeout (${tookMs} ms)`)
    assert.ok(tookMs < STOP_TIMEOUT_S * 1000 + 8_000, `and no longer than it needed (${tookMs} ms)`)
    assert.ok(!(await h.units()).some((unit) => unit.startsWith('launcho-slow-')), 'its unit is gone')
    lines = await events()
    const hook = lineIndex(lines, `before-stop-hang mainpid=${slow.pid}`)
    const term = lineIndex(lines, `sigterm slow ${slow.pid}`)
    assert.ok(hook >= 0 && term > hook, `the hanging hook ran, then the process got SIGTERM:\n${lines.join('\n')}`)
    const status = await h.status()
    assert.equal(status.processes.find((p) => p.name === 'slow')!.state, 'stopped')
    const said = status.events.map((event) => `${event.kind} ${event.process}: ${event.message}`)
    const cutOff = new RegExp(`^hook slow: the beforeStop hook of ${slow.unit.replaceAll('.', '\\.')} did not finish within the stop timeout \\(${STOP_TIMEOUT_S} s\\) and was cut off; the instance was stopped anyway$`)
    assert.ok(said.some((line) => cutOff.test(line)), `the events tell the hook was cut off:\n${said.join('\n')}`)
  })

  it('a process that ignores SIGTERM is killed at the stop timeout, and the events say so; one that exits on SIGTERM is not', async () => {
    const stubborn = `  - name: stubborn
    command: ["/bin/sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"]
`
    const polite = `  - name: polite
    command: ["sleep", "infinity"]
`
    await h.setTarget(target(stubborn, polite), {wait: true})
    const units = Object.fromEntries((await h.status()).processes.map((p) => [p.name, p.instances[0]!.unit]))
    assert.equal((await h.cli(['stop', 'polite'])).code, 0)
    const started = Date.now()
    const stopped = await h.cli(['stop', 'stubborn'])
    assert.equal(stopped.code, 0, `${stopped.stdout}${stopped.stderr}`)
    assert.ok(Date.now() - started >= STOP_TIMEOUT_S * 1000, 'the stop waited for the stop timeout')
    const said = (await h.status()).events.map((event) => `${event.kind} ${event.process}: ${event.message}`)
    const killed = `killed stubborn: ${units.stubborn} did not exit within the stop timeout (${STOP_TIMEOUT_S} s) after SIGTERM; systemd killed it (SIGKILL); handle SIGTERM, or raise the server's stopTimeoutSeconds`
    assert.ok(said.includes(killed), `${killed}\nnot in:\n${said.join('\n')}`)
    assert.ok(!said.some((line) => line.startsWith('killed polite:') || line.startsWith('hook stubborn:') || line.startsWith('hook polite:')), `nothing said of the polite one:\n${said.join('\n')}`)
    assert.ok(h.serverLog.includes(`"msg":"${units.stubborn} did not exit within the stop timeout`), 'and the server log says it')
  })

  it('a beforeStop that fails is told in the events (the instance stops anyway); a process that exits 1 on SIGTERM after a good hook is not blamed on it', async () => {
    const failing = `  - name: failing
    command: ["sleep", "infinity"]
    hooks:
      beforeStop: ["/bin/sh", "-c", "echo before-stop-failing >> \\"$EVENTS\\"; exit 3"]
    env:
      EVENTS: "${paths.events}"
`
    const exitsOne = `  - name: exits-one
    command: ["/bin/sh", "-c", "trap 'exit 1' TERM; while :; do sleep 0.1; done"]
    hooks:
      beforeStop: ["/bin/true"]
`
    await h.setTarget(target(failing, exitsOne), {wait: true})
    const units = Object.fromEntries((await h.status()).processes.map((p) => [p.name, p.instances[0]!.unit]))
    await h.setTarget(target(`  - name: keeper\n    command: ["sleep", "infinity"]\n`), {wait: true})
    await waitFor('both removed', async () => (await h.units()).every((unit) => !/^launcho-(failing|exits-one)-/.test(unit)), 20_000, 100)
    assert.ok((await events()).includes('before-stop-failing'), 'the hook ran')
    const said = await waitFor('the failed hook in the events', async () => {
      const lines = (await h.status()).events.map((event) => `${event.kind} ${event.process}: ${event.message}`)
      return lines.some((line) => line.startsWith('stopped exits-one:')) && lines.some((line) => line.startsWith('stopped failing:')) && lines
    }, 10_000, 100)
    const failed = `hook failing: the beforeStop hook of ${units.failing} failed (exit-code); the instance was stopped anyway`
    assert.ok(said.includes(failed), `${failed}\nnot in:\n${said.join('\n')}`)
    assert.ok(!said.some((line) => line.startsWith('hook exits-one:')), `nothing blamed on the good hook:\n${said.join('\n')}`)
  })
})
