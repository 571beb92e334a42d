/**
 * systemd tells launcho first: when an instance's main process dies, it leaves the balancer on
 * systemd's signal — long before a health check (here every 2 s, 3 failures to count) could notice —
 * and rejoins once it is healthy again. Under load (a new connection per request), what fails is
 * what was in flight on it (reset, at most one per connection) and what reached its port in the
 * few milliseconds before the ruleset dropped it (refused): nothing after that.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {Harness, waitFor} from '../helpers/harness.js'
import {startLoad, webApp} from '../helpers/services.js'

const CONNECTIONS = 8
const target = `processes:
  - name: web-a
    command: ["node", "${webApp}"]
    uid: nobody
    env: {APP_VERSION: "a"}
    receives: [web]
    health: {service: web, path: /health, interval: 2s, failureThreshold: 3}
  - name: web-b
    command: ["node", "${webApp}"]
    uid: nobody
    env: {APP_VERSION: "b"}
    receives: [web]
    health: {service: web, path: /health, interval: 2s, failureThreshold: 3}
services:
  - name: web
    on: "127.0.0.1:5000"
`

describe('an instance whose main process dies', () => {
  let h: Harness
  before(async () => {
    h = await Harness.start({server: false})
    const config = await h.writeFile('config.yaml', 'lb: nftables\n')
    await h.startServer(['--config', config])
    await h.setTarget(target)
    await waitFor('both serving', async () => {
      const status = await h.status()
      return status.processes.length === 2 && status.processes.every((p) => p.instances.some((i) => (i as {traffic?: string}).traffic === 'in'))
    }, 30_000, 100)
  })
  after(async () => h?.close())

  it('leaves the balancer on systemd’s signal, before any health check, and rejoins when healthy', async (t) => {
    const unit = (await h.units()).find((name) => name.startsWith('launcho-web-a-'))!
    const {MainPID: pid, Environment: environment} = await h.unit(unit, ['MainPID', 'Environment'])
    const port = /SERVICE_PORT_WEB=(\d+)/.exec(environment!)![1]!
    const inTable = async () => (await h.inside(['nft', 'list', 'table', 'ip', 'launcho'])).includes(`127.0.0.1 . ${port}`)
    assert.ok(await inTable(), 'web-a is in the ruleset before')

    const load = startLoad(h, 'http://127.0.0.1:5000/', CONNECTIONS, 120)
    await waitFor('load flowing', async () => load.progress().ok > 200, 10_000, 20)
    const killedAt = Date.now()
    await h.inside(['kill', '-9', pid!])
    await waitFor('web-a out of the ruleset', async () => !(await inTable()), 1_500, 5)
    const outAfterMs = Date.now() - killedAt
    await waitFor('web-a back in the ruleset', async () => inTable(), 20_000, 50)
    const backAfterMs = Date.now() - killedAt
    await waitFor('more load after it rejoined', async () => load.progress().ok > 500, 10_000, 20)
    const summary = await load.stop()
    t.diagnostic(`out of the ruleset ${outAfterMs} ms after kill -9 (health checks every 2 s); back ${backAfterMs} ms after; load ${summary.ok} ok, ${summary.failed} failed ${JSON.stringify(summary.errors)}`)

    // The health checks alone would take at least two intervals (4 s) to notice.
    assert.ok(outAfterMs < 1_500, `out after ${outAfterMs} ms`)
    // Resets: the requests in flight on it when it died (one per connection at most), and new
    // connections its dying listener still accepted; refusals: new connections sent to it between
    // its death and systemd's signal. None may start after it left the ruleset.
    const inFlight = summary.firsts.filter((failure) => failure.code === 'ECONNRESET' && failure.startedAt < killedAt)
    assert.ok(inFlight.length <= CONNECTIONS, `at most the requests in flight were reset: ${JSON.stringify(summary.errors)}`)
    const startedLate = summary.firsts.filter((failure) => failure.startedAt > killedAt + outAfterMs + 100)
    assert.deepEqual(startedLate, [], 'no request sent after web-a left the ruleset failed')
    // Each failure is timed; none may come after the ruleset dropped it (the poll above saw that
    // at most a poll's length late, so allow 100 ms).
    assert.ok(summary.failed <= summary.firsts.length, `all ${summary.failed} failures timed`)
    const late = summary.firsts.filter((failure) => failure.at > killedAt + outAfterMs + 100)
    assert.deepEqual(late, [], 'no failure after web-a left the ruleset')
    const status = await h.status()
    const events = status.events.map((e) => e.message).join('\n')
    assert.match(events, new RegExp(`${unit} left the balancer: its main process is gone`))
  })
})
