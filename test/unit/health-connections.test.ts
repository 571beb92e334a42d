/**
 * HTTP checks leave nothing behind: no error in the app's log, no TIME_WAIT entry per check, one
 * connection per watched instance. Real apps on loopback: Python's http.server (HTTP/1.0, closes
 * after every answer), Node's http server (keeps connections, closes idle ones), a raw one.
 */
import assert from 'node:assert/strict'
import {execFileSync, spawn, type ChildProcess} from 'node:child_process'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {createServer, type Server} from 'node:http'
import {createServer as createTcpServer, type Server as TcpServer, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, afterEach, describe, it} from 'node:test'
import type {CheckResult, HealthCheck} from '../../src/health/check.js'
import type {HealthState} from '../../src/health/health-state.js'
import {HealthMonitor} from '../../src/health/monitor.js'
import {createProber, type Probe} from '../../src/health/prober.js'

const policy = {intervalMs: 50, failureThreshold: 3, successThreshold: 1, startupDeadlineMs: 30_000}
const http = (port: number, path = '/health'): HealthCheck => ({kind: 'http', port, path, timeoutMs: 1000})
const cleanups: Array<() => Promise<void> | void> = []
let monitor: HealthMonitor | undefined

afterEach(() => monitor?.close())
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

/** Sockets in TIME_WAIT to or from `port`, on each side. */
function timeWaits(port: number): {app: number; ours: number} {
  const lines = execFileSync('ss', ['-Htan', 'state', 'time-wait', `( sport = :${port} or dport = :${port} )`], {encoding: 'utf8'})
  const local = lines.split('\n').filter(Boolean).map((line) => line.trim().split(/\s+/)[2] ?? '')
  const app = local.filter((address) => address.endsWith(`:${port}`)).length
  return {app, ours: local.length - app}
}

async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** A monitor with the real prober, recording every change and every check's result. */
function recording() {
  const states: HealthState[] = []
  const results: CheckResult[] = []
  const real = createProber()
  const probe: Probe = async (check, signal, connection) => {
    const result = await real(check, signal, connection)
    results.push(result)
    return result
  }
  monitor = new HealthMonitor({onHealthChange: (_key, state) => states.push(state)}, {probe})
  return {monitor, states, results}
}

async function freePort(): Promise<number> {
  const server = createTcpServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as {port: number}
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** `python3 -m http.server` serving a directory with a `health` file; its stderr is its log. */
async function pythonHttpServer() {
  const dir = await mkdtemp(join(tmpdir(), 'launcho-health-py-'))
  await writeFile(join(dir, 'health'), 'OK\n')
  const port = await freePort()
  // -u: it says it listens on stdout, at once (a connection to find out would leave a TIME_WAIT).
  const argv = ['-u', '-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', dir]
  const child: ChildProcess = spawn('python3', argv, {stdio: ['ignore', 'pipe', 'pipe']})
  let log = ''
  let out = ''
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()))
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()))
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await closed
    await rm(dir, {recursive: true, force: true})
  }
  cleanups.push(stop)
  await until('python3 -m http.server listening', () => out.includes('Serving HTTP') || child.exitCode !== null)
  assert.equal(child.exitCode, null, `python3 -m http.server exited:\n${log}`)
  return {
    port,
    /** Requests it logged (one line each). */
    requests: () => (log.match(/"GET \/health HTTP\/1\.1" 200/g) ?? []).length,
    /** Its whole log, once it has exited (nothing it wrote is still in flight). */
    finalLog: async () => {
      await stop()
      return log
    },
  }
}

/** A Node HTTP server counting the connections it accepted and the ones still open. */
async function nodeHttpServer(options: {keepAliveTimeout?: number} = {}) {
  const server: Server = createServer(
    {...(options.keepAliveTimeout === undefined ? {} : {keepAliveTimeout: options.keepAliveTimeout, keepAliveTimeoutBuffer: 0})},
    (req, res) => {
      counts.requests[req.url ?? ''] = (counts.requests[req.url ?? ''] ?? 0) + 1
      res.end('OK')
    },
  )
  const counts = {accepted: 0, open: 0, requests: {} as Record<string, number>, clientErrors: [] as string[]}
  server.on('connection', (socket: Socket) => {
    counts.accepted += 1
    counts.open += 1
    socket.on('close', () => (counts.open -= 1))
  })
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    counts.clientErrors.push(error.code ?? error.message)
    socket.destroy()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(() => {
    server.closeAllConnections()
    server.close()
  })
  return {port: (server.address() as {port: number}).port, counts}
}

