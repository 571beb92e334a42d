import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {createServer, type Server} from 'node:http'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, afterEach, describe, it} from 'node:test'
import type {CheckResult, HealthCheck} from '../../src/health/check.js'
import type {HealthState} from '../../src/health/health-state.js'
import {HealthMonitor} from '../../src/health/monitor.js'

const policy = {intervalMs: 100, failureThreshold: 3, successThreshold: 1, startupDeadlineMs: 10_000}
const servers: Server[] = []
let monitor: HealthMonitor | undefined

/** An HTTP server answering `status()` (or never, for 0), counting requests. */
async function endpoint(status: () => number = () => 200) {
  const counter = {requests: 0, port: 0}
  const server = createServer((_req, res) => {
    counter.requests += 1
    const code = status()
    if (code !== 0) res.writeHead(code).end()
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  counter.port = (server.address() as {port: number}).port
  return counter
}

const http = (port: number, timeoutMs = 500, path = '/health'): HealthCheck => ({kind: 'http', port, path, timeoutMs})

/** A monitor whose consumer records every change. */
function recording() {
  const changes: Array<{key: string; state: HealthState; result?: CheckResult; at: number}> = []
  monitor = new HealthMonitor({
    onHealthChange: (key, state, result) => changes.push({key, state, result, at: Date.now()}),
  })
  const statesOf = (key: string) => changes.filter((c) => c.key === key).map((c) => c.state)
  return {monitor, changes, statesOf}
}

async function until(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A port nothing listens on (yet): bound once, then closed. */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as {port: number}
  await new Promise((resolve) => server.close(resolve))
  return port
}

afterEach(() => monitor?.close())
after(() => {
  for (const server of servers) {
    server.closeAllConnections()
    server.close()
  }
})

describe('health monitor', () => {
  it('reports a failing instance unhealthy within interval × failureThreshold, and healthy again', async () => {
    let status = 200
    const server = await endpoint(() => status)
    const {monitor, changes, statesOf} = recording()
    monitor.watch('web-1', http(server.port), policy)
    await until('healthy', () => statesOf('web-1').length === 1)
    assert.deepEqual(statesOf('web-1'), ['healthy'])

    status = 500
    const brokeAt = Date.now()
    await until('unhealthy', () => statesOf('web-1').length === 2)
    const change = changes[1]
    assert.equal(change.state, 'unhealthy')
    assert.match(change.result?.detail ?? '', /^HTTP 500/)
    const slack = 500
    assert.ok(change.at - brokeAt <= policy.intervalMs * policy.failureThreshold + slack, `took ${change.at - brokeAt} ms`)

    status = 200
    await until('healthy again', () => statesOf('web-1').length === 3)
    await sleep(policy.intervalMs * 3)
    assert.deepEqual(statesOf('web-1'), ['healthy', 'unhealthy', 'healthy'], 'each change reported once')
    assert.equal(monitor.snapshot('web-1')?.state, 'healthy')
  })

  it('a new instance that listens after 100 ms is healthy within moments, though the interval is 10 s', async () => {
    const port = await freePort()
    const {monitor, changes, statesOf} = recording()
    const watchedAt = Date.now()
    monitor.watch('web', http(port), {...policy, intervalMs: 10_000})
    await sleep(100)
    const server = createServer((_req, res) => res.end('OK'))
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
    const listeningAt = Date.now()
    await until('healthy', () => statesOf('web').length === 1, 5000)
    assert.deepEqual(statesOf('web'), ['healthy'])
    // Checks at 0, 50, 150, 350 ms …: the one at 150 ms passes. The bound leaves room for a loaded machine.
    const tookMs = changes[0]!.at - watchedAt
    assert.ok(tookMs < 1000, `healthy ${tookMs} ms after it was watched (${changes[0]!.at - listeningAt} ms after it listened)`)
    assert.equal(monitor.snapshot('web')?.consecutiveFailures, 0)
  })

  it('retries a new instance at 50, 100, 200 ms … up to the interval until it passes, then every interval', async () => {
    const seen: number[] = []
    let status = 503
    const server = createServer((_req, res) => {
      seen.push(Date.now())
      res.writeHead(status).end()
    })
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const {port} = server.address() as {port: number}
    const {monitor, statesOf} = recording()
    const intervalMs = 400
    monitor.watch('web', http(port), {...policy, intervalMs})
    await until('six checks', () => seen.length >= 6)
    status = 200
    await until('healthy', () => statesOf('web').length === 1)
    const passedAt = seen.length
    await until('two checks after it passed', () => seen.length >= passedAt + 2, 5000)
    const gaps = seen.slice(1).map((at, i) => at - seen[i]!)
    // Timers never fire early, but these are arrival times at the app: a check whose request took
    // a few ms longer to arrive than the next one's (a loaded machine) shortens the gap after it.
    const expected = [50, 100, 200, 400, 400]
    expected.forEach((ms, i) => assert.ok(gaps[i]! >= ms - 15 && gaps[i]! < ms + 250, `gap ${i}: ${gaps[i]} ms, expected ~${ms} (all: ${gaps})`))
    for (const gap of gaps.slice(passedAt - 1)) assert.ok(gap >= intervalMs - 15, `after passing, a gap of ${gap} ms (all: ${gaps})`)
  })

  it('checks 50 instances at once; one that hangs holds back none of the others', async () => {
    const healthy = await Promise.all(Array.from({length: 49}, () => endpoint()))
    const hanging = await endpoint(() => 0)
    const {monitor, statesOf} = recording()
    monitor.watch('hanging', http(hanging.port, 30_000), policy)
    healthy.forEach((server, i) => monitor.watch(`web-${i}`, http(server.port), policy))

    await until('all 49 healthy', () => healthy.every((_, i) => statesOf(`web-${i}`).length === 1), policy.intervalMs + 1000)
    const counts = healthy.map((server) => server.requests)
    await sleep(policy.intervalMs * 6)
    // A serial or blocked monitor would check none of them again; allow for a loaded machine.
    healthy.forEach((server, i) => {
      const checks = server.requests - counts[i]
      assert.ok(checks >= 2, `web-${i} was checked ${checks} times in ${policy.intervalMs * 6} ms`)
    })
    assert.equal(hanging.requests, 1, 'a check still running is not started again')
    assert.deepEqual(statesOf('hanging'), [])
    assert.equal(monitor.snapshot('hanging')?.state, 'starting')
  })

  it('fails an instance at its start-up deadline, once, and stops checking it', async () => {
    const server = await endpoint(() => 503)
    const {monitor, changes, statesOf} = recording()
    const watchedAt = Date.now()
    monitor.watch('slow', http(server.port), {...policy, intervalMs: 50, startupDeadlineMs: 300})
    await until('failed', () => statesOf('slow').length > 0)
    assert.ok(changes[0].at - watchedAt >= 295, `failed after ${changes[0].at - watchedAt} ms`)
    assert.match(changes[0].result?.detail ?? '', /^HTTP 503/)
    const requests = server.requests
    await sleep(200)
    assert.deepEqual(statesOf('slow'), ['failed'])
    assert.equal(server.requests, requests)
    assert.equal(monitor.snapshot('slow')?.state, 'failed')
  })

  it('unwatch stops the checks, and kills an exec check still running', async () => {
    const server = await endpoint()
    const dir = await mkdtemp(join(tmpdir(), 'launcho-monitor-'))
    const pidFile = join(dir, 'pid')
    const {monitor} = recording()
    monitor.watch('web', http(server.port), policy)
    monitor.watch('job', {kind: 'exec', command: ['/bin/sh', '-c', `echo $$ > ${pidFile}; exec sleep 30`], timeoutMs: 30_000}, policy)
    await until('two checks and the exec check running', () => server.requests >= 2 && existsSync(pidFile))
    const pid = Number(readFileSync(pidFile, 'utf8'))
    monitor.unwatch('web')
    monitor.unwatch('job')
    const requests = server.requests
    await sleep(policy.intervalMs * 4)
    assert.equal(server.requests, requests)
    assert.equal(monitor.snapshot('web'), undefined)
    assert.equal(existsSync(`/proc/${pid}`), false, 'the exec check is still running')
    await rm(dir, {recursive: true, force: true})
  })

  it('watching again with the same check changes nothing; another check starts over', async () => {
    const server = await endpoint()
    const {monitor, statesOf} = recording()
    monitor.watch('web', http(server.port), policy)
    await until('healthy', () => statesOf('web').length === 1)
    const since = monitor.snapshot('web')?.since
    monitor.watch('web', http(server.port), {...policy})
    assert.equal(monitor.snapshot('web')?.since, since)
    monitor.watch('web', http(server.port, 500, '/ready'), policy)
    await until('healthy again', () => statesOf('web').length === 3)
    assert.deepEqual(statesOf('web'), ['healthy', 'starting', 'healthy'])
  })

  it('a consumer that throws does not stop the monitor', async () => {
    let status = 200
    const server = await endpoint(() => status)
    const errors: string[] = []
    const states: HealthState[] = []
    monitor = new HealthMonitor(
      {
        onHealthChange: (_key, state) => {
          states.push(state)
          if (state === 'healthy' && states.length === 1) throw new Error('consumer bug')
        },
      },
      {onError: (key, error) => errors.push(`${key}: ${(error as Error).message}`)},
    )
    monitor.watch('web', http(server.port), policy)
    await until('healthy', () => states.length === 1)
    status = 500
    await until('unhealthy', () => states.length === 2)
    assert.deepEqual(errors, ['web: consumer bug'])
  })

  it('close() leaves nothing running: the process exits on its own', async () => {
    const moduleUrl = new URL('../../src/health/monitor.js', import.meta.url).href
    const script = `
      import {createServer} from 'node:http'
      import {HealthMonitor} from ${JSON.stringify(moduleUrl)}
      const server = createServer((req, res) => { if (req.url === '/ok') res.end('OK') })
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
      const {port} = server.address()
      const monitor = new HealthMonitor({onHealthChange() {}})
      const policy = {intervalMs: 50, failureThreshold: 3, successThreshold: 1, startupDeadlineMs: 60000}
      monitor.watch('ok', {kind: 'http', port, path: '/ok', timeoutMs: 1000}, policy)
      monitor.watch('hangs', {kind: 'http', port, path: '/hang', timeoutMs: 60000}, policy)
      monitor.watch('tcp', {kind: 'tcp', port, timeoutMs: 1000}, policy)
      monitor.watch('exec', {kind: 'exec', command: ['sleep', '60'], timeoutMs: 60000}, policy)
      setTimeout(() => {
        monitor.close()
        server.closeAllConnections()
        server.close()
        console.log(monitor.snapshot('ok') === undefined ? 'closed' : 'still watching')
      }, 300)
    `
    const started = Date.now()
    const {stdout} = await new Promise<{stdout: string}>((resolve, reject) => {
      execFile(process.execPath, ['--input-type=module', '-e', script], {timeout: 10_000}, (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve({stdout}),
      )
    })
    assert.equal(stdout.trim(), 'closed')
    assert.ok(Date.now() - started < 5000, `exited after ${Date.now() - started} ms`)
  })
})
