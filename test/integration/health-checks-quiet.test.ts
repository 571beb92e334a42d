/**
 * HTTP health checks as a user of a real server sees them: a new instance serves moments after it
 * listens (not an interval later), and checking an ordinary app (Python's http.server) puts no
 * error in its log and leaves no TIME_WAIT entries behind in the sandbox's network.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {Harness, waitFor, type StatusJson} from '../helpers/harness.js'
import {get} from '../helpers/services.js'

type Instance = StatusJson['processes'][number]['instances'][number] & {
  health?: string
  traffic?: string
  ports?: Record<string, number>
}

const pythonApp = (delay: string, port: string) =>
  `["/bin/sh", "-c", "echo OK > health; ${delay}exec python3 -m http.server --bind 127.0.0.1 $\${${port}}"]`

const target = `processes:
  - name: late
    uid: nobody
    command: ${pythonApp('sleep 0.1; ', 'SERVICE_PORT_WEB')}
    receives: [web]
    health: {service: web, path: /health, interval: 10s}
  - name: chatty
    uid: nobody
    command: ${pythonApp('', 'SERVICE_PORT_CHAT')}
    receives: [chat]
    health: {service: chat, path: /health, interval: 100ms}
services:
  - name: web
    on: "127.0.0.1:5000"
  - name: chat
    on: "127.0.0.1:5001"
`

describe('http health checks against a real app', () => {
  let h: Harness
  let setAt = 0
  before(async () => {
    h = await Harness.start()
    setAt = Date.now()
    await h.setTarget(target)
  })
  after(async () => h?.close())

  const serving = (name: string) =>
    waitFor(`${name} serving`, async () => {
      const instance = (await h.status()).processes.find((p) => p.name === name)?.instances[0] as Instance | undefined
      return instance?.traffic === 'in' && instance
    }, 30_000, 100)

  /** When systemd started the unit's main process, on this clock (systemd gives CLOCK_MONOTONIC µs). */
  async function startedAt(unit: string): Promise<number> {
    const monotonicUs = Number((await h.unit(unit, ['ExecMainStartTimestampMonotonic'])).ExecMainStartTimestampMonotonic)
    const nowUs = Number(process.hrtime.bigint() / 1000n)
    return Date.now() - (nowUs - monotonicUs) / 1000
  }

  it('an app that listens 100 ms after it starts serves within moments, though its interval is 10 s', async () => {
    const instance = await serving('late')
    const events = (await h.status()).events as Array<StatusJson['events'][number] & {time: string}>
    const servedAt = Date.parse(events.find((event) => event.kind === 'serving' && event.process === 'late')!.time)
    const started = await startedAt(instance.unit)
    // Checks at 0, 50, 150, 350 ms … after the start: one soon after 100 ms passes. With a check
    // per interval it would serve 10 s after its start; the bound leaves room for a loaded machine.
    const tookMs = servedAt - started
    if (process.env.LAUNCHO_TEST_VERBOSE) console.log(`late: served ${Math.round(tookMs)} ms after its start`)
    assert.ok(tookMs < 2000, `served ${Math.round(tookMs)} ms after its start (${servedAt - setAt} ms after t set)`)
    assert.match(await get(h, 'http://127.0.0.1:5000/health'), /^200 OK/)
  })

  it('python3 -m http.server checked every 100 ms logs no error, and no TIME_WAIT piles up', async () => {
    const instance = await serving('chatty')
    const port = instance.ports?.chat
    assert.ok(port, 'the instance has a port')
    const log = await waitFor('30 checks in its log', async () => {
      const text = await h.journal(['-u', instance.unit, '-o', 'cat'])
      return (text.match(/"GET \/health HTTP\/1\.1" 200/g) ?? []).length >= 30 && text
    }, 30_000, 200)
    assert.doesNotMatch(log, /Traceback|Connection reset|Broken pipe|Error/i)
    const timeWaits = await h.inside(['ss', '-Htan', 'state', 'time-wait', `( sport = :${port} or dport = :${port} )`])
    assert.equal(timeWaits.trim(), '', 'TIME_WAIT entries toward the app')
  })
})
