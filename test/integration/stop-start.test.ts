/**
 * `launcho stop PROCESS` pauses a process without editing the target: it stays stopped across
 * target and secret changes and a server kill -9, status shows it `stopped`, and `start` runs
 * the version the target wants by then; both are releases. A unit stopped by hand with
 * `systemctl stop` is started again, and status says so.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {historyResponseSchema} from '../../src/protocol/releases.js'
import {Harness, waitFor, type StatusJson} from '../helpers/harness.js'
import {get, webApp} from '../helpers/services.js'

const SERVICE = 'http://127.0.0.1:5000/'

function target(version: string): string {
  return `processes:
  - name: web
    command: ["node", "${webApp}"]
    uid: nobody
    env:
      APP_VERSION: "${version}"
      TOKEN: "\${TOKEN}"
    receives: [web]
    health: {service: web, path: /health, interval: 200ms, failureThreshold: 2}
  - name: ticker
    command: ["sh", "-c", "while true; do echo tick-$TICK; sleep 0.2; done"]
    env:
      TICK: "${version}"
services:
  - name: web
    on: "127.0.0.1:5000"
`
}

const processOf = (status: StatusJson, name: string) => status.processes.find((p) => p.name === name)!
const webUnits = async (h: Harness) => (await h.units()).filter((unit) => unit.startsWith('launcho-web-'))

describe('stop and start', () => {
  let h: Harness
  before(async () => {
    h = await Harness.start({server: false})
    await h.startServer(['--config', await h.writeFile('config.yaml', 'lb: nftables\ndrainTimeoutSeconds: 2\n')])
    await h.ok(['secret', 'set', 'TOKEN', 'first'])
    await h.setTarget(target('v1'), {wait: true})
  })
  after(async () => h?.close())

  it('stop stops the process and keeps it stopped across t set, secret changes and a server kill -9; status says stopped', async () => {
    const stopped = await h.cli(['stop', 'web'])
    assert.equal(stopped.code, 0, stopped.stderr)
    assert.match(stopped.stdout, /^stop\s+web \(\w{8}\): launcho stop$/m)
    assert.match(stopped.stdout, /^web: stopped$/m)
    assert.deepEqual(await webUnits(h), [])
    const status = await h.status()
    assert.equal(processOf(status, 'web').state, 'stopped')
    assert.deepEqual(processOf(status, 'web').instances, [])
    assert.match(await h.ok(['status']), /^web\s+-\s+-\s+stopped\s/m)
    assert.equal((await h.ok(['stop', 'web'])).trim(), 'No process changes.', 'stopping it again changes nothing')

    const set = await h.ok(['t', 'set', await h.writeFile('v2.yaml', target('v2'))])
    assert.match(set, /^replace\s+ticker/m)
    assert.doesNotMatch(set, /^(replace|start)\s+web/m)
    assert.match(set, /^stopped\s+web: stays stopped; launcho start web runs it$/m)
    const secret = await h.ok(['secret', 'set', 'TOKEN', 'second'])
    assert.match(secret, /^No process changes\.$/m)
    assert.deepEqual(await webUnits(h), [])
    const restart = await h.cli(['restart', 'web'])
    assert.equal(restart.code, 2)
    assert.match(restart.stderr, /^Error: process "web" is stopped \(launcho stop\); it was not restarted$/m)

    await h.stopServer('SIGKILL')
    await h.startServer([], {printAuth: false})
    // The restarted server has looked at every process once ticker's running instance is adopted as serving.
    await waitFor('ticker adopted', async () => processOf(await h.status(), 'ticker').instances.some((instance) => instance.traffic === 'in' || instance.health === 'healthy'), 20_000)
    await h.ok(['restart', 'ticker'])
    assert.deepEqual(await webUnits(h), [], 'still stopped after the server restarted')
    assert.equal(processOf(await h.status(), 'web').state, 'stopped')
  })

  it('start runs the version the target wants now; stop and start are releases', async () => {
    const started = await h.cli(['start', 'web'])
    assert.equal(started.code, 0, started.stderr)
    assert.match(started.stdout, /^start\s+web \(\w{8}\): launcho start(; exposure \d\.\d \w+)?$/m)
    assert.match(started.stdout, /^web: serving \w{8}$/m)
    assert.equal((await get(h, SERVICE)).split(' ')[1], 'v2')
    const env = await h.processEnv(processOf(await h.status(), 'web').instances[0]!.unit)
    assert.equal(env?.TOKEN, 'second')
    const {releases} = historyResponseSchema.parse(JSON.parse(await h.ok(['history', '--json'])))
    const kinds = releases.map((release) => [release.kind, release.changes, release.outcome.state])
    assert.deepEqual(kinds.find(([kind]) => kind === 'stop'), ['stop', ['web: stop (launcho stop)'], 'serving'])
    assert.deepEqual(kinds[0], ['start', ['web: start (launcho start)'], 'serving'])
  })

  it('a unit stopped by hand with systemctl stop is started again, and status says so', async () => {
    const [unit] = await webUnits(h)
    await h.inside(['systemctl', 'stop', unit!])
    const status = await waitFor('web serving again', async () => {
      const now = await h.status()
      const web = processOf(now, 'web')
      return web.state === 'running' && web.instances.some((instance) => instance.traffic === 'in' && instance.pid > 0) ? now : undefined
    }, 30_000)
    const web = processOf(status, 'web')
    assert.match(web.lastFailure?.reason ?? '', /^stopped outside launcho \(systemctl stop\?\); launcho starts it again$/)
    assert.ok(status.events.some((event) => event.process === 'web' && event.message === `${unit} was stopped outside launcho (systemctl stop?); launcho starts it again`), JSON.stringify(status.events))
    assert.equal((await get(h, SERVICE)).split(' ')[1], 'v2')
  })
})
