/**
 * Deploys that wait: `t set` (and secret set, restart) follow the rollout they started and exit 0
 * once the new version serves, or 1 with the reason once it failed, while the old version keeps
 * serving; --detach returns at once; `events -f` streams the rollout; `logs -f` follows a process
 * across versions, and without a process shows every process.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {Harness, waitFor, type StatusJson} from '../helpers/harness.js'
import {RunningCli} from '../helpers/logs.js'
import {startLoad, webApp} from '../helpers/services.js'

const SERVICE = 'http://127.0.0.1:5000/'

function target(version: string, options: {health?: 'never'; startupDeadline?: string} = {}): string {
  return `processes:
  - name: web
    command: ["node", "${webApp}"]
    uid: nobody
    env:
      APP_VERSION: "${version}"${options.health ? `\n      HEALTH: "${options.health}"` : ''}
    receives: [web]
    health: {service: web, path: /health, interval: 200ms, failureThreshold: 2, startupDeadline: ${options.startupDeadline ?? '20s'}}
  - name: ticker
    command: ["sh", "-c", "while true; do echo tick-$TICK; sleep 0.2; done"]
    env:
      TICK: "${version}"
services:
  - name: web
    on: "127.0.0.1:5000"
`
}

const web = (status: StatusJson) => status.processes.find((p) => p.name === 'web')!

describe('deploys that wait for their rollout', () => {
  let h: Harness
  before(async () => {
    h = await Harness.start({server: false})
    await h.startServer(['--config', await h.writeFile('config.yaml', 'lb: nftables\ndrainTimeoutSeconds: 5\n')])
    await h.setTarget(target('v1'), {wait: true})
  })
  after(async () => h?.close())

  it('t set of a good change exits 0 once the new version serves, telling each event on a pipe', async () => {
    const result = await h.cli(['t', 'set', await h.writeFile('v2.yaml', target('v2'))])
    // Looked at first, before anything else can happen: the kernel sends new connections to the
    // new instance only (status, and so t set, says "serving" once the balancer applied it).
    const table = await h.inside(['nft', 'list', 'table', 'ip', 'launcho'])
    const inUse = /dnat ip to .* map @(\S+)/.exec(table)?.[1]
    const rules = new RegExp(`map ${inUse} \\{[^}]*elements = \\{([^}]*)\\}`).exec(table)?.[1] ?? table
    assert.equal(result.code, 0, result.stderr)
    const port = /started\s+web: started launcho-web-\w{8}\.service \(SERVICE_PORT_WEB=(\d+)\)/.exec(result.stdout)?.[1]
    assert.deepEqual([...rules.matchAll(/127\.0\.0\.1 \. (\d+)/g)].map((m) => m[1]), [port], rules)
    const status = await h.status()
    const current = web(status).instances.find((instance) => instance.current)
    assert.equal(current?.traffic, 'in', `the new version serves when t set returns: ${JSON.stringify(web(status))}`)
    assert.equal(current?.health, 'healthy')
    assert.ok(web(status).instances.every((instance) => instance.current || instance.traffic !== 'in'), 'no old instance takes new connections')
    assert.match(result.stdout, /^replace\s+web \(\w{8} -> (\w{8})\): env\.APP_VERSION$/m)
    assert.match(result.stdout, /started\s+web: started launcho-web-/)
    assert.match(result.stdout, /serving\s+web: launcho-web-\w{8}\.service is healthy and serving/)
    assert.match(result.stdout, new RegExp(`^web: serving ${web(status).version}$`, 'm'))
    assert.match(result.stdout, /^ticker: serving \w{8}$/m)
  })

  it('t set of a version that never turns healthy exits 1 with the reason after the start-up deadline; the old version served every request', async () => {
    const load = startLoad(h, SERVICE, 6)
    await waitFor('load flowing', async () => load.progress().ok > 50, 20_000)
    const started = Date.now()
    const result = await h.cli(['t', 'set', await h.writeFile('sick.yaml', target('v3', {health: 'never', startupDeadline: '3s'}))])
    const tookMs = Date.now() - started
    const summary = await load.stop()
    assert.equal(result.code, 1, `${result.stdout}\n${result.stderr}`)
    assert.match(result.stderr, /^Error: the rollout of web \(\w{8}\) failed: rollout-failed: not healthy within its start-up deadline: HTTP 500 in \d+ ms: sick; the previous version \(\w{8}\) keeps serving$/m)
    assert.ok(tookMs >= 3_000, `exited after ${tookMs} ms, before the 3 s start-up deadline`)
    assert.ok(tookMs < 20_000, `exited after ${tookMs} ms`)
    assert.equal(summary.failed, 0, `failed requests: ${JSON.stringify(summary.errors)}`)
    assert.ok(summary.ok > 100, `only ${summary.ok} requests`)
    assert.deepEqual(Object.keys(summary.bodies), ['v2'], 'only the old version answered')
    assert.equal(web(await h.status()).state, 'rollout-failed')
  })

  it('t set of a new process that never turns healthy (nothing older to keep) exits 1 after its start-up deadline', async () => {
    const fresh = `  - name: fresh
    command: ["node", "${webApp}"]
    uid: nobody
    env: {HEALTH: "never", APP_VERSION: "fresh"}
    receives: [web]
    health: {service: web, path: /health, interval: 200ms, failureThreshold: 2, startupDeadline: 2s}
`
    const withFresh = target('v3b').replace('services:\n', `${fresh}services:\n`)
    const started = Date.now()
    const result = await h.cli(['t', 'set', await h.writeFile('fresh.yaml', withFresh)])
    const tookMs = Date.now() - started
    assert.equal(result.code, 1, `${result.stdout}\n${result.stderr}`)
    assert.match(result.stderr, /the rollout of fresh \(\w{8}\) failed: not healthy within its start-up deadline: HTTP 500 in \d+ ms: sick; launcho restarts it/)
    assert.ok(tookMs >= 2_000 && tookMs < 20_000, `exited after ${tookMs} ms (start-up deadline 2 s)`)
    // Back to the good target, without the fresh process.
    await h.setTarget(target('v3c'), {wait: true})
  })

  it('--detach returns before the new version is healthy, with the changes', async () => {
    const started = Date.now()
    const result = await h.cli(['t', 'set', await h.writeFile('slow.yaml', target('v4', {health: 'never', startupDeadline: '30s'})), '--detach'])
    assert.equal(result.code, 0, result.stderr)
    assert.ok(Date.now() - started < 10_000)
    assert.match(result.stdout, /^replace\s+web/m)
    const process = web(await h.status())
    assert.ok(!process.instances.some((instance) => instance.current && instance.traffic === 'in'), 'the new version does not serve yet')
    // Back to a good version for the next tests, waiting for it this time (JSON: how it ended).
    const back = JSON.parse(await h.ok(['t', 'set', await h.writeFile('v5.yaml', target('v5')), '--json'])) as {rollout: Array<{process: string; outcome: string}>}
    assert.deepEqual(back.rollout.map((one) => [one.process, one.outcome]).sort(), [['ticker', 'serving'], ['web', 'serving']])
  })

  it('gives up after --timeout with exit 1, naming what it waited for', async () => {
    const result = await h.cli(['t', 'set', await h.writeFile('slow2.yaml', target('v6', {health: 'never', startupDeadline: '30s'})), '--timeout', '2s'])
    assert.equal(result.code, 1, result.stderr)
    assert.match(result.stderr, /gave up waiting after 2s: web is checking \(new: checking \(HTTP 500 in \d+ ms: sick\) · old \w{8}: running\)/)
    assert.match(result.stderr, /the rollout goes on on the server/)
    await h.ok(['t', 'set', await h.writeFile('v7.yaml', target('v7'))])
  })

  it('Ctrl-C while following exits 130 saying the rollout goes on, and it does', async () => {
    const set = RunningCli.start(h, ['t', 'set', await h.writeFile('slow3.yaml', target('v8', {health: 'never', startupDeadline: '30s'}))])
    await set.waitForOutput(/^replace\s+web/m)
    assert.deepEqual(await set.stop('SIGINT'), {code: 130, signal: null})
    assert.match(set.stderr, /^Stopped waiting; the rollout goes on \(launcho status shows it\)\.$/m)
    assert.equal(web(await h.status()).state, 'rolling-out')
    // Back to where the tests after this one expect to be.
    await h.ok(['t', 'set', await h.writeFile('v7.yaml', target('v7'))])
  })

  it('events -f streams a rollout as it happens', async () => {
    const events = RunningCli.start(h, ['events', '-f', '-n', '1'])
    const watch = RunningCli.start(h, ['status', '-w', '--json', '--events', '0'])
    try {
      await events.waitForOutput(/\S/)
      await watch.waitForOutput(/^\{.*\}\n/)
      const result = await h.cli(['restart', 'web'])
      assert.equal(result.code, 0, result.stderr)
      const version = web(await h.status()).version!
      await events.waitForOutput(new RegExp(`restart\\s+restart of web[\\s\\S]*started\\s+web: started launcho-web-${version}[\\s\\S]*serving\\s+web: launcho-web-${version}\\.service is healthy and serving`))
      // status -w drew the status again after the rollout's events: one JSON status per line.
      await waitFor('status -w showing the new version serving', async () =>
        watch.stdout.split('\n').filter(Boolean).some((line) => {
          const instances = web(JSON.parse(line) as StatusJson).instances
          return instances.some((instance) => instance.version === version && instance.traffic === 'in')
        }),
      )
    } finally {
      assert.deepEqual(await events.stop('SIGINT'), {code: 0, signal: null})
      assert.deepEqual(await watch.stop('SIGINT'), {code: 0, signal: null})
    }
  })

  it('logs web -f keeps showing lines after a new version replaces the old; logs without a process shows every process', async () => {
    const logs = RunningCli.start(h, ['logs', 'ticker', '-f', '-n', '1'])
    try {
      await logs.waitForOutput(/ticker@\w{8}\[\d+\]: tick-v7/)
      await h.ok(['t', 'set', await h.writeFile('v8.yaml', target('v8'))])
      await logs.waitForOutput(/ticker@\w{8}\[\d+\]: tick-v8/)
    } finally {
      assert.deepEqual(await logs.stop('SIGINT'), {code: 0, signal: null})
    }
    const all = await h.ok(['logs', '-n', '200'])
    assert.match(all, /ticker@\w{8}\[\d+\]: tick-v8/)
    assert.match(all, /web@\w{8}\[\d+\]: v8 listening on \d+/)
  })
})
