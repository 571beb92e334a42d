import assert from 'node:assert/strict'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {execFileSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {createServer, type RequestListener, type Server} from 'node:http'
import {createServer as createTcpServer, type Server as TcpServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import type {ExecCheck} from '../../src/health/exec-runner.js'
import {createProber} from '../../src/health/prober.js'

const probe = createProber()
const servers: Array<Server | TcpServer> = []

async function listen<S extends Server | TcpServer>(server: S): Promise<number> {
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  assert.ok(address && typeof address === 'object')
  return address.port
}
const http = (handler: RequestListener) => listen(createServer(handler))

/** A port nothing listens on: bound once, then closed. */
async function closedPort(): Promise<number> {
  const server = createTcpServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as {port: number}
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Alive and not a zombie (a reparented child may wait for a reaper that never comes in a container). */
function alive(pid: number): boolean {
  const stat = `/proc/${pid}/stat`
  if (!existsSync(stat)) return false
  return !/^\d+ \(.*\) Z/.test(readFileSync(stat, 'utf8'))
}

after(() => {
  for (const server of servers) {
    if ('closeAllConnections' in server) server.closeAllConnections()
    server.close()
  }
})

describe('http checks', () => {
  it('a 200 is healthy, a 500 is not and says why', async () => {
    const port = await http((req, res) => {
      res.statusCode = req.url === '/health' ? 200 : 500
      res.end(req.url === '/health' ? 'OK' : 'database down\nstack…')
    })
    const ok = await probe({kind: 'http', port, path: '/health', timeoutMs: 1000})
    assert.equal(ok.ok, true)
    assert.match(ok.detail, /^HTTP 200 in \d+ ms$/)
    const bad = await probe({kind: 'http', port, path: '/broken', timeoutMs: 1000})
    assert.equal(bad.ok, false)
    assert.match(bad.detail, /^HTTP 500 in \d+ ms: database down$/)
    assert.ok(bad.at >= ok.at && bad.durationMs >= 0)
  })

  it('connection refused is unhealthy', async () => {
    const result = await probe({kind: 'http', port: await closedPort(), path: '/health', timeoutMs: 1000})
    assert.equal(result.ok, false)
    assert.match(result.detail, /connection refused/)
  })

  it('a server that never answers is unhealthy once the timeout passes', async () => {
    const port = await http(() => {})
    const result = await probe({kind: 'http', port, path: '/health', timeoutMs: 200})
    assert.equal(result.ok, false)
    assert.equal(result.detail, 'timed out after 200 ms')
    assert.ok(result.durationMs >= 190 && result.durationMs < 1200, `took ${result.durationMs} ms`)
  })

  it('does not follow redirects, and names where they point', async () => {
    const seen: string[] = []
    const port = await http((req, res) => {
      seen.push(req.url ?? '')
      if (req.url === '/health') res.writeHead(301, {location: '/health/'}).end()
      else res.end('OK')
    })
    const result = await probe({kind: 'http', port, path: '/health', timeoutMs: 1000})
    assert.equal(result.ok, false)
    assert.match(result.detail, /^HTTP 301 .*redirects to \/health\/ \(not followed\)$/)
    assert.deepEqual(seen, ['/health'])
  })

  it('something that is not HTTP is unhealthy', async () => {
    const port = await listen(createTcpServer((socket) => socket.end('SSH-2.0-OpenSSH\r\n')))
    const result = await probe({kind: 'http', port, path: '/health', timeoutMs: 1000})
    assert.equal(result.ok, false)
  })
})

describe('connections', () => {
  const timeWaits = (port: number) => {
    const out = execFileSync('ss', ['-Htan', 'state', 'time-wait', `( sport = :${port} or dport = :${port} )`], {encoding: 'utf8'})
    return out.split('\n').filter(Boolean).length
  }

  it('a one-off http check leaves no TIME_WAIT entry on either side', async () => {
    // It asks the app to close (Connection: close), and answers the app's FIN with a reset: a FIN
    // of ours would leave the entry on the app's side.
    const port = await http((_req, res) => res.end('OK'))
    for (let i = 0; i < 20; i++) assert.equal((await probe({kind: 'http', port, path: '/health', timeoutMs: 1000})).ok, true)
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.equal(timeWaits(port), 0)
  })
})

describe('tcp checks', () => {
  it('an open port is healthy, a closed one is not', async () => {
    const port = await listen(createTcpServer((socket) => socket.end()))
    const open = await probe({kind: 'tcp', port, timeoutMs: 1000})
    assert.equal(open.ok, true, open.detail)
    const closed = await probe({kind: 'tcp', port: await closedPort(), timeoutMs: 1000})
    assert.equal(closed.ok, false)
    assert.match(closed.detail, /connection refused/)
  })
})

describe('exec checks', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'launcho-health-exec-'))
  })
  after(() => rm(dir, {recursive: true, force: true}))

  const node = (script: string, timeoutMs = 5000): ExecCheck => ({kind: 'exec', command: [process.execPath, '-e', script], timeoutMs})

  it('exit 0 is healthy', async () => {
    const result = await probe(node('process.exit(0)'))
    assert.equal(result.ok, true, result.detail)
    assert.equal(result.detail, 'exit 0')
  })

  it('exit 1 is unhealthy, with the end of stderr in the detail', async () => {
    const result = await probe(node('console.log("checking"); console.error("queue depth 9000 > 1000"); process.exit(1)'))
    assert.equal(result.ok, false)
    assert.equal(result.detail, 'exit 1: queue depth 9000 > 1000')
  })

  it('runs the argv itself: no shell unless the argv names one', async () => {
    const marker = join(dir, 'expanded')
    const result = await probe({kind: 'exec', command: ['/bin/echo', `$(touch ${marker})`], timeoutMs: 5000})
    assert.equal(result.ok, true, result.detail)
    assert.equal(existsSync(marker), false)
  })

  it('a hanging command is killed at the timeout, with what it started', async () => {
    const pids = join(dir, 'pids')
    const check: ExecCheck = {kind: 'exec', command: ['/bin/sh', '-c', `sleep 30 & echo $$ $! > ${pids}; wait`], timeoutMs: 300}
    const result = await probe(check)
    assert.equal(result.ok, false)
    assert.equal(result.detail, 'timed out after 300 ms (killed)')
    assert.ok(result.durationMs < 2000, `took ${result.durationMs} ms`)
    const [shell, sleeper] = (await readFile(pids, 'utf8')).trim().split(' ').map(Number)
    for (let i = 0; i < 50 && (alive(shell) || alive(sleeper)); i++) await new Promise((r) => setTimeout(r, 20))
    assert.equal(alive(shell), false, 'the shell is still running')
    assert.equal(alive(sleeper), false, 'the command it started is still running')
  })

  it('a missing command is unhealthy and says so', async () => {
    const result = await probe({kind: 'exec', command: ['/nonexistent/check'], timeoutMs: 1000})
    assert.equal(result.ok, false)
    assert.match(result.detail, /not found/)
  })

  it('runs with the env and cwd given, as the user and group given', {skip: process.getuid?.() !== 0 && 'needs root'}, async () => {
    const script = 'test "$FOO" = bar && test "$(pwd)" = /tmp && test "$(id -u)" = "$(id -u nobody)" && test "$(id -g)" = 0'
    const check: ExecCheck = {kind: 'exec', command: ['/bin/sh', '-c', script], timeoutMs: 5000, env: {FOO: 'bar'}, cwd: '/tmp'}
    assert.equal((await probe({...check, user: 'nobody', group: 'root'})).ok, true)
    assert.equal((await probe({...check, user: 'nobody', group: 'nogroup'})).ok, false)
    const unknown = await probe({...check, user: 'no-such-user-here'})
    assert.equal(unknown.ok, false)
    assert.match(unknown.detail, /unknown user/)
  })
})