describe('HTTP checks leave nothing behind', () => {
  it('python3 -m http.server checked 60 times logs no error, and no TIME_WAIT is left either side', async () => {
    const app = await pythonHttpServer()
    const {monitor, states} = recording()
    monitor.watch('py', http(app.port), policy)
    await until('60 checks', () => app.requests() >= 60)
    assert.deepEqual(timeWaits(app.port), {app: 0, ours: 0})
    monitor.unwatch('py')
    assert.deepEqual(states, ['healthy'])
    const log = await app.finalLog()
    assert.doesNotMatch(log, /Traceback|Connection reset|Broken pipe|Error/i)
    assert.deepEqual(timeWaits(app.port), {app: 0, ours: 0})
  })

  it('one-off checks (no kept connection) of python3 -m http.server log no error and leave no TIME_WAIT', async () => {
    const app = await pythonHttpServer()
    const probe = createProber()
    for (let i = 0; i < 30; i++) assert.equal((await probe(http(app.port))).ok, true)
    assert.doesNotMatch(await app.finalLog(), /Traceback|Connection reset|Broken pipe|Error/i)
    assert.deepEqual(timeWaits(app.port), {app: 0, ours: 0})
  })

  it('an app that keeps connections sees one per watched instance, closed when it is no longer watched', async () => {
    const app = await nodeHttpServer()
    const {monitor, results} = recording()
    monitor.watch('web', http(app.port), policy)
    monitor.watch('other', http(app.port, '/other'), policy)
    await until('20 checks of each', () => (app.counts.requests['/health'] ?? 0) >= 20 && (app.counts.requests['/other'] ?? 0) >= 20)
    assert.equal(app.counts.accepted, 2, 'one connection per instance')
    assert.deepEqual(results.filter((result) => !result.ok), [])
    monitor.unwatch('web')
    await until('web’s connection closed', () => app.counts.open === 1)
    // Our FIN, the one end of a connection that was ours to end: one entry, on our side. The app's
    // socket has closed once it sent its FIN; ours enters TIME_WAIT when that FIN is processed.
    await until('our end of it in TIME_WAIT', () => timeWaits(app.port).ours >= 1)
    assert.deepEqual(timeWaits(app.port), {app: 0, ours: 1})
    assert.deepEqual(app.counts.clientErrors, [])
  })

  it('an app that closes idle connections before the next check: its close is answered with a reset, no TIME_WAIT', async () => {
    const app = await nodeHttpServer({keepAliveTimeout: 30})
    const {monitor, results} = recording()
    monitor.watch('web', http(app.port), {...policy, intervalMs: 150})
    await until('10 connections, each closed by the app', () => app.counts.accepted >= 10 && app.counts.open === 0)
    assert.deepEqual(results.filter((result) => !result.ok), [])
    assert.deepEqual(timeWaits(app.port), {app: 0, ours: 0})
    assert.deepEqual(app.counts.clientErrors, [])
  })

  it('a check that meets the app closing its kept connection is retried on a fresh one', async () => {
    // Answers the first request on each connection with keep-alive, then drops the connection
    // when the next request arrives on it: what an idle timeout racing a check looks like.
    let connections = 0
    const server: TcpServer = createTcpServer((socket) => {
      connections += 1
      let requests = 0
      socket.on('data', () => {
        requests += 1
        if (requests === 1) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nOK')
        else socket.destroy()
      })
      socket.on('error', () => {})
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    cleanups.push(() => void server.close())
    const {port} = server.address() as {port: number}
    const {monitor, results} = recording()
    monitor.watch('web', http(port), {...policy, intervalMs: 100})
    await until('five checks', () => results.length >= 5)
    assert.deepEqual(results.filter((result) => !result.ok), [])
    assert.ok(connections >= 5, `${connections} connections for ${results.length} checks`)
  })
})
