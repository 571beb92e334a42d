/** Load and requests from inside the sandbox network, for the service (load-balancer) tests. */
import {execFile, spawn} from 'node:child_process'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {repoRoot, type Harness} from './harness.js'

const run = promisify(execFile)
export const webApp = join(repoRoot, 'test', 'fixtures', 'web-app.cjs')
const loadScript = join(repoRoot, 'test', 'fixtures', 'load.cjs')

export interface LoadSummary {
  ok: number
  failed: number
  errors: Record<string, number>
  /** responses per first word of the body (the app's version) */
  bodies: Record<string, number>
  /** The first failures (at most 200) with their time and their request's start, epoch ms. */
  firsts: {at: number; startedAt: number; code: string}[]
}

export interface RunningLoad {
  progress(): {ok: number; failed: number}
  stop(): Promise<LoadSummary>
}

/** Starts a bounded load (new connection per request) against a URL inside the sandbox network. */
export function startLoad(h: Harness, url: string, connections = 6, maxSeconds = 240): RunningLoad {
  const [nsenter, ...prefix] = h.sandbox.inNetwork()
  const child = spawn(nsenter!, [...prefix, process.execPath, loadScript, url, String(connections), '1000000', String(maxSeconds)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let latest = {ok: 0, failed: 0}
  child.stdout.on('data', (chunk) => (out += chunk))
  child.stderr.on('data', (chunk: Buffer) => {
    const line = chunk.toString().trim().split('\n').at(-1)!
    const [ok, failed] = line.split(' ').map(Number)
    if (Number.isFinite(ok) && Number.isFinite(failed)) latest = {ok: ok!, failed: failed!}
  })
  const done = new Promise<LoadSummary>((resolve, reject) =>
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as LoadSummary) : reject(new Error(`load exited ${code}`)))),
  )
  return {
    progress: () => latest,
    async stop() {
      child.kill('SIGTERM')
      return done
    },
  }
}

/** One GET from inside the sandbox network; the body, or the error's code. */
export async function get(h: Harness, url: string): Promise<string> {
  const script = `fetch(process.argv[1], {signal: AbortSignal.timeout(3000)}).then(async (r) => process.stdout.write(r.status + ' ' + await r.text()), (e) => process.stdout.write('error ' + (e.cause?.code ?? e.name)))`
  const [nsenter, ...prefix] = h.sandbox.inNetwork()
  const {stdout} = await run(nsenter!, [...prefix, process.execPath, '-e', script, url])
  return stdout
}

/**
 * One GET from inside the sandbox network on a new connection from `localPort` (fetch cannot
 * choose its source port): the status and body, or `error <code>`.
 */
export async function getFrom(h: Harness, url: string, localPort: number): Promise<string> {
  const script = `const u = new URL(process.argv[1]); const r = require('http').get({host: u.hostname, port: u.port, path: u.pathname, agent: false, localPort: Number(process.argv[2]), timeout: 3000}, (res) => { let b = ''; res.on('data', (c) => (b += c)); res.on('end', () => process.stdout.write(res.statusCode + ' ' + b)) }); r.on('timeout', () => r.destroy(Object.assign(new Error('timeout'), {code: 'TIMEOUT'}))); r.on('error', (e) => process.stdout.write('error ' + (e.code ?? e.message)))`
  const [nsenter, ...prefix] = h.sandbox.inNetwork()
  const {stdout} = await run(nsenter!, [...prefix, process.execPath, '-e', script, url, String(localPort)])
  return stdout
}