describe('a probe whose prober was busy past the timeout', () => {
  it('counts the answer that arrived meanwhile, not a timeout', async () => {
    // The app is another process, so it answers while this one is blocked.
    const {spawn} = await import('node:child_process')
    const app = spawn(process.execPath, ['-e', "require('http').createServer((q, s) => setTimeout(() => s.end('ok'), 30)).listen(0, '127.0.0.1', function () { console.log(this.address().port) })"], {stdio: ['ignore', 'pipe', 'inherit']})
    try {
      const port = Number(await new Promise<string>((resolve) => app.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()))))
      const check = {kind: 'http' as const, port, path: '/', timeoutMs: 150}
      assert.equal((await probe(check)).ok, true, 'answers when nothing is busy')
      const result = probe(check)
      // Let the request go out, then block past the timeout; the answer (30 ms later) lands meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 10))
      // Blocked outside the timers phase (libuv then sees the expired timeout first on the next turn).
      await new Promise((resolve) => setImmediate(resolve))
      const until = Date.now() + 400
      while (Date.now() < until) {
        // busy: launcho's event loop blocked (a loaded machine, a long GC)
      }
      const outcome = await result
      assert.equal(outcome.ok, true, `the answer came within the timeout: ${outcome.detail}`)
    } finally {
      app.kill()
    }
  })
})
